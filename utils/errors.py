"""Exception types with one-line, actionable messages.

Every message names the file (and line or sample) or the config key, and what was expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DataError(ValueError):
    """Bad input data: a raw recording, a tensor file, a label file or a score file."""


class ConfigError(ValueError):
    """Bad configuration: unknown key, wrong type, impossible combination."""


class TrainingError(RuntimeError):
    """Training cannot continue (the loss became NaN, a checkpoint cannot be written)."""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to ``word`` (for "did you mean ...?" hints), or None."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_key_message(key: str, valid: Iterable[str], where: str) -> str:
    """Format ``"<where>: unknown key 'lr'; did you mean 'base_lr'?"``."""
    valid = sorted(valid)
    hint = closest(key, valid)
    suggestion = f"; did you mean '{hint}'?" if hint else f"; valid keys: {', '.join(valid)}"
    return f"{where}: unknown key '{key}'{suggestion}"
