"""The in-process rate-limit counter decides as ``limits``' sliding-window counter does, decision by decision."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from app.services.ratelimit import LocalSlidingWindow

LIMIT = 20
STEPS = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=70, allow_nan=False),  # seconds since the previous operation
        st.integers(min_value=1, max_value=LIMIT + 2),  # its cost
        st.sampled_from(["address:a", "address:b"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(start=st.floats(min_value=1.7e9, max_value=1.8e9, allow_nan=False), steps=STEPS)
def test_the_local_counter_decides_as_limits_does(start: float, steps: list[tuple[float, int, str]]) -> None:
    clock = [start]
    item = RateLimitItemPerMinute(LIMIT, namespace="veerkracht")
    ours = LocalSlidingWindow()
    with mock.patch("time.time", side_effect=lambda: clock[0]):
        theirs = SlidingWindowCounterRateLimiter(MemoryStorage())
        for elapsed, cost, key in steps:
            clock[0] += elapsed
            reset_in = ours.hit(key, LIMIT, item.get_expiry(), cost, clock[0])
            allowed = theirs.hit(item, key, cost=cost)
            assert (reset_in is None) == allowed, (clock[0], key, cost)
            if reset_in is not None:
                expected = theirs.get_window_stats(item, key).reset_time - clock[0]
                assert abs(reset_in - expected) < 1e-6, (reset_in, expected)


def test_a_refusal_says_when_the_budget_frees_up() -> None:
    """Budget 10 a minute: 6 spent at the start of a window leaves 4; the previous window's 6 then fade."""
    counter = LocalSlidingWindow()
    start = 1_800_000_000.0  # a multiple of 60: the start of a window
    assert counter.hit("k", 10, 60, 6, start) is None
    assert counter.hit("k", 10, 60, 5, start + 1) == pytest.approx(59)  # when this window ends
    assert counter.hit("k", 10, 60, 4, start + 2) is None
    # In the next window the previous 10 count in proportion to what is left of the sliding minute.
    assert counter.hit("k", 10, 60, 2, start + 61) == pytest.approx(5)  # 10 * 59/60 = 9.83 -> 9, + 2
    assert counter.hit("k", 10, 60, 2, start + 67) is None  # 10 * 53/60 = 8.83 -> 8, + 2 = 10
    # Callers not seen for two windows are forgotten.
    assert counter.hit("other", 10, 60, 1, start + 200) is None
    assert "k" not in counter._counts
