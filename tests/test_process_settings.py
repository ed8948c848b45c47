"""Process-wide settings come from the command line only: --native-kernels and --keep-freed-memory are options
(their environment variables only set defaults), and no library module changes the process."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from textvae.cli import env as env_command
from textvae.cli.common import apply_keep_freed_memory
from textvae.cli.main import build_parser, main
from textvae.fastcpu import native_kernels_enabled, process

LIBRARY = Path(__file__).resolve().parents[1] / "textvae"


@pytest.mark.parametrize("flag, expected", [([], True), (["--no-native-kernels"], False), (["--native-kernels"], True)])
def test_every_command_takes_the_native_kernels_switch(monkeypatch, flag, expected):
    monkeypatch.delenv("TEXTVAE_NATIVE", raising=False)
    seen = []
    monkeypatch.setattr(env_command, "run", lambda args: seen.append(native_kernels_enabled()) or 0)
    assert main(["env", *flag]) == 0
    assert seen == [expected] and native_kernels_enabled()  # the setting ends with the command
    assert build_parser().parse_args(["sample", "--no-native-kernels"]).native_kernels is False


def test_the_environment_sets_the_switchs_default_and_the_option_wins(monkeypatch):
    monkeypatch.setenv("TEXTVAE_NATIVE", "0")
    seen = []
    monkeypatch.setattr(env_command, "run", lambda args: seen.append(native_kernels_enabled()) or 0)
    main(["env"])
    main(["env", "--native-kernels"])
    assert seen == [False, True]


@pytest.mark.parametrize("option, variable, applied", [(None, None, True), (False, None, False), (None, "0", False),
                                                      (True, "0", True)])
def test_keep_freed_memory_follows_its_option_then_its_environment_variable(monkeypatch, option, variable, applied):
    calls = []
    monkeypatch.setattr(process, "keep_freed_memory", lambda: calls.append(True) or True)
    if variable is None:
        monkeypatch.delenv("TEXTVAE_KEEP_FREED_MEMORY", raising=False)
    else:
        monkeypatch.setenv("TEXTVAE_KEEP_FREED_MEMORY", variable)
    apply_keep_freed_memory(build_parser().parse_args(
        ["train", "--output", "x", *({True: ["--keep-freed-memory"], False: ["--no-keep-freed-memory"]}.get(option, []))]))
    assert calls == ([True] if applied else [])


def test_ninja_of_an_environment_that_is_not_activated_is_found(monkeypatch, tmp_path):
    pytest.importorskip("ninja")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("ninja") is None
    process.put_ninja_on_path()
    assert shutil.which("ninja") is not None


def test_library_code_leaves_process_wide_settings_to_the_command_line():
    # process.py holds the settings, for entry points; machine.matmul_tflops sets threads only when asked, and restores them
    allowed = {LIBRARY / "fastcpu" / "process.py", LIBRARY / "fastcpu" / "machine.py"}
    changes = re.compile(r"^\s*(os\.environ\[[^]]*\]\s*=|os\.environ\.(setdefault|update|pop)\(|os\.putenv\(|"
                         r"[\w.]*(set_num_threads|set_num_interop_threads|mallopt)\(|from textvae\.fastcpu(\.process| "
                         r"import process))", re.MULTILINE)
    offenders = [str(path.relative_to(LIBRARY)) for path in LIBRARY.rglob("*.py")
                 if path not in allowed and "cli" not in path.relative_to(LIBRARY).parts[:1]
                 and changes.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
