"""The provider agent against anvil with script hooks: each rental's hooks run once, across
agent and node restarts; missed endings are caught from the chain's state; expired rentals are
settled; failing and hanging hooks are retried without holding up other rentals."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gpuhub import GPUHubClient, PriceUnit, RentalStatus
from gpuhub.chain import AnvilNode, free_port
from gpuhub.provider import AgentState, parse_nvidia_smi_xml
from gpuhub.provider._agent import AgentConfig, ProviderAgent
from gpuhub.provider._publish import Terms, publish

pytestmark = pytest.mark.anvil

OUTPUTS = Path(__file__).resolve().parents[1] / "data" / "nvidia-smi"
TERMS = Terms(price=60 * 10**12, unit=PriceUnit.MINUTE, min_duration=1, max_duration=600)


class Hooks:
    """Start and stop hook scripts that log each run to a file; the start hook prints details."""

    def __init__(self, folder: Path, start_body: str = "") -> None:
        self.log = folder / "hooks.log"
        self.log.touch()
        self.start = folder / "start.sh"
        self.start.write_text(
            "#!/bin/sh\n"
            f'echo "start $GPUHUB_RENTAL_ID $GPUHUB_ATTEMPT $GPUHUB_GPU_UUID" >> {self.log}\n'
            f"{start_body}"
            'echo "ssh -p 22$GPUHUB_RENTAL_ID root@gpu.example.net"\n'
        )
        self.stop = folder / "stop.sh"
        self.stop.write_text(
            f'#!/bin/sh\necho "stop $GPUHUB_RENTAL_ID $GPUHUB_STOP_REASON" >> {self.log}\n'
        )
        self.start.chmod(0o755)
        self.stop.chmod(0o755)

    def runs(self, kind: str, rental_id: int) -> list[str]:
        return [
            line
            for line in self.log.read_text().splitlines()
            if line.startswith(f"{kind} {rental_id} ")
        ]


class Rig:
    """A marketplace, a provider whose GPUs are published, a renter, and agents on one state."""

    def __init__(self, w3: object, folder: Path, gpus: str = "one-gpu-rtx4090.xml") -> None:
        self.market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])  # type: ignore[attr-defined]
        self.provider = self.market.with_account(self.market.accounts[1])
        self.renter = self.market.with_account(self.market.accounts[2])
        self.folder = folder
        self.hooks = Hooks(folder)
        self.records: list[logging.LogRecord] = []
        state = self.state()
        self.gpus = parse_nvidia_smi_xml((OUTPUTS / gpus).read_text())
        self.listings = [p.listing_id for p in publish(self.provider, state, self.gpus, TERMS)]
        state.close()

    def state(self) -> AgentState:
        assert self.provider.address is not None
        return AgentState(
            self.folder / "agent.db",
            chain_id=self.provider.chain_id,
            marketplace=self.provider.contract_address,
            provider=self.provider.address,
        )

    def agent(self, **config: object) -> ProviderAgent:
        settings: dict[str, object] = {
            "start_hook": str(self.hooks.start),
            "stop_hook": str(self.hooks.stop),
            "poll_interval": 0.05,
            "reconcile_every": 1,
            "retry_base": 0.05,
            "retry_cap": 0.2,
            "hook_timeout": 5.0,
        }
        settings.update(config)
        logger = logging.getLogger(f"gpuhub.provider.test{id(self)}")
        logger.setLevel(logging.INFO)
        logger.addHandler(_Keep(self.records))
        return ProviderAgent(self.provider, self.state(), AgentConfig(**settings), logger=logger)  # type: ignore[arg-type]

    def actions(self) -> list[dict[str, object]]:
        return [json.loads(r.getMessage()) for r in self.records]

    def rent(self, listing: int = 0, minutes: int = 60) -> int:
        rental_id = self.renter.rent(self.listings[listing] or 0, minutes).rental_id
        self.renter.request_access(rental_id, ssh_key=SSH_KEY)
        return rental_id


class _Keep(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"


def until(agent: ProviderAgent, done: Callable[[], bool], seconds: float = 20) -> None:
    """Tick ``agent`` until ``done()``."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        agent.tick()
        time.sleep(0.05)


@pytest.fixture
def rig(anvil_node: AnvilNode, tmp_path: Path) -> Rig:
    return Rig(anvil_node.web3(), tmp_path)


def test_serves_a_rental(rig: Rig) -> None:
    """A requested rental gets its start hook, the renter reads its output; its end, the stop."""
    agent = rig.agent()
    rental_id = rig.rent()
    until(agent, lambda: rig.renter.access(rental_id) is not None)
    assert rig.renter.access(rental_id) == f"ssh -p 22{rental_id} root@gpu.example.net"
    rig.renter.end_rental(rental_id)
    until(agent, lambda: bool(rig.hooks.runs("stop", rental_id)))
    agent.drain()
    assert rig.hooks.runs("start", rental_id) == [f"start {rental_id} 1 {rig.gpus[0].uuid}"]
    assert rig.hooks.runs("stop", rental_id) == [f"stop {rental_id} ended_by_renter"]


def test_once_across_agent_restarts(rig: Rig) -> None:
    """Hooks run once per rental however often the agent restarts in between."""
    agent = rig.agent()
    rental_id = rig.rent()
    until(agent, lambda: rig.renter.access(rental_id) is not None)
    agent.drain()
    agent.state.close()
    for _ in range(2):
        again = rig.agent()
        for _ in range(5):
            again.tick()
        again.drain()
        again.state.close()
    rig.renter.end_rental(rental_id)
    last = rig.agent()
    until(last, lambda: bool(rig.hooks.runs("stop", rental_id)))
    for _ in range(5):
        last.tick()
    last.drain()
    assert len(rig.hooks.runs("start", rental_id)) == 1
    assert len(rig.hooks.runs("stop", rental_id)) == 1


def test_ended_while_agent_down(rig: Rig) -> None:
    """A rental ended while the agent was down gets its stop hook when it comes back."""
    agent = rig.agent()
    rental_id = rig.rent()
    until(agent, lambda: bool(rig.hooks.runs("start", rental_id)))
    agent.drain()
    agent.state.close()
    rig.provider.end_rental(rental_id)
    again = rig.agent()
    until(again, lambda: bool(rig.hooks.runs("stop", rental_id)))
    again.drain()
    assert rig.hooks.runs("stop", rental_id) == [f"stop {rental_id} ended_by_provider"]


def test_missed_end_event_caught_by_reconciliation(rig: Rig) -> None:
    """An ending whose event the agent never read is found in the contract's state."""
    agent = rig.agent(reconcile_every=1)
    rental_id = rig.rent()
    until(agent, lambda: bool(rig.hooks.runs("start", rental_id)))
    agent.drain()
    agent.state.close()
    rig.renter.end_rental(rental_id)
    state = rig.state()
    state.set_last_block(rig.market.block_number())  # as if a node had served no logs for it
    state.close()
    again = rig.agent()
    until(again, lambda: bool(rig.hooks.runs("stop", rental_id)))
    again.drain()
    assert rig.hooks.runs("stop", rental_id) == [f"stop {rental_id} ended_by_renter"]


def test_started_while_agent_down_and_events_missed(rig: Rig) -> None:
    """A rental (and its request) whose events the agent skipped is found and served."""
    rig.agent().state.close()  # the agent has run once: its history starts here
    rental_id = rig.rent()
    state = rig.state()
    state.set_last_block(rig.market.block_number())
    state.close()
    agent = rig.agent()
    until(agent, lambda: rig.renter.access(rental_id) is not None)
    agent.drain()
    assert len(rig.hooks.runs("start", rental_id)) == 1


def test_expired_settled_and_withdrawn(rig: Rig) -> None:
    """A rental past its end gets its stop hook and is settled; the balance is withdrawn."""
    agent = rig.agent(withdraw_above=1)
    rental_id = rig.rent(minutes=2)
    until(agent, lambda: bool(rig.hooks.runs("start", rental_id)))
    rig.market.chain.advance_time(180)
    until(agent, lambda: rig.market.get_rental(rental_id).status == RentalStatus.SETTLED)
    until(agent, lambda: "withdrawn" in [a["action"] for a in rig.actions()])
    agent.drain()
    assert rig.hooks.runs("stop", rental_id) == [f"stop {rental_id} expired"]
    assert rig.provider.balance_of() == 0


def test_failing_hook_retried(rig: Rig) -> None:
    """A start hook that fails twice is retried with backoff and succeeds the third time."""
    tries = rig.folder / "tries"
    rig.hooks = Hooks(
        rig.folder,
        f'echo x >> {tries}\n[ "$(wc -l < {tries})" -ge 3 ] || exit 1\n',
    )
    agent = rig.agent()
    rental_id = rig.rent()
    until(agent, lambda: rig.renter.access(rental_id) is not None)
    agent.drain()
    attempts = [line.split()[2] for line in rig.hooks.runs("start", rental_id)]
    assert attempts == ["1", "2", "3"]
    failed = [a for a in rig.actions() if a["action"] == "start_hook_failed"]
    assert [a["attempt"] for a in failed] == [1, 2]


def test_gave_up_ends_the_rental(rig: Rig) -> None:
    """A start hook that never works ends the rental (the renter pays only seconds used) and
    the stop hook cleans up."""
    rig.hooks = Hooks(rig.folder, "exit 7\n")
    agent = rig.agent(hook_attempts=2)
    rental_id = rig.rent()
    until(agent, lambda: rig.market.get_rental(rental_id).status != RentalStatus.ACTIVE)
    until(agent, lambda: bool(rig.hooks.runs("stop", rental_id)))
    agent.drain()
    assert rig.market.get_rental(rental_id).status == RentalStatus.ENDED_BY_PROVIDER
    assert len(rig.hooks.runs("start", rental_id)) == 2
    gave_up = [a for a in rig.actions() if a["action"] == "start_hook_gave_up"]
    assert gave_up and "exit status 7" in str(gave_up[0]["error"])


def test_hanging_hook_does_not_block_others(anvil_node: AnvilNode, tmp_path: Path) -> None:
    """While one rental's start hook hangs (and is killed at its timeout), another is served."""
    rig = Rig(anvil_node.web3(), tmp_path, gpus="eight-gpu-h100.xml")
    rig.hooks = Hooks(tmp_path, '[ "$GPUHUB_LISTING_ID" = 0 ] && sleep 30\n')
    agent = rig.agent(hook_timeout=1.0)
    stuck = rig.rent(listing=0)
    served = rig.rent(listing=1)
    began = time.monotonic()
    until(agent, lambda: rig.renter.access(served) is not None)
    assert time.monotonic() - began < 1.0 + 5
    until(agent, lambda: any(a["action"] == "start_hook_failed" for a in rig.actions()))
    agent.drain()
    failed = next(a for a in rig.actions() if a["action"] == "start_hook_failed")
    assert failed["rental_id"] == stuck and "no exit within 1 s" in str(failed["error"])


def test_hostile_request_logged_not_fatal(rig: Rig) -> None:
    """A request that does not decode is logged and skipped; the rental is served once a valid
    one comes."""
    from gpuhub._artifact import abi
    from gpuhub._errors import ErrorDecoder, translate

    agent = rig.agent()
    rental_id = rig.renter.rent(rig.listings[0] or 0, 60).rental_id
    with translate(ErrorDecoder(abi())):
        rig.renter.contract.functions.requestAccess(rental_id, b"\x01" + b"\xee" * 50).transact(
            {"from": rig.renter.address}
        )
    until(agent, lambda: any(a["action"] == "access_request_refused" for a in rig.actions()))
    rig.renter.request_access(rental_id, ssh_key=SSH_KEY)
    until(agent, lambda: rig.renter.access(rental_id) is not None)
    agent.drain()


def test_each_action_is_one_json_line(rig: Rig) -> None:
    """The agent logs one JSON object per action, never the details or a key."""
    agent = rig.agent()
    rental_id = rig.rent()
    until(agent, lambda: rig.renter.access(rental_id) is not None)
    agent.drain()
    actions = [a["action"] for a in rig.actions()]
    for expected in ("rental_started", "access_requested", "start_hook", "access_granted"):
        assert expected in actions
    text = "\n".join(r.getMessage() for r in rig.records)
    assert "gpu.example.net" not in text and SSH_KEY.split()[1] not in text


def test_rental_dropped_by_a_reorganisation(rig: Rig) -> None:
    """A rental whose block the chain dropped (a dev chain's revert) gets its stop hook."""
    w3 = rig.market.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    agent = rig.agent()
    rental_id = rig.rent()
    until(agent, lambda: bool(rig.hooks.runs("start", rental_id)))
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    rig.market.chain.mine()
    until(agent, lambda: bool(rig.hooks.runs("stop", rental_id)))
    agent.drain()
    assert rig.hooks.runs("stop", rental_id) == [f"stop {rental_id} dropped"]


def test_node_restart(tmp_path: Path) -> None:
    """The agent rides out a node restart: the rental ended meanwhile gets one stop hook."""
    node = AnvilNode(port=free_port(), extra_args=("--state", str(tmp_path / "chain.json")))
    node.start()
    try:
        rig = Rig(node.web3(timeout=2), tmp_path)
        agent = rig.agent()
        stop = threading.Event()
        runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
        runner.start()
        rental_id = rig.rent()
        wait_for(lambda: rig.renter.access(rental_id) is not None)
        node.stop()
        time.sleep(0.5)  # the agent meets a dead node and backs off
        node.start()
        rig.renter.end_rental(rental_id)
        wait_for(lambda: bool(rig.hooks.runs("stop", rental_id)))
        time.sleep(0.3)  # room for a second run to show up, if there were one
        stop.set()
        runner.join(20)
        assert not runner.is_alive()
    finally:
        node.stop()
    assert len(rig.hooks.runs("start", rental_id)) == 1
    assert len(rig.hooks.runs("stop", rental_id)) == 1
    assert any(a["action"] == "tick_failed" for a in rig.actions())


def wait_for(done: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if done():
                return
        except Exception:
            pass  # the node is restarting
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def _no_handlers() -> Iterator[None]:
    yield
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("gpuhub.provider.test"):
            logging.getLogger(name).handlers.clear()
