"""The DuckDB session store."""

from sharehouse.store.db import Store, StoreBusyError, StoreError, default_db_path, new_id
from sharehouse.store.records import LLMCallRecord, Position, SessionRecord, TurnRecord

__all__ = [
    "LLMCallRecord",
    "Position",
    "SessionRecord",
    "Store",
    "StoreBusyError",
    "StoreError",
    "TurnRecord",
    "default_db_path",
    "new_id",
]
