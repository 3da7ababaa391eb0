"""The limit on requests in flight (connectors.api.slots): never more holders than slots, and a
released slot goes to the thread that has waited longest, not back to the one releasing it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from connectors.api.slots import Slots


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_never_more_holders_than_slots_and_every_slot_used() -> None:
    slots, lock = Slots(3), threading.Lock()
    holding, peak = [0], [0]

    def work() -> None:
        for _ in range(50):
            with slots:
                with lock:
                    holding[0] += 1
                    peak[0] = max(peak[0], holding[0])
                time.sleep(0.0005)
                with lock:
                    holding[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 3 and holding[0] == 0 and slots.waiting == 0


def test_a_released_slot_goes_to_the_longest_waiter() -> None:
    slots, order = Slots(1), []
    slots.acquire()

    def waiter(name: str) -> None:
        with slots:
            order.append(name)

    first = threading.Thread(target=waiter, args=("first",))
    first.start()
    wait_until(lambda: slots.waiting == 1)
    second = threading.Thread(target=waiter, args=("second",))
    second.start()
    wait_until(lambda: slots.waiting == 2)
    slots.release()
    slots.acquire()  # the releasing thread asks again at once: it queues behind both
    order.append("releaser")
    slots.release()
    first.join()
    second.join()
    assert order == ["first", "second", "releaser"]


def test_at_least_one_slot() -> None:
    with pytest.raises(ValueError):
        Slots(0)
