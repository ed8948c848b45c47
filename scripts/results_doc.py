"""Keep docs/RESULTS.md up to date: each benchmark owns one marked section and rewrites only it."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "RESULTS.md"


def update_section(key: str, title: str, markdown: str, command: str, doc: Path = DOC) -> None:
    """Replace (or append) the section between <!-- key:start --> and <!-- key:end -->."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    text = doc.read_text() if doc.exists() else "# Results\n"
    block = f"{start}\n{markdown}\n\nCommand: `{command}`\n{end}"
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + f"\n\n## {title}\n\n" + block + "\n"
    doc.write_text(text)
