"""MarketIndex: a SQL mirror of the marketplace fed by its events (extra ``index``).

SQLite by default (one file, WAL mode, nothing to start); PostgreSQL by URL
(``postgresql+psycopg://...``) where several API workers or services share one index.
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the installed extras
    from ..exceptions import MissingDependency

    raise MissingDependency(
        'the market index needs SQLAlchemy: pip install "gpuhub-eth[index]"'
    ) from err

from ._index import FIRST_SPAN, MAX_SPAN, Follower, MarketIndex
from ._locks import SenderLock
from ._schema import SCHEMA_VERSION

__all__ = ["FIRST_SPAN", "MAX_SPAN", "SCHEMA_VERSION", "Follower", "MarketIndex", "SenderLock"]
