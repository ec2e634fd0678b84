"""What every ``ledger`` command prints through: the consoles, errors with their step,
expected and found values, and strict JSON files read from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ledger.canonical import parse_json
from ledger.errors import LedgerError, VerificationError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(exc: LedgerError, code: int = 1) -> None:
    err.print(f"[bold red]error[/] ({exc.code}): {exc.message}")
    if isinstance(exc, VerificationError):
        err.print(f"  step:     {exc.step}")
        if exc.expected is not None:
            err.print(f"  expected: {exc.expected}")
        if exc.found is not None:
            err.print(f"  found:    {exc.found}")
    raise typer.Exit(code)


def read_json(path: Path) -> Any:
    try:
        return parse_json(path.read_bytes())
    except FileNotFoundError:
        err.print(f"[bold red]error[/]: no file {path}")
        raise typer.Exit(2) from None
    except LedgerError as exc:
        err.print(f"[bold red]error[/] ({exc.code}): {path} is not strict JSON: {exc.message}")
        raise typer.Exit(2) from None
