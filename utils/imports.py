"""Resolve the dotted class paths that configs use (``model.agcn.Model``, ``graph.ntu_rgb_d.Graph``).

Only modules inside the project's own packages can be named, so a config file cannot make the
pipeline import arbitrary code.
"""

from __future__ import annotations

import importlib
from typing import Any

from utils.errors import ConfigError, closest

PROJECT_PACKAGES = ("model", "feeders", "graph", "data_gen", "engine", "utils")


def import_class(path: str, key: str = "class path", packages: tuple[str, ...] = PROJECT_PACKAGES) -> Any:
    """Import ``package.module.Name``; ``package`` must be one of the project's packages.

    ``key`` names the config key in error messages (e.g. ``model`` or ``model_args.graph``).
    """
    if not isinstance(path, str) or "." not in path:
        raise ConfigError(f"{key}: expected a dotted path such as 'model.agcn.Model', got {path!r}")
    module_name, _, attr = path.rpartition(".")
    if module_name.split(".")[0] not in packages:
        raise ConfigError(
            f"{key}: '{path}' is outside the project; class paths must start with one of {', '.join(packages)}"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"{key}: cannot import module '{module_name}' ({exc})") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        public = [n for n in dir(module) if not n.startswith("_")]
        hint = closest(attr, public)
        suggestion = f"; did you mean '{module_name}.{hint}'?" if hint else ""
        raise ConfigError(f"{key}: module '{module_name}' has no '{attr}'{suggestion}") from None
