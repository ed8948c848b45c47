"""One small registry type used for every pluggable component (no if/elif chains)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from textvae.errors import ConfigError

T = TypeVar("T")


def closest(name: str, choices: list[str]) -> str:
    """A ' (did you mean X?)' hint for a mistyped name, or ''."""
    match = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


class Registry(Generic[T]):
    """Maps names to factories; `get` fails with a clear message listing the valid names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = item
            return item

        return add

    def get(self, name: str) -> T:
        if name not in self._items:
            names = sorted(self._items)
            raise ConfigError(
                f"unknown {self.kind} '{name}'{closest(str(name), names)}; choose one of: {', '.join(names)}"
            )
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))
