"""What a browser opens: the market page at ``/`` and the API's docs at ``/docs`` and ``/redoc``.

Each is a static file of the package (``api/static``, with the vendored Swagger UI and ReDoc),
so they work with no network, and none is in the OpenAPI spec. The HTML answers carry a
Content-Security-Policy that lets them load and call only this server (``'self'``: no CDN, no
other origin), and may not be framed (a page that asks a wallet to sign must not sit under
someone else's clickjacking overlay).
"""

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

#: the package's static files (mounted at ``/static`` by ``create_app``).
STATIC = Path(__file__).resolve().parent.parent / "static"

_COMMON = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
#: the market page: nothing inline.
PAGE_POLICY = f"{_COMMON}; style-src 'self'"
#: Swagger UI and ReDoc set inline styles, and ReDoc searches in a worker made from a blob.
DOCS_POLICY = f"{_COMMON}; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"


@cache
def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _html(name: str, policy: str) -> HTMLResponse:
    return HTMLResponse(
        _read(name),
        headers={
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/", response_class=HTMLResponse)
def market_page() -> HTMLResponse:
    """The live market: search, listings, prices per model, events, renting from a wallet."""
    return _html("index.html", PAGE_POLICY)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """The OpenAPI spec in Swagger UI."""
    return _html("docs.html", DOCS_POLICY)


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    """The OpenAPI spec in ReDoc."""
    return _html("redoc.html", DOCS_POLICY)
