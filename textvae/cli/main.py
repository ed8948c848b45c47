"""`textvae` command line: one thin module per command; errors become one line and exit code 2."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import sys
import warnings
from typing import NoReturn

from textvae.cli.common import add_native_kernels_arg
from textvae.errors import TextVAEError

COMMANDS = ["train", "evaluate", "sample", "reconstruct", "paraphrase", "interpolate", "analogy", "score", "contrast", "respond", "encode", "demo", "image", "env", "export", "serve"]


class Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line ('error: ...', exit code 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings (a truncated text, skipped empty lines) as 'warning: ...', without a source line."""
    return f"warning: {message}\n"


def package_version() -> str:
    """The installed distribution's version, else the source tree's `textvae.__version__`."""
    try:
        return importlib.metadata.version("textvae")
    except importlib.metadata.PackageNotFoundError:
        from textvae import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="textvae", description="Variational autoencoders for text.")
    parser.add_argument("--version", action="version", version=f"textvae {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"textvae.cli.{name}").add_parser(sub)
    for command in sub.choices.values():
        add_native_kernels_arg(command)
    return parser


def _speed_settings(args) -> contextlib.AbstractContextManager:
    """The process's settings for the native kernels: `ninja` findable for their build, and --native-kernels."""
    from textvae.fastcpu import use_native_kernels
    from textvae.fastcpu.process import put_ninja_on_path

    put_ninja_on_path()
    return contextlib.nullcontext() if args.native_kernels is None else use_native_kernels(args.native_kernels)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", FutureWarning)
    warnings.formatwarning = _one_line_warning
    try:
        with _speed_settings(args):
            return args.run(args) or 0
    except TextVAEError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the file system: permissions, a full disk, a file where a folder should be
        print(f"error: {err.strerror}: {err.filename}" if err.filename else f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
