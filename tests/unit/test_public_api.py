"""The public surface: exported names, enums against the Solidity source, errors against the ABI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import gpuhub
from gpuhub import ListingStatus, PriceUnit, Role, exceptions
from gpuhub._artifact import error_abi, load_artifact
from gpuhub.exceptions import contract_error_classes

SOURCE = (Path(__file__).resolve().parents[2] / "contracts" / "GPUHub.sol").read_text()


def test_exported_names() -> None:
    """gpuhub exports exactly its sorted __all__, and every name resolves."""
    assert gpuhub.__all__ == sorted(gpuhub.__all__)
    for name in gpuhub.__all__:
        assert getattr(gpuhub, name) is not None


def solidity_enum(name: str) -> list[str]:
    match = re.search(rf"enum {name} \{{([^}}]*)\}}", SOURCE)
    assert match, f"enum {name} not in GPUHub.sol"
    return [m.strip() for m in match.group(1).split(",") if m.strip()]


def test_price_unit_matches_solidity() -> None:
    """PriceUnit lists the Solidity enum's members in declaration order."""
    assert [m.name for m in PriceUnit] == solidity_enum("PriceUnit")
    assert [m.value for m in PriceUnit] == list(range(len(PriceUnit)))


def test_listing_status_matches_solidity() -> None:
    """ListingStatus lists the Solidity enum's members in declaration order."""
    assert [m.name for m in ListingStatus] == solidity_enum("ListingStatus")
    assert [m.value for m in ListingStatus] == list(range(len(ListingStatus)))


def test_role_matches_solidity() -> None:
    """Role lists the Solidity enum's members in declaration order."""
    assert [m.name for m in Role] == solidity_enum("Role")
    assert [m.value for m in Role] == list(range(len(Role)))


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_exception_classes_match_abi_errors() -> None:
    """One Python class per custom error in the shipped ABIs, with the same name and fields."""
    abi_errors = {e["name"]: tuple(snake(i["name"]) for i in e["inputs"]) for e in error_abi()}
    classes = {name: cls.fields for name, cls in contract_error_classes().items()}
    assert classes == abi_errors


def test_every_error_is_exported() -> None:
    """Every exception class gpuhub defines is in gpuhub.exceptions.__all__ and in gpuhub."""
    defined = {
        name
        for name, obj in vars(exceptions).items()
        if isinstance(obj, type) and issubclass(obj, exceptions.GPUHubError)
    }
    assert set(contract_error_classes()) < defined
    assert sorted(defined) == exceptions.__all__
    for name in defined:
        assert getattr(gpuhub, name) is getattr(exceptions, name)


def test_every_event_class_is_exported() -> None:
    """Every typed event class is in gpuhub.events.__all__ and extends gpuhub.ContractEvent."""
    from gpuhub import events

    for name, cls in events.event_classes().items():
        assert name in events.__all__
        assert issubclass(cls, gpuhub.ContractEvent)


def test_artifact_records_its_build() -> None:
    """The packaged artifact names its compiler, settings and source hashes."""
    artifact = load_artifact()
    assert artifact["compiler"]["version"].startswith("0.8.28+")
    assert artifact["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    assert set(artifact["sources"]) == {"GPUHub.sol"}
    assert len(artifact["bytecode"]) > 1000


def test_import_is_cheap() -> None:
    """import gpuhub loads neither web3 nor eth-tester."""
    heavy = "('web3', 'eth_tester', 'eth_abi')"
    code = f"import sys, gpuhub; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_async_client_is_exported_lazily() -> None:
    """gpuhub.AsyncGPUHubClient is the class in gpuhub.aio, loaded on first use."""
    from gpuhub import aio

    assert gpuhub.AsyncGPUHubClient is aio.AsyncGPUHubClient
    assert gpuhub.AsyncPendingTransaction is aio.AsyncPendingTransaction


def test_search_names_are_exported() -> None:
    """The query language and the index are public: Query, SearchResult, QueryError, MarketIndex."""
    from gpuhub.index import MarketIndex
    from gpuhub.search import Query, SearchResult

    assert (gpuhub.Query, gpuhub.SearchResult, gpuhub.MarketIndex) == (
        Query,
        SearchResult,
        MarketIndex,
    )
    assert issubclass(gpuhub.QueryError, gpuhub.ValidationError)


def test_query_language_is_cheap() -> None:
    """gpuhub.search parses queries without loading web3 or SQLAlchemy."""
    heavy = "('web3', 'eth_tester', 'sqlalchemy')"
    code = (
        "import sys, gpuhub.search; gpuhub.search.Query.parse('model~4090');"
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_marketplace_version_matches_solidity() -> None:
    """The version the client expects is the one the shipped contract declares."""
    from gpuhub._artifact import MARKETPLACE_VERSION

    match = re.search(r"MARKETPLACE_VERSION = (\d+);", SOURCE)
    assert match and int(match.group(1)) == MARKETPLACE_VERSION


def test_governance_names_are_exported() -> None:
    """The governance surface is public: Governance, Action, Proposal and their enums."""
    from gpuhub import governance

    for name in ("Action", "Governance", "GovernanceSettings", "Proposal"):
        assert name in gpuhub.__all__
        assert getattr(gpuhub, name) is getattr(governance, name)
    assert gpuhub.ProposalState is governance.ProposalState
    assert gpuhub.VoteSupport is governance.VoteSupport


def openzeppelin_enum(path: str, name: str) -> list[str]:
    source = Path(__file__).resolve().parents[2] / "contracts/node_modules/@openzeppelin/contracts"
    if not (source / path).is_file():
        pytest.skip("OpenZeppelin is not installed: run `npm ci` in contracts/")
    match = re.search(rf"enum {name} \{{([^}}]*)\}}", (source / path).read_text())
    assert match, f"enum {name} not in {path}"
    return [re.sub(r"//.*", "", m).strip().upper() for m in match.group(1).split(",") if m.strip()]


def test_proposal_state_matches_openzeppelin() -> None:
    """ProposalState lists IGovernor.ProposalState's members in declaration order."""
    names = openzeppelin_enum("governance/IGovernor.sol", "ProposalState")
    assert [m.name for m in gpuhub.ProposalState] == names
    assert [m.value for m in gpuhub.ProposalState] == list(range(len(names)))


def test_vote_support_matches_openzeppelin() -> None:
    """VoteSupport lists GovernorCountingSimple.VoteType's members in declaration order."""
    names = openzeppelin_enum("governance/extensions/GovernorCountingSimple.sol", "VoteType")
    assert [m.name for m in gpuhub.VoteSupport] == names


def test_import_leaves_pandas_and_matplotlib_for_later() -> None:
    """import gpuhub (to_dataframe included) loads neither pandas nor matplotlib."""
    heavy = "('pandas', 'matplotlib')"
    code = (
        "import sys, gpuhub; gpuhub.to_dataframe;"
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_statistics_routes_load_no_web3() -> None:
    """The analytics and the API's statistics routes load neither web3 nor eth-tester."""
    heavy = "('web3', 'eth_tester')"
    code = (
        "import sys, gpuhub.analytics, gpuhub.api.routers.stats;"
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
