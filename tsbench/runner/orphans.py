"""Worker processes end with their parent: a ``--jobs`` worker or a Dask cell's child process whose parent is
killed (SIGKILL, out of memory, a pre-empted node) exits at its next check (every :data:`POLL_S` seconds)
instead of computing on as an orphan. Cell files are written atomically, so an exit at any moment leaves no
half-written result."""
from __future__ import annotations

import os
import threading
import time

#: how often a worker checks that its parent is alive (seconds)
POLL_S = 0.5


def exit_with_parent(poll: float = POLL_S) -> None:
    """Start a daemon thread that ends this process (exit status 1) once its parent process is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent:  # re-parented: the parent died
                os._exit(1)

    threading.Thread(target=watch, name="tsbench-exit-with-parent", daemon=True).start()
