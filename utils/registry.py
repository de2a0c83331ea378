"""Registries: the only way a config file or a data file names code.

A config's ``model:``, ``feeder:``, ``model_args.graph``, ``optimizer:`` and a data folder's
``preprocess.json`` ``reader`` are looked up in a table of components that registered themselves
for that role, next to their definitions::

    @MODELS.register("agcn", aliases=("model.agcn.Model",))
    class Model(nn.Module): ...

A name that is not registered is refused before anything is imported or called, with the list of
registered names; no string from a file is ever passed to ``importlib``. The modules that fill a
registry are fixed here in code (``Registry(..., package=...)`` imports that package once, whose
``__init__`` imports its members), so lookups never depend on what a file says.

The old 2s-AGCN dotted paths (``model.agcn.Model``, ``feeders.feeder.Feeder``,
``graph.ntu_rgb_d.Graph``) are registered aliases, so 2s-AGCN's configs keep working.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from utils.errors import ConfigError, closest

T = TypeVar("T")


class Registry:
    """Names of one kind of component (models, feeders, graphs, readers, optimizers).

    Args:
        kind: what the entries are, for messages ("model", "feeder", ...).
        package: the project package whose import registers every entry (fixed in code).
    """

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind = kind
        self._package = package
        self._entries: dict[str, Any] = {}  # canonical name -> object
        self._aliases: dict[str, str] = {}  # alias -> canonical name
        self._loaded = package is None

    # --- registration --------------------------------------------------------------------------
    def register(self, name: str, *, aliases: Iterable[str] = ()) -> Callable[[T], T]:
        """Decorator: register a class or function under ``name`` (and ``aliases``)."""

        def deco(obj: T) -> T:
            self.add(name, obj, aliases=aliases)
            return obj

        return deco

    def add(self, name: str, obj: Any, *, aliases: Iterable[str] = ()) -> None:
        for key in (name, *aliases):
            owner = self._entries.get(key)
            if owner is None and key in self._aliases:
                owner = self._entries[self._aliases[key]]
            if owner is not None and owner is not obj:
                raise ValueError(f"{self.kind} registry: '{key}' is already registered")
        self._entries[name] = obj
        for alias in aliases:
            if alias != name:
                self._aliases[alias] = name

    # --- lookup --------------------------------------------------------------------------------
    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True  # set first: the package's modules may look names up while importing
            importlib.import_module(self._package)  # a fixed package name, never one read from a file

    def names(self, with_aliases: bool = False) -> list[str]:
        """Registered canonical names (and aliases), sorted."""
        self._load()
        names = set(self._entries)
        if with_aliases:
            names |= set(self._aliases)
        return sorted(names)

    def __contains__(self, name: object) -> bool:
        self._load()
        return isinstance(name, str) and (name in self._entries or name in self._aliases)

    def canonical(self, name: str) -> str:
        """The canonical name of ``name`` (itself, or what the alias points to); unknown names unchanged."""
        self._load()
        return self._aliases.get(name, name) if isinstance(name, str) else name

    def get(self, name: Any, key: str | None = None) -> Any:
        """The component registered as ``name``; a ConfigError naming ``key`` and the valid names otherwise."""
        self._load()
        where = key or self.kind
        if isinstance(name, str):
            canonical = self._aliases.get(name, name)
            if canonical in self._entries:
                return self._entries[canonical]
        valid = self.names()
        shown = repr(name) if not isinstance(name, str) else f"'{name}'"
        hint = closest(name, self.names(with_aliases=True)) if isinstance(name, str) else None
        suggestion = f"did you mean '{hint}'? " if hint else ""
        raise ConfigError(
            f"{where}: {shown} is not a registered {self.kind}; {suggestion}registered: {', '.join(valid)}"
        )

    def name_of(self, obj: Any) -> str | None:
        """The canonical name under which ``obj`` is registered, or None."""
        self._load()
        for name, entry in self._entries.items():
            if entry is obj:
                return name
        return None


MODELS = Registry("model", package="model")
FEEDERS = Registry("feeder", package="feeders.registered")
GRAPHS = Registry("graph", package="graph")
READERS = Registry("reader", package="data_gen.readers")
OPTIMIZERS = Registry("optimizer", package="engine.optimizers")
