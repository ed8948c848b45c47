"""Keep docs/RESULTS.md up to date: each benchmark owns one marked section and rewrites only it."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from benchkit.paths import DOCS, ROOT
from textvae.io import atomic_write_text

DOC = DOCS / "RESULTS.md"


def command_line() -> str:
    """The command that ran this script, as typed from the repository root, its arguments quoted for a shell."""
    script = Path(sys.argv[0]).resolve()
    if script.is_relative_to(ROOT):
        script = script.relative_to(ROOT)
    return shlex.join(["python", str(script), *sys.argv[1:]])


def update_section(key: str, title: str, markdown: str, command: str, doc: Path = DOC) -> None:
    """Replace (or append) the section between <!-- key:start --> and <!-- key:end -->."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    text = doc.read_text() if doc.exists() else "# Results\n"
    block = f"{start}\n{markdown}\n\nCommand: `{command}`\n{end}"
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + f"\n\n## {title}\n\n" + block + "\n"
    atomic_write_text(doc, text)


def record_run(path: Path, run: dict, key: str | None = None) -> list[dict]:
    """Add `run` to the {"runs": [...]} JSON at `path`, which keeps one run per machine (and per value of
    the field `key`, when given): a run replaces the one with the same `machine` label; returns the runs."""
    def same(other: dict) -> bool:
        return other["machine"]["label"] == run["machine"]["label"] and (key is None or other[key] == run[key])
    old = json.loads(path.read_text())["runs"] if path.exists() else []
    runs = [r for r in old if not same(r)] + [run]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"runs": runs}, indent=2) + "\n")
    return runs
