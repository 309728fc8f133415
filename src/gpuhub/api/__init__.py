"""The optional HTTP API (the ``api`` extra): a thin FastAPI layer over GPUHubClient.

    from gpuhub import GPUHubClient
    from gpuhub.api import create_app

    app = create_app(GPUHubClient.local(), api_key="...")   # serve with uvicorn

Every route is one client call. ``gpuhub serve`` builds and serves the app from the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import MissingDependency

if TYPE_CHECKING:
    from ._app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name != "create_app":
        raise AttributeError(f"module 'gpuhub.api' has no attribute {name!r}")
    try:
        from ._app import create_app
    except ImportError as err:
        raise MissingDependency(
            f"the HTTP API needs the api extra ({err.name} is missing): "
            'pip install "gpuhub-eth[api]"'
        ) from err
    return create_app
