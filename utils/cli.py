"""How every command-line entry point ends: one ``error:`` line and exit code 2, never a traceback.

``run_cli(main_function)`` calls it and turns the project's errors (bad config, bad data, a training
that cannot go on) and operating-system errors (an unwritable folder, a full disk) into one line on
stderr naming the file or key. ``SKELETON_DEBUG=1`` in the environment re-raises instead, for a
traceback.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable

from utils.errors import ConfigError, DataError, TrainingError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def os_error_message(exc: OSError, what: str = "") -> str:
    """One line for an OSError: the file, what failed and why (``ENOSPC`` gets a hint)."""
    path = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = ""
    if exc.errno == errno.ENOSPC:
        hint = "; free some space or write elsewhere (the files already written are intact)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "; choose a folder you can write to"
    where = f"{path}: " if path else ""
    return f"{what + ': ' if what else ''}{where}{reason}{hint}"


def run_cli(main: Callable[[], int | None], interrupted_message: str = "interrupted") -> int:
    """Run ``main()``; return its exit code, or 2 with one ``error:`` line for expected failures."""
    debug = os.environ.get("SKELETON_DEBUG", "") not in ("", "0")
    try:
        code = main()
        return 0 if code is None else int(code)
    except (ConfigError, DataError, TrainingError) as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        if debug:
            raise
        print(f"error: {os_error_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(interrupted_message, file=sys.stderr)
        return EXIT_INTERRUPTED


def one_line_warnings() -> None:
    """Show warnings as one ``warning: <message>`` line on stderr (no category, file or source line)."""
    import warnings

    def format_warning(message, category, filename, lineno, line=None):
        return f"warning: {message}\n"

    warnings.formatwarning = format_warning
