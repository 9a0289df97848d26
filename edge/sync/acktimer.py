"""When the gate resends what central has not acknowledged: a timeout adapted to the measured
ack round trip, the way TCP sets its retransmission timeout (RFC 6298).

A batch that central stored is acknowledged within about one round trip (publish → broker →
receiver commit → signed ack). A batch lost on the way — a receiver of the group killed with
messages in flight, a broker that acknowledged and then lost them — is never acknowledged, and
waiting a fixed ``ack_timeout_s`` (15 s) for it stretches every drain after such a loss. So the
timeout follows the round trip: ``srtt + 4 × rttvar`` (3 s before anything was measured),
never below ``ack_timeout_min_s`` nor above ``ack_timeout_s``. Round trips are measured on
first sends only (Karn: an ack after a resend cannot tell which send it answers), and each
timeout that fires doubles the next one until an ack arrives again, so a central that is down
is not flooded with resends.
"""

from __future__ import annotations

from collections import OrderedDict

ALPHA = 0.125  # RFC 6298 gains
BETA = 0.25
MAX_TRACKED = 4096  # first-sent batches remembered for round-trip samples
INITIAL_S = 3.0  # the timeout before anything was measured (RFC 2988's initial RTO)


class AckTimer:
    """Adaptive resend timeout. Call :meth:`sent` for each published batch, :meth:`acked` for
    each ack, :meth:`fired` when the timeout resent something; read :meth:`timeout`."""

    def __init__(self, floor_s: float, ceiling_s: float) -> None:
        self.floor_s = min(floor_s, ceiling_s)
        self.ceiling_s = ceiling_s
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.backoff = 1.0
        self._top_sent = 0  # highest seq ever published
        self._first: OrderedDict[int, float] = OrderedDict()  # batch's top seq → sent at

    def sent(self, seqs: list[int], now: float) -> None:
        """A batch was published at ``now`` (monotonic s)."""
        if not seqs:
            return
        if min(seqs) > self._top_sent:  # a first send: its ack is a clean sample
            self._first[max(seqs)] = now
            if len(self._first) > MAX_TRACKED:
                self._first.popitem(last=False)
        self._top_sent = max(self._top_sent, max(seqs))

    def acked(self, upto: int, now: float) -> None:
        """Central acknowledged every seq up to ``upto`` at ``now`` (monotonic s)."""
        newest: float | None = None
        while self._first:
            top, at = next(iter(self._first.items()))
            if top > upto:
                break
            self._first.popitem(last=False)
            newest = at
        if newest is None:
            return
        sample = max(0.0, now - newest)
        if self.srtt is None:
            self.srtt, self.rttvar = sample, sample / 2
        else:
            self.rttvar = (1 - BETA) * self.rttvar + BETA * abs(self.srtt - sample)
            self.srtt = (1 - ALPHA) * self.srtt + ALPHA * sample
        self.backoff = 1.0

    def fired(self) -> None:
        """The timeout resent something: wait twice as long next time (until an ack). The
        batches sent before are no clean samples any more: acks are cumulative, so theirs
        waited for the lost one."""
        self.backoff = min(self.backoff * 2.0, 64.0)
        self._first.clear()

    def timeout(self) -> float:
        """Seconds after which an unacknowledged record is sent again."""
        # nothing measured yet (a gate whose first batches were all lost): 3 s, doubled by
        # each timeout that fires, never above the configured one
        base = INITIAL_S if self.srtt is None else self.srtt + 4.0 * self.rttvar
        rto = base * self.backoff
        return min(self.ceiling_s, max(self.floor_s, rto))
