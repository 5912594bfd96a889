"""The rich consoles every command prints through.

Messages name files, JSON paths and line numbers; rich's default word wrapping would break a long
path across lines at the terminal width, so both consoles soft-wrap (the terminal folds long lines,
the text itself is never cut). Tables still lay themselves out to the terminal width.
"""

from __future__ import annotations

from rich.console import Console


def out_console() -> Console:
    """Standard output: tables, transcripts and results."""
    return Console(soft_wrap=True)


def err_console() -> Console:
    """Standard error: errors, warnings and progress."""
    return Console(stderr=True, soft_wrap=True)
