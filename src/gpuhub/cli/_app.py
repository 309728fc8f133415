"""The typer app every command module registers on, and the one way errors are printed."""

from __future__ import annotations

import sys
from typing import Annotated

from ..exceptions import GPUHubError, MissingDependency

try:
    import typer
    from rich.console import Console
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise MissingDependency(
        'the gpuhub command needs the cli extra: pip install "gpuhub[cli]"'
    ) from err

app = typer.Typer(
    name="gpuhub",
    help="Share and rent GPUs on Ethereum.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich panels cut long option names to fit narrow terminals.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"gpuhub {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Share and rent GPUs on Ethereum."""


def err_console() -> Console:
    """Console for messages to stderr."""
    return Console(stderr=True)


def warn(message: str) -> None:
    """One yellow line on stderr; the text is printed as is, never read as markup."""
    err_console().print(message, style="yellow", markup=False, highlight=False)


def main() -> None:
    """Console-script entry point: typed errors become one red line and exit code 1."""
    try:
        app()
    except GPUHubError as err:
        console = err_console()
        console.print("error:", style="red", end=" ")
        # Messages hold square brackets ("gpuhub[api]", lists): never read them as markup.
        console.print(str(err), markup=False, highlight=False)
        sys.exit(1)
