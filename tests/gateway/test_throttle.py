"""The per-client throttle of the public verification: a burst, then a steady rate, per client."""

from __future__ import annotations

import pytest

from gateway.throttle import ClientThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_waits_for_the_next_token() -> None:
    clock = Clock()
    throttle = ClientThrottle(6, clock=clock)  # one token every 10 s

    assert [throttle.retry_after("a") for _ in range(6)] == [None] * 6
    assert throttle.retry_after("a") == 10
    clock.now += 4
    assert throttle.retry_after("a") == 6
    clock.now += 6
    assert throttle.retry_after("a") is None
    assert throttle.retry_after("a") == 10


def test_clients_are_counted_apart() -> None:
    throttle = ClientThrottle(1, clock=Clock())

    assert throttle.retry_after("a") is None
    assert throttle.retry_after("a") == 60
    assert throttle.retry_after("b") is None


def test_the_least_recently_seen_clients_are_forgotten_past_the_limit() -> None:
    throttle = ClientThrottle(1, clients_max=2, clock=Clock())
    for client in ("a", "b"):
        throttle.retry_after(client)

    throttle.retry_after("c")  # "a" is forgotten: it starts again with a full bucket

    assert throttle.retry_after("a") is None
    assert throttle.retry_after("c") == 60


def test_a_throttle_that_admits_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ClientThrottle(0)
