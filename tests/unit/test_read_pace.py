"""How many windows fetch at once: as many as pay, between 2 and max_concurrency."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import connectors.read.windows as windows_module
from connectors.read.pace import FAR_SECONDS, FEWEST, SPAN_SECONDS, Pace, is_far
from connectors.read.windows import run_windows, split_windows


class Clocks:
    """A wall clock and a process CPU clock the test moves by hand."""

    def __init__(self) -> None:
        self.wall = 100.0
        self.cpu = 10.0

    def pace(self, most: int) -> Pace:
        return Pace(most, clock=lambda: self.wall, cpu_clock=lambda: self.cpu)

    def wait(self, pace: Pace, seconds: float, *, busy: float) -> None:
        """The consumer waits ``seconds`` for rows while the process is on a CPU ``busy`` of
        that time."""
        since = self.wall
        self.wall += seconds
        self.cpu += seconds * busy
        pace.waited(since)

    def take(self, pace: Pace, seconds: float, *, busy: float = 1.0) -> None:
        """The consumer works ``seconds`` on rows that were ready."""
        self.wall += seconds
        self.cpu += seconds * busy
        pace.took()


def test_a_read_starts_with_two_windows_at_once_or_fewer_if_asked() -> None:
    clocks = Clocks()
    assert FEWEST == 2
    assert clocks.pace(8).active == 2
    assert clocks.pace(2).active == 2
    assert clocks.pace(1).active == 1


def test_a_read_from_a_far_api_starts_with_every_window_and_still_sheds() -> None:
    """An API whose quickest answer took FAR_SECONDS or more is waited on whatever the
    process does: all windows at once from the start; rows always ready still take one off
    per span, as from any other start."""
    clocks = Clocks()
    pace = Pace(8, far=True, clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu)
    assert pace.active == 8
    clocks.take(pace, SPAN_SECONDS, busy=1.0)
    assert pace.active == 7
    assert Pace(1, far=True).active == 1


class Measured:
    def __init__(self, fastest: float) -> None:
        self.stats = type("Stats", (), {"fastest": fastest})()


@pytest.mark.parametrize(
    ("client", "far"),
    [
        (Measured(FAR_SECONDS), True),
        (Measured(0.3), True),
        (Measured(FAR_SECONDS / 2), False),
        (Measured(math.inf), False),  # nothing answered yet
        (object(), False),  # a client that does not measure its exchanges
    ],
)
def test_an_api_is_far_when_its_quickest_answer_took_far_seconds(client: object, far: bool) -> None:
    assert is_far(client) is far


def test_waiting_on_a_slow_api_reaches_the_most_within_a_span() -> None:
    # Rows late 90% of the time while the process sits idle: the answers are what is slow.
    clocks = Clocks()
    pace = clocks.pace(8)
    clocks.take(pace, 0.002, busy=1.0)
    clocks.wait(pace, 0.027, busy=0.05)
    assert pace.active == 2  # no span is judged before SPAN_SECONDS
    clocks.wait(pace, SPAN_SECONDS, busy=0.05)
    assert pace.active == 8


def test_a_moderately_late_read_grows_by_what_it_lacks() -> None:
    # The consumer waited 43% of the span, the process idle 52%: 2 / (1 - 0.43) -> 4.
    clocks = Clocks()
    pace = clocks.pace(8)
    clocks.take(pace, 0.02, busy=0.8)
    clocks.wait(pace, 0.015, busy=0.05)
    assert pace.active == 4


def test_waiting_while_the_process_is_busy_adds_no_window() -> None:
    # On a fast API the process itself is the bottleneck: the consumer waits for the workers
    # to get the interpreter lock, not for answers. More threads would only switch more.
    clocks = Clocks()
    pace = clocks.pace(8)
    for _ in range(20):
        clocks.take(pace, 0.02, busy=1.0)
        clocks.wait(pace, 0.02, busy=0.9)
    assert pace.active == 2


def test_rows_always_ready_take_one_window_off_per_span_down_to_two() -> None:
    clocks = Clocks()
    pace = clocks.pace(8)
    clocks.wait(pace, 0.05, busy=0.0)
    assert pace.active == 8
    seen = []
    for _ in range(10):
        clocks.take(pace, SPAN_SECONDS * 1.1, busy=0.5)
        seen.append(pace.active)
    assert seen == [7, 6, 5, 4, 3, 2, 2, 2, 2, 2]


def test_a_busy_process_whose_consumer_seldom_waits_sheds_windows() -> None:
    clocks = Clocks()
    pace = clocks.pace(8)
    clocks.wait(pace, 0.05, busy=0.0)
    clocks.take(pace, 0.028, busy=1.0)
    clocks.wait(pace, 0.006, busy=1.0)  # waited 18% of the span, never idle
    assert pace.active == 7


def test_a_span_with_some_waiting_and_some_idle_time_holds() -> None:
    clocks = Clocks()
    pace = clocks.pace(8)
    clocks.wait(pace, 0.05, busy=0.0)
    clocks.take(pace, 0.028, busy=0.7)
    clocks.wait(pace, 0.006, busy=0.2)  # waited 18%, idle 39%: neither late nor idle enough
    assert pace.active == 8


# ---- run_windows with its pace ---------------------------------------------------------------


class Running:
    """How many windows are being scanned at once, at most, and when each one started."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.started: list[float] = []

    def scan(self, delay: float, rows: int = 5) -> Callable[[tuple[int, int]], Iterator[int]]:
        def scan(window: tuple[int, int]) -> Iterator[int]:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
                self.started.append(time.monotonic())
            try:
                for v in range(window[0], window[1] + 1):
                    if (v - window[0]) % rows == 0:
                        time.sleep(delay)  # a request's round trip: the process idles
                    yield v
            finally:
                with self.lock:
                    self.now -= 1

        return scan


def test_a_read_waiting_on_answers_goes_up_to_its_concurrency() -> None:
    running = Running()
    began = time.monotonic()
    out = list(
        run_windows(split_windows(0, 1599, 32), running.scan(0.02), concurrency=8, queue_size=4)
    )
    assert out == list(range(1600))
    assert running.most == 8
    # The third window waited for the pace's first span: the read started with two.
    third = sorted(running.started)[2]
    assert third - began >= SPAN_SECONDS * 0.9


def test_a_read_whose_process_is_busy_keeps_two_windows_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The process is always on a CPU (its CPU clock runs with the wall clock): the consumer's
    # waits are then for the interpreter lock, and no window is added however long it waits.
    def busy_pace(most: int, *, far: bool = False) -> Pace:
        return Pace(most, far=far, cpu_clock=time.monotonic)

    monkeypatch.setattr(windows_module, "Pace", busy_pace)
    running = Running()
    out = list(
        run_windows(split_windows(0, 799, 16), running.scan(0.02), concurrency=8, queue_size=4)
    )
    assert out == list(range(800))
    assert running.most == 2


def test_a_read_from_a_far_api_fetches_with_every_window_from_the_start() -> None:
    running = Running()
    out = list(
        run_windows(
            split_windows(0, 1599, 32), running.scan(0.02), concurrency=8, queue_size=4, far=True
        )
    )
    assert out == list(range(1600))
    # the first 8 windows began together, before any span was judged
    first = sorted(running.started)[:8]
    assert running.most == 8 and first[-1] - first[0] < SPAN_SECONDS
