"""One webhook request over HTTP: to checked addresses only, no redirects, nothing from the
environment.

aiohttp (a dependency of web3 already) sends it because it lets the connection go to addresses
resolved and checked beforehand (``_webhook_targets``) through a resolver of our own, while TLS
still checks the certificate against the URL's host name; it never follows a redirect when told
not to and ignores proxy variables unless asked to read them; and it can be cancelled mid-way,
so the caller bounds the whole request with one deadline. urllib and requests only time out
each read, so a receiver sending a byte every few seconds holds them forever.

Imported when the first delivery is made: ``import gpuhub.webhooks`` stays cheap.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping, Sequence

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from ._webhook_targets import Target


class _Pinned(AbstractResolver):
    """Answers every lookup with the addresses already checked, so no second lookup (whose
    answer could differ) decides where the connection goes."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self._addresses = list(addresses)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self._addresses
        ]

    async def close(self) -> None:
        pass


async def post(
    target: Target, addresses: Sequence[str], headers: Mapping[str, str], body: bytes
) -> int:
    """POST ``body`` to ``target`` through one of ``addresses``; the answer's status.

    The answer's body is not read. Anything that goes wrong raises (see :func:`describe`);
    the caller bounds the time (``asyncio.timeout``).
    """
    connector = aiohttp.TCPConnector(
        resolver=_Pinned(addresses), use_dns_cache=False, force_close=True
    )
    async with (
        aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        ) as session,
        session.post(target.url, data=body, headers=dict(headers), allow_redirects=False) as answer,
    ):
        return answer.status


def describe(err: BaseException) -> str:
    """What went wrong with a request, for the attempt's record: the kind of failure and the
    exception's class, never its message (which can quote the receiver's answer)."""
    name = type(err).__name__
    if isinstance(err, aiohttp.ClientSSLError | ssl.SSLError):
        return f"TLS failed ({name})"
    if isinstance(err, aiohttp.ClientConnectorError):
        return f"connection failed ({name})"
    if isinstance(
        err,
        aiohttp.ClientResponseError | aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError,
    ):
        return f"bad answer ({name})"
    if isinstance(err, aiohttp.ClientError | OSError):
        return f"connection failed ({name})"
    return f"delivery failed ({name})"
