"""The typer app every command module registers on, and the one way errors end a command.

Whatever goes wrong ends in one line on stderr that says what to do, and an exit code from
:data:`EXIT_CODES` (docs/cli.md lists them); never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, NoReturn

from ..exceptions import (
    ConfigError,
    ConnectionFailed,
    ContractError,
    GPUHubError,
    MissingDependency,
    TransactionReverted,
    ValidationError,
)
from ._errors import NOT_FOUND, describe

try:
    import typer
    from typer.core import TyperGroup
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise MissingDependency(
        'the gpuhub command needs the cli extra: pip install "gpuhub-eth[cli]" '
        '(from a checkout: pip install -e ".[cli]")'
    ) from err

# The click that typer runs on (its own copy since typer 0.2x, else the click package): its
# exception classes are the ones a command line fails with.
click = sys.modules[typer.BadParameter.__module__]

#: done.
EXIT_OK = 0
#: failed for another reason (a transaction without a decodable error, a wrong password, ...).
EXIT_ERROR = 1
#: the command line is wrong: an unknown option, a bad amount, a missing account or address.
EXIT_USAGE = 2
#: what was asked for does not exist: a listing, a rental, a proposal, an account, a marketplace,
#: a GPU.
EXIT_NOT_FOUND = 3
#: the contract refused the transaction (its error is named).
EXIT_REFUSED = 4
#: the node cannot be reached.
EXIT_UNREACHABLE = 5
#: an optional part of gpuhub is not installed (the message names the extra).
EXIT_MISSING_EXTRA = 6
#: a bug in gpuhub; please report it (GPUHUB_DEBUG=1 shows the traceback).
EXIT_BUG = 70
#: stopped with Ctrl-C.
EXIT_INTERRUPTED = 130

#: every exit code a command can end with, and what it means.
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_ERROR: "failed (the message says why)",
    EXIT_USAGE: "usage: a wrong option, argument or setting",
    EXIT_NOT_FOUND: "not found: no such listing, rental, proposal, account, marketplace or GPU",
    EXIT_REFUSED: "refused by the contract",
    EXIT_UNREACHABLE: "the node cannot be reached",
    EXIT_MISSING_EXTRA: "an optional extra is not installed",
    EXIT_BUG: "a bug in gpuhub (GPUHUB_DEBUG=1 shows the traceback)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


class _Group(TyperGroup):
    """The root group: runs the command and turns every failure into one line and an exit code.

    Overriding ``main`` (rather than wrapping ``app()``) means typer's CliRunner sees the same
    exit codes and messages as a real process.
    """

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except BaseException as err:
            fail(err)
        sys.exit(result if isinstance(result, int) else EXIT_OK)


def fail(err: BaseException) -> NoReturn:
    """Print ``err`` as one line on stderr and exit with its code (SystemExit passes through)."""
    if isinstance(err, SystemExit):
        raise err
    if isinstance(err, click.UsageError):
        where = err.ctx.command_path if err.ctx is not None else "gpuhub"
        say(f"{err.format_message()} (see {where} --help)")
        sys.exit(EXIT_USAGE)
    if isinstance(err, typer.Abort):
        cause = err.__cause__
        if isinstance(cause, EOFError):
            say("no input: a prompt needs a terminal, or the answer on stdin")
            sys.exit(EXIT_USAGE)
        say("aborted")
        sys.exit(EXIT_INTERRUPTED if isinstance(cause, KeyboardInterrupt) else EXIT_ERROR)
    if isinstance(err, click.ClickException):
        say(err.format_message())
        sys.exit(err.exit_code)
    if isinstance(err, KeyboardInterrupt):
        say("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    if isinstance(err, GPUHubError):
        say(describe(err))
        sys.exit(exit_code(err))
    if isinstance(err, OSError):
        where = f" ({err.filename})" if err.filename else ""
        say(f"{err.strerror or err}{where}")
        sys.exit(EXIT_ERROR)
    if os.environ.get("GPUHUB_DEBUG"):
        raise err
    say(
        f"internal error ({type(err).__name__}); this is a bug in gpuhub, please report it with "
        "the command you ran (GPUHUB_DEBUG=1 shows the traceback)"
    )
    sys.exit(EXIT_BUG)


def exit_code(err: GPUHubError) -> int:
    """The documented exit code for ``err``."""
    if isinstance(err, MissingDependency):
        return EXIT_MISSING_EXTRA
    if isinstance(err, NOT_FOUND):
        return EXIT_NOT_FOUND
    if isinstance(err, ContractError | TransactionReverted):
        return EXIT_REFUSED
    if isinstance(err, ConnectionFailed):
        return EXIT_UNREACHABLE
    if isinstance(err, ValidationError | ConfigError):
        return EXIT_USAGE
    return EXIT_ERROR


def say(message: str) -> None:
    """One line on stderr: ``error: message`` (never read as markup, never wrapped)."""
    line = " ".join(str(message).split())
    print(f"error: {line}", file=sys.stderr, flush=True)


app = typer.Typer(
    name="gpuhub",
    cls=_Group,
    help="Share and rent GPUs on Ethereum.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain click help: rich panels cut long option names to fit narrow terminals.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def group(name: str, help_text: str) -> typer.Typer:
    """A sub-command group (``gpuhub NAME ...``) registered on the app."""
    sub = typer.Typer(name=name, help=help_text, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(sub, name=name)
    return sub


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
    """Share and rent GPUs on Ethereum.

    Settings come from a flag, then the environment (GPUHUB_RPC_URL, GPUHUB_CONTRACT,
    GPUHUB_ACCOUNT, ...), then the active profile of ~/.config/gpuhub/config.toml, then the
    defaults; `gpuhub config show` prints each and where it came from.
    """


def warn(message: str) -> None:
    """One line on stderr, as is (never read as markup)."""
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="gpuhub")
