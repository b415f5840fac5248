"""Exceptions with messages that say what was wrong and how to fix it."""

from __future__ import annotations

import os
import re


class VireidError(Exception):
    """Base class of every error the library raises on purpose."""


class DataError(VireidError, ValueError):
    """A dataset on disk is missing, incomplete or malformed (the message names the file)."""


class ConfigError(VireidError, ValueError):
    """A configuration value or profile is invalid."""


class CheckpointError(VireidError, RuntimeError):
    """A checkpoint is corrupt or belongs to a different configuration."""


class StorageError(VireidError, OSError):
    """A file or folder cannot be written: no space left, a read-only or forbidden folder (the message names it, says
    how much space was needed and what to do). An :class:`OSError`, so ``except OSError`` still catches it."""


def load_failure(path: str | os.PathLike, exc: BaseException) -> str:
    """Why ``torch.load(path, weights_only=True)`` failed, in words: an empty file, a pickle that would run code,
    a file that is not (or no longer) a complete torch file."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = None
    text = str(exc)
    first = (text.strip().splitlines() or [""])[0][:200]
    if size == 0:
        return "the file is empty (0 bytes): a save was interrupted or the file was truncated"
    called = re.search(r"GLOBAL ([\w.]+)", text)
    if "Weights only load failed" in text and called:
        return (f"it holds a pickle that would run code when loaded (it calls {called.group(1)}): refused, since "
                f"vireid loads weights without running code from the file. Do not load it with weights_only=False "
                f"unless you know who made it")
    if "Weights only load failed" in text:
        return "it is not a file torch.save wrote (a pickle of something else, or damaged)"
    if isinstance(exc, EOFError) or "central directory" in text or "PytorchStreamReader" in text:
        return f"it is not a complete torch file: truncated or damaged ({type(exc).__name__}: {first or 'no detail'})"
    return f"{type(exc).__name__}: {first or 'no detail'}"
