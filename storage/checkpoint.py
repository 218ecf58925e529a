"""Copies the write-ahead log back into the database file from a thread of its own.

By default SQLite runs a checkpoint inside the COMMIT that takes the log past 1,000 pages. Our statements run on
the event loop's thread (storage/sqlite_inline.py), so that COMMIT froze every chat while pages were copied:
6–90 ms a few times a second under load, half a second after queueing a broadcast to 100,000 people
(benchmarks/RESULTS.md). The database's own connection therefore does not checkpoint by itself
(`wal_autocheckpoint=0`); this thread does, a moment after commits, PASSIVE: it never waits for or blocks a
writer, and Python's sqlite3 lets go of the GIL while SQLite copies. Once everything is copied, the next write
starts the log over.
Under writes without a pause the log is never all copied when the next write begins (the writer goes on while
this thread copies), and it would grow; past `restart_pages` the thread says it is `behind`, and the next
COMMIT checkpoints once itself: only the pages written since the thread's last pass are left to copy
(milliseconds), and the log starts over.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, path: Path, pause_seconds: float = 0.25, restart_pages: int = 10_000) -> None:
        self.path = path
        self.pause_seconds = pause_seconds    # at most one checkpoint per pause: 4 a second
        self.restart_pages = restart_pages    # a log this long is started over by the writer (about 40 MB)
        self.checkpoints = 0                  # completed; read by tests
        self.behind = False                   # set here, cleared by the writer once it has checkpointed
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def committed(self) -> None:
        """A transaction committed: its pages are in the log, to be copied soon."""
        self._wanted.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stopping.set()
        self._wanted.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            while True:
                self._wanted.wait()
                if self._stopping.is_set():
                    return
                self._wanted.clear()
                try:
                    self._checkpoint(conn)
                except Exception:  # the next commit asks again; the thread must outlive any one failure
                    log.exception("checkpoint failed")
                if self._stopping.wait(self.pause_seconds):  # the pause ends at once when the database closes
                    return
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        _busy, pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
        # Whatever was copied, the writer kept writing meanwhile: only a checkpoint of its own, between two of
        # its transactions, leaves the log all copied when it next writes, so that the log starts over.
        self.behind = pages >= self.restart_pages
        self.checkpoints += 1
