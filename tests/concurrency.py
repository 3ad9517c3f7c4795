"""Two transactions at the same moment, for the PostgreSQL tests of row locks."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection, transaction


def attempt_while_held(hold: Callable[[], object], attempt: Callable[[], object]) -> bool:
    """Run `hold` in a transaction on a thread of its own and keep that transaction open while
    `attempt` runs on another; commit it a second later. Returns whether `attempt` finished
    within that second: False when it waited for a lock `hold` took. An exception in either is
    raised here, after both threads are done."""
    held, release, done = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def holder():
        try:
            with transaction.atomic():
                hold()
                held.set()
                release.wait(timeout=30)
        except Exception as exc:  # raised in the test's thread below
            failures.append(exc)
        finally:
            held.set()
            connection.close()

    def attempter():
        try:
            attempt()
        except Exception as exc:
            failures.append(exc)
        finally:
            done.set()
            connection.close()

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(timeout=30)
    second = threading.Thread(target=attempter)
    second.start()
    finished_early = done.wait(timeout=1)
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    if failures:
        raise failures[0]
    return finished_early
