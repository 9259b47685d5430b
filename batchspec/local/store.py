"""SQLite persistence for the local service: one row per resource, the resource kept as JSON.

The service holds its state in memory (fast reads under one lock) and writes every change through to SQLite, so a
restarted service loads the same pools, jobs, tasks and nodes. WAL mode and ``synchronous=NORMAL``: a crash may lose
the last few writes, never corrupt the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

SCHEMA_VERSION = 1


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS resources ("
            " kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = self._db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    # An upsert keeps the row (and its rowid) of an updated resource: load() returns resources in creation order,
    # so lists and the task queues rebuilt after a restart keep it. (INSERT OR REPLACE moved every write to the end.)
    _PUT = (
        "INSERT INTO resources VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body"
    )

    def put(self, kind: str, key: str, body: dict) -> None:
        text = json.dumps(body, separators=(",", ":"))
        with self._lock:
            self._db.execute(self._PUT, (kind, key, text))

    def put_many(self, kind: str, items: Iterable[tuple[str, dict]]) -> None:
        rows = [(kind, k, json.dumps(b, separators=(",", ":"))) for k, b in items]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(self._PUT, rows)
            finally:
                self._db.execute("COMMIT")

    def delete(self, kind: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM resources WHERE kind=? AND key=?", (kind, key))

    def delete_prefix(self, kind: str, prefix: str) -> None:
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            self._db.execute("DELETE FROM resources WHERE kind=? AND key LIKE ? ESCAPE '\\'", (kind, like))

    def load(self, kind: str) -> Iterator[tuple[str, dict]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, body FROM resources WHERE kind=? ORDER BY rowid", (kind,)
            ).fetchall()
        for key, body in rows:
            yield key, json.loads(body)

    def close(self) -> None:
        with self._lock:
            self._db.close()
