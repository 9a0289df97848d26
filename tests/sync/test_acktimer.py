"""The gate's resend timeout follows the measured ack round trip (RFC 6298 style): 3 s
(at most ``ack_timeout_s``) before anything is measured, ``srtt + 4 rttvar`` within
[``ack_timeout_min_s``, ``ack_timeout_s``] after, doubled by each timeout that fires until an
ack arrives, and never sampled from a resent batch (Karn)."""

from __future__ import annotations

from edge.sync.acktimer import AckTimer


def test_the_timeout_follows_the_round_trip_within_its_bounds() -> None:
    t = AckTimer(floor_s=1.0, ceiling_s=15.0)
    assert t.timeout() == 3.0  # nothing measured yet
    assert AckTimer(floor_s=1.0, ceiling_s=2.0).timeout() == 2.0
    now = 100.0
    for top in range(50, 1050, 50):  # batches of 50, each acked 0.2 s after it was sent
        t.sent(list(range(top - 49, top + 1)), now)
        t.acked(top, now + 0.2)
        now += 0.1
    assert t.srtt is not None and abs(t.srtt - 0.2) < 0.01
    assert t.timeout() == 1.0  # 0.2 s + 4 × small spread, raised to the floor
    slow = AckTimer(floor_s=0.5, ceiling_s=15.0)
    for i, top in enumerate(range(50, 2050, 50)):
        slow.sent(list(range(top - 49, top + 1)), float(i))
        slow.acked(top, i + (3.0 if i % 2 else 1.0))  # 1-3 s round trips
    assert 3.0 < slow.timeout() < 15.0


def test_a_timeout_that_fires_doubles_the_next_until_an_ack() -> None:
    t = AckTimer(floor_s=0.5, ceiling_s=15.0)
    t.sent([1, 2], 0.0)
    t.acked(2, 0.3)
    base = t.timeout()
    t.fired()
    assert t.timeout() == min(15.0, max(0.5, 2 * (t.srtt or 0) + 8 * t.rttvar))
    for _ in range(10):
        t.fired()
    assert t.timeout() == 15.0  # capped: a central that is down sees a resend every 15 s
    t.sent([3], 10.0)
    t.acked(3, 10.3)
    assert t.timeout() <= max(base, 0.5) + 0.2  # an ack resets the back-off


def test_resends_give_no_samples() -> None:
    t = AckTimer(floor_s=0.1, ceiling_s=15.0)
    t.sent([1, 2, 3], 0.0)
    t.sent([1, 2, 3], 5.0)  # resent: the ack cannot tell which send it answers
    t.acked(3, 5.1)
    assert t.srtt == 5.1  # measured from the first send only (conservative), not 0.1 s
    t.sent([2, 3], 6.0)  # a resend of acked seqs adds nothing
    t.acked(3, 9.0)
    assert t.srtt == 5.1
    t.sent([4], 10.0)
    t.fired()  # the batches sent before a timeout fired: their acks waited for the lost one
    t.sent([4], 11.0)
    t.acked(4, 11.5)
    assert t.srtt == 5.1
    assert t.timeout() == 15.0  # 5.1 + 4 × 2.55, capped
