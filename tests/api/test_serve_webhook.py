"""`gpuhub serve --webhook URL` delivers the served marketplace's events to URL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx

from gpuhub.chain import free_port
from gpuhub.webhooks import verify

from .conftest import API_KEY, AUTH

SERVE = [sys.executable, "-m", "gpuhub", "serve"]

if TYPE_CHECKING:
    from conftest import Receiver


def test_serve_webhook_option_delivers_events(receiver: Receiver) -> None:
    """An event of the served marketplace reaches the --webhook URL, signed with its secret."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *SERVE,
            "--port",
            str(port),
            "--webhook",
            receiver.url,
            "--allow-private-webhooks",
        ],
        env={**os.environ, "GPUHUB_API_KEY": API_KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        listing = {"gpu_model": "T4", "capacity": 16, "price": "1000", "unit": "HOUR"}
        assert httpx.post(f"{url}/v1/listings", json=listing, headers=AUTH).status_code == 201
        secret = httpx.get(f"{url}/v1/webhooks/1/secret", headers=AUTH).json()["secret"]
        deadline = time.monotonic() + 20
        while not receiver.received:
            assert time.monotonic() < deadline, "no webhook arrived"
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(10)
    headers, body = receiver.received[0]
    assert verify(body, headers, secret)["type"] == "ListingCreated"


def test_serve_refuses_a_loopback_webhook_unless_allowed() -> None:
    """Without --allow-private-webhooks, a --webhook URL on 127.0.0.1 stops serve at start
    with one line that names the option, and the usage exit code."""
    done = subprocess.run(
        [*SERVE, "--port", str(free_port()), "--webhook", "http://127.0.0.1:9/hook"],
        env={**os.environ, "GPUHUB_API_KEY": API_KEY},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2  # a usage error, as docs/cli.md's exit codes say
    assert "127.0.0.1 is a loopback address" in done.stderr
    assert "--allow-private-webhooks" in done.stderr
