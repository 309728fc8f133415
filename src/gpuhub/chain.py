"""Development chains: the embedded one (eth-tester + py-evm, in-process) and a local anvil node.

Both give funded, unlocked accounts and can move time forward, so rentals can be tried out
without waiting::

    from gpuhub.chain import embedded_web3, AnvilNode

    w3 = embedded_web3()                    # nothing to start
    with AnvilNode() as node:               # a real node on 127.0.0.1, on a free port
        w3 = node.web3()
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .build import CONTRACTS_DIR
from .exceptions import ConnectionFailed, GPUHubError, MissingDependency

if TYPE_CHECKING:
    from web3 import AsyncWeb3, Web3

#: chain ids of eth-tester and anvil, where polling fast and moving time are safe.
DEV_CHAIN_IDS = frozenset({131277322940537, 31337})


def embedded_web3() -> Web3:
    """A Web3 connected to a fresh in-process chain with ten funded, unlocked accounts."""
    from web3 import EthereumTesterProvider, Web3

    return Web3(EthereumTesterProvider(_tester()))


def embedded_async_web3() -> AsyncWeb3[Any]:
    """An AsyncWeb3 connected to a fresh in-process chain with ten funded, unlocked accounts."""
    from web3 import AsyncEthereumTesterProvider, AsyncWeb3
    from web3.providers.async_base import AsyncBaseProvider
    from web3.providers.eth_tester.defaults import API_ENDPOINTS

    tester = _tester()

    class Provider(AsyncEthereumTesterProvider):
        # web3's own constructor takes no tester and builds one with eth-tester's backend
        # lookup, which resets the process's warning filters (warnings.simplefilter("default"));
        # this one is handed its tester, as the sync provider is.
        def __init__(self) -> None:
            AsyncBaseProvider.__init__(self)
            self.ethereum_tester = tester
            self.api_endpoints = API_ENDPOINTS

    return AsyncWeb3(Provider())


def _tester() -> Any:
    """A fresh eth-tester chain on py-evm, its backend named (never looked up)."""
    try:
        from eth_tester import EthereumTester, PyEVMBackend
    except ImportError as err:
        raise MissingDependency(
            'the embedded chain needs eth-tester: pip install "gpuhub-eth[embedded]"'
        ) from err
    return EthereumTester(PyEVMBackend())


class DevChain:
    """Controls for a development chain: read its clock and move it forward.

    Works on the embedded chain and on anvil (or any node with ``evm_increaseTime``).
    """

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self._w3.eth.get_block("latest")["timestamp"])

    def advance_time(self, seconds: int) -> int:
        """Mine a block ``seconds`` later than the latest one; returns its timestamp."""
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError(f"seconds must be a non-negative integer, got {seconds!r}")
        target = self.now() + seconds
        tester = _eth_tester(self._w3)
        if tester is not None:
            # py-evm mines the travelled-to block one second before the target it is given.
            tester.time_travel(target + 1)
        else:
            # An exact timestamp: anvil otherwise follows the wall clock plus an offset.
            self._w3.provider.make_request("evm_setNextBlockTimestamp", [target])  # type: ignore[arg-type]
            self._w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        return self.now()

    def mine(self) -> None:
        """Mine one empty block."""
        tester = _eth_tester(self._w3)
        if tester is not None:
            tester.mine_blocks(1)
        else:
            self._w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _eth_tester(w3: Web3) -> Any:
    return getattr(w3.provider, "ethereum_tester", None)


def find_anvil() -> str:
    """Path of the anvil binary: $GPUHUB_ANVIL, contracts/node_modules, then PATH."""
    env = os.environ.get("GPUHUB_ANVIL")
    if env:
        return env
    machine = platform.machine().lower()
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    system = platform.system().lower()
    system = {"windows": "win32"}.get(system, system)
    modules = CONTRACTS_DIR / "node_modules" / "@foundry-rs"
    for candidate in (
        modules / f"anvil-{system}-{machine}" / "bin" / "anvil",
        modules / "anvil" / "bin" / "anvil",
    ):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    if (CONTRACTS_DIR / "package.json").is_file():
        how = "run `npm ci` in contracts/ (a source checkout), or set GPUHUB_ANVIL to its path"
    else:
        how = (
            "install it with `npm install @foundry-rs/anvil` (any folder; the binary is then "
            "node_modules/@foundry-rs/anvil-<os>-<cpu>/bin/anvil) or with Foundry (foundryup, "
            "https://getfoundry.sh), and put it on PATH or set GPUHUB_ANVIL to its path"
        )
    raise MissingDependency(f"anvil not found: {how}")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on ``host:port`` now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class AnvilNode:
    """A real anvil node on 127.0.0.1, started on entry and stopped on exit.

    Args:
        port: TCP port; a free one when None.
        accounts: number of funded accounts (10,000 ETH each).
        extra_args: further anvil flags.
    """

    def __init__(
        self, *, port: int | None = None, accounts: int = 10, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.accounts = accounts
        self.extra_args = extra_args
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The node's JSON-RPC endpoint."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> AnvilNode:
        """Start the node and wait until it answers.

        Raises:
            GPUHubError: the port is taken (anvil would exit, and the wait would find the other
                process's port open), or anvil exited.
        """
        if port_in_use(self.port, self.host):
            raise GPUHubError(
                f"port {self.port} on {self.host} is in use (another node?): stop that process "
                "or pick another port"
            )
        cmd = [
            find_anvil(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--accounts",
            str(self.accounts),
            "--silent",
            *self.extra_args,
        ]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise GPUHubError(f"anvil exited at start: {err.strip()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            if self._proc.poll() is None:
                return self
        self.stop()
        raise ConnectionFailed(f"anvil did not open {self.url} within {timeout} s")

    def stop(self) -> None:
        """Stop the node (idempotent)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def web3(self, *, timeout: float = 30.0) -> Web3:
        """A Web3 connected to this node over HTTP."""
        from web3 import HTTPProvider, Web3

        from ._sessions import own_session_lock

        provider = HTTPProvider(self.url, request_kwargs={"timeout": timeout})
        own_session_lock(provider)
        return Web3(provider)

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
