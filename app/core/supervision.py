"""Worker processes that end with their master.

uvicorn's master restarts workers that die, but nothing ends workers whose master died (a
SIGKILL, an out-of-memory kill): they would go on serving, unsupervised, and hold the port a
new start needs. A worker started by a master (a multiprocessing child) watches for its parent
to change and then shuts down as on SIGTERM, or ends at once if that does not finish.
"""

import logging
import multiprocessing
import os
import signal
import threading
import time

logger = logging.getLogger(__name__)

WATCH_SECONDS = 1.0
# How long a graceful shutdown may take once the master is gone before the worker just ends.
SHUTDOWN_GRACE_SECONDS = 30.0

_watching = False


def exit_with_master(watch_seconds: float = WATCH_SECONDS) -> None:
    """In a worker process of a master, start watching the master (once per process)."""
    global _watching
    parent = multiprocessing.parent_process()
    if _watching or parent is None or parent.pid is None:
        return
    _watching = True
    # The pid the master had when it started this worker, not os.getppid() now: a master that
    # died while the worker was still starting must not be mistaken for the process adopting it.
    master = parent.pid
    threading.Thread(
        target=_watch, args=(master, watch_seconds), name="master-watch", daemon=True
    ).start()


def _watch(master: int, watch_seconds: float) -> None:
    while os.getppid() == master:
        time.sleep(watch_seconds)
    logger.error("the master process %d is gone: this worker stops", master)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(SHUTDOWN_GRACE_SECONDS)
    os._exit(1)
