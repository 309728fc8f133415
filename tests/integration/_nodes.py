"""A JSON-RPC proxy in front of a real node that refuses some requests, for the tests of what
follows the chain (watch, alerts, webhooks) through a node's refusals."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.request


class ErringProxy:
    """A JSON-RPC proxy to a real node that answers ``header not found`` to the first
    ``failures`` eth_getLogs requests and forwards everything else."""

    def __init__(self, upstream: str, failures: int) -> None:
        proxy = self
        self.failures = failures
        self.answered_errors = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                if (
                    isinstance(payload, dict)
                    and payload.get("method") == "eth_getLogs"
                    and proxy.answered_errors < proxy.failures
                ):
                    proxy.answered_errors += 1
                    error = {"code": -32000, "message": "header not found"}
                    reply = json.dumps(
                        {"jsonrpc": "2.0", "id": payload.get("id"), "error": error}
                    ).encode()
                else:
                    request = urllib.request.Request(
                        upstream, body, {"Content-Type": "application/json"}
                    )
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        reply = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
