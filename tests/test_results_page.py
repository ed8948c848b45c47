"""docs/RESULTS.md and the scripts that write it: every section a script owns is marked in the page, and a
rerun replaces that section only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
PAGE = ROOT / "docs" / "RESULTS.md"


@pytest.fixture()
def results(monkeypatch):
    """scripts/benchkit/results.py, imported as the scripts import it (scripts/ first on the path)."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    from benchkit import results

    return results


def section_keys() -> set[str]:
    keys = set()
    for script in SCRIPTS.glob("*.py"):
        keys |= set(re.findall(r'update_section\(\s*"(\w+)"', script.read_text(encoding="utf-8")))
    return keys


def test_every_section_a_script_writes_is_marked_once_in_the_page():
    page = PAGE.read_text(encoding="utf-8")
    keys = section_keys()
    assert keys == set(re.findall(r"^<!-- (\w+):start -->$", page, re.M))  # no section without its script
    for key in keys:
        start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
        assert page.count(start) == page.count(end) == 1, key
        assert page.index(start) < page.index(end), key


def test_scripts_do_not_import_each_other_or_edit_the_path():
    names = {p.stem for p in SCRIPTS.glob("*.py")}
    for script in SCRIPTS.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        assert "sys.path" not in text, script.name
        imported = set(re.findall(r"^(?:from|import) (\w+)", text, re.M))
        assert not imported & names, (script.name, imported & names)


def test_update_section_replaces_only_its_own_section(results, tmp_path):
    doc = tmp_path / "RESULTS.md"
    doc.write_text("# Results\n\nintro\n\n## A\n\n<!-- a:start -->\nold\n<!-- a:end -->\n\nnotes on A\n")
    results.update_section("a", "A", "| new |", "python scripts/a.py", doc=doc)
    results.update_section("b", "B", "| b |", "python scripts/b.py", doc=doc)
    text = doc.read_text()
    assert "old" not in text and "intro" in text and "notes on A" in text
    assert "<!-- a:start -->\n| new |\n\nCommand: `python scripts/a.py`\n<!-- a:end -->" in text
    assert text.endswith("## B\n\n<!-- b:start -->\n| b |\n\nCommand: `python scripts/b.py`\n<!-- b:end -->\n")


def test_record_run_keeps_one_run_per_machine_and_key(results, tmp_path):
    path = tmp_path / "runs.json"
    results.record_run(path, {"machine": {"label": "m1"}, "model": "a", "x": 1}, key="model")
    results.record_run(path, {"machine": {"label": "m1"}, "model": "b", "x": 2}, key="model")
    runs = results.record_run(path, {"machine": {"label": "m1"}, "model": "a", "x": 3}, key="model")
    assert [(r["model"], r["x"]) for r in runs] == [("b", 2), ("a", 3)]


def test_command_line_is_typed_from_the_repository_root_and_quoted(results, monkeypatch):
    monkeypatch.setattr("sys.argv", [str(SCRIPTS / "probe_nlu.py"), "--label", "bundled VAE μ (64-d; tuned)"])
    assert results.command_line() == "python scripts/probe_nlu.py --label 'bundled VAE μ (64-d; tuned)'"
