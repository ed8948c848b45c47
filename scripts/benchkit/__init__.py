"""What the benchmark and study scripts share: paths, the results page, corpora, judges and the PTB rows.

Every script runs as `python scripts/NAME.py`; Python puts the script's own folder, scripts/, first on the
import path, so `import benchkit` works without any path set-up (textvae itself comes from the installed
package: `make setup`).
"""
