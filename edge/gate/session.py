"""One person's scan session: a pass, then health proofs, within a short window.

A resident shows the community pass, then a health code (or several SMART Health Card
chunks). The session says what is still missing ("now show your health code") and decides
once everything the rules ask for is there, or when the window ends. Pure: ``now`` (Unix
seconds) is always an argument; online health codes are handed back to the caller to check
with the adapter and offered in with :meth:`ScanSession.offer`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from edge.gate.credentials import shc
from edge.gate.credentials.evidence import EvidenceKind, HealthCodeCredential, HealthCredential
from edge.gate.credentials.regional import matches
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import (
    Credential,
    PassCredential,
    Role,
    UnreadableCredential,
    code_hash,
)
from edge.gate.credentials.verify import MAX_TEXT, Verification, verify_shc_jws, verify_text
from edge.gate.reasons import Reason, Sentence
from edge.gate.rules.decision import Decision, decide
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Direction, Mode, Rules

DEFAULT_WINDOW_S = 20.0


class Need(StrEnum):
    """What the session still waits for, in the order it is asked."""

    PASS = "pass"
    SHC_CHUNKS = "shc_chunks"
    HEALTH_CODE = "health_code"
    TEST = "test"
    VACCINATION = "vaccination"


PROMPTS: dict[Need, Sentence] = {
    Need.PASS: Sentence("请出示出入证二维码", "Please show your community pass"),
    Need.SHC_CHUNKS: Sentence(
        "请出示健康卡的下一个二维码", "Now show the next part of your health card"
    ),
    Need.HEALTH_CODE: Sentence("请出示健康码", "Now show your health code"),
    Need.TEST: Sentence("请出示核酸检测阴性证明", "Now show your negative test result"),
    Need.VACCINATION: Sentence("请出示疫苗接种证明", "Now show your vaccination certificate"),
}


@dataclass(frozen=True)
class ScanStep:
    """The answer to one scan. ``online_code``: check it with the health-code adapter."""

    verification: Verification | None
    online_code: str | None
    missing: tuple[Need, ...]


class ScanSession:
    """Collects one person's codes. Not thread-safe; one per person at the reader."""

    def __init__(
        self,
        rules: Rules,
        trust: TrustStore,
        started_at: float,
        direction: Direction,
        *,
        window_s: float = DEFAULT_WINDOW_S,
        health_code_prefixes: Sequence[str] = (),
        clock_trusted: bool = True,
        is_replay: Callable[[PassCredential], bool] | None = None,
        unconfirmed: Callable[[PassCredential], bool] | None = None,
    ) -> None:
        self.rules = rules
        self.trust = trust
        self.started_at = started_at
        self.direction = direction
        self.window_s = window_s
        self._prefixes = tuple(health_code_prefixes)
        self._clock_trusted = clock_trusted
        self._credentials: list[Credential] = []
        self._chunks = shc.ChunkAssembler()
        self._chunk_texts: list[str] = []
        self._pending_online = False
        self._decision: Decision | None = None
        self._temperature: float | None = None
        self._is_replay = is_replay
        # A visitor pass whose household has not confirmed the visit yet (registered at the
        # booth as needing it): held by the profile's ``visitor_confirmation`` rule.
        self._unconfirmed = unconfirmed
        self._ended = False

    @property
    def credentials(self) -> tuple[Credential, ...]:
        return tuple(self._credentials)

    def _required(self) -> list[Need]:
        r = self.rules
        needs = [Need.PASS]
        if self.direction in r.health_directions:
            if r.health_code is not Mode.OFF:
                needs.append(Need.HEALTH_CODE)
            if r.test is not Mode.OFF and r.test_window_h > 0:
                needs.append(Need.TEST)
            if r.vaccination is not Mode.OFF:
                needs.append(Need.VACCINATION)
        return needs

    def _kinds(self) -> set[EvidenceKind]:
        return {
            e.kind
            for c in self._credentials
            if isinstance(c, HealthCredential) and not c.problems
            for e in c.evidence
        }

    def missing(self) -> tuple[Need, ...]:
        """What is still needed, most urgent first; empty when complete."""
        kinds = self._kinds()
        have = {
            Need.PASS: any(isinstance(c, PassCredential) for c in self._credentials),
            Need.HEALTH_CODE: any(isinstance(c, HealthCodeCredential) for c in self._credentials),
            Need.TEST: EvidenceKind.TEST in kinds,
            Need.VACCINATION: bool(kinds & {EvidenceKind.VACCINATION, EvidenceKind.RECOVERY}),
        }
        out = [n for n in self._required() if not have[n]]
        if self._chunks.total is not None and not self._chunks.complete:
            out.insert(1 if Need.PASS in out else 0, Need.SHC_CHUNKS)
        return tuple(out)

    def _pass_refused(self) -> bool:
        # an invalid pass cannot be rescued by health proofs: decide at once; and a code that
        # is no credential at all, shown before any pass, is answered at once with its reason
        creds = self._credentials
        if any(isinstance(c, PassCredential) and c.problems for c in creds):
            return True
        return bool(creds) and all(isinstance(c, UnreadableCredential) for c in creds)

    @property
    def complete(self) -> bool:
        return not self.missing() or self._pass_refused()

    def expired(self, now: float) -> bool:
        return self._ended or now - self.started_at >= self.window_s

    def end(self) -> None:
        """Close the window now (the next person is already scanning)."""
        self._ended = True

    @property
    def decided(self) -> bool:
        return self._decision is not None

    def ready(self, now: float) -> bool:
        """True when a decision can be taken: complete, or the window has ended."""
        return self._decision is not None or self.complete or self.expired(now)

    def prompt(self, lang: str = "zh") -> str:
        """What to tell the person now (empty when nothing is missing)."""
        missing = self.missing()
        if not missing:
            return ""
        s = PROMPTS[missing[0]]
        return s.en if lang == "en" else s.zh

    def scan(self, text: str, now: float) -> ScanStep:
        """Take one scanned text at Unix time ``now``."""
        if self._decision is not None or self.expired(now):
            return ScanStep(None, None, self.missing())
        stripped = text.strip()
        if self._prefixes and matches(stripped, self._prefixes):
            self._pending_online = True
            return ScanStep(None, stripped, self.missing())
        if (chunk := shc.part_of_many(stripped, MAX_TEXT)) is not None:
            return self._add_chunk(chunk, stripped, now)
        v = verify_text(stripped, self.trust, now, clock_trusted=self._clock_trusted)
        cred = v.credential
        if (
            isinstance(cred, PassCredential)
            and cred.step is not None
            and not cred.problems
            and self._is_replay is not None
            and self._is_replay(cred)
        ):
            cred = replace(cred, replayed=True)
        self._credentials.append(cred)
        return ScanStep(v, None, self.missing())

    def _add_chunk(self, chunk: shc.Chunk, text: str, now: float) -> ScanStep:
        if self._chunks.total != chunk.total:
            self._chunk_texts = []
        self._chunk_texts.append(text)
        if not self._chunks.add(chunk):
            return ScanStep(None, None, self.missing())
        joined = "\n".join(sorted(set(self._chunk_texts)))
        jws = self._chunks.jws()
        self._chunks = shc.ChunkAssembler()
        self._chunk_texts = []
        v = verify_shc_jws(jws, joined, self.trust, now, clock_trusted=self._clock_trusted)
        self._credentials.append(v.credential)
        return ScanStep(v, None, self.missing())

    def offer(self, credential: Credential) -> None:
        """Add a credential obtained elsewhere (the online health-code answer)."""
        if isinstance(credential, HealthCodeCredential):
            self._pending_online = False
        self._credentials.append(credential)

    def decide(
        self,
        lists: ListsSnapshot,
        now: float,
        *,
        temperature_c: float | None = None,
        guard_confirmed: bool = False,
    ) -> Decision | None:
        """The decision once :meth:`ready`; None before. Taken once, then repeated."""
        if self._decision is None and self.ready(now):
            self._temperature = temperature_c
            creds = list(self._credentials)
            if self._chunk_texts:  # the window ended before every part was shown
                h = code_hash("\n".join(sorted(set(self._chunk_texts))))
                creds.append(HealthCredential("SHC", (), h, (Reason.CHUNKS_INCOMPLETE,)))
            self._decision = decide(
                creds,
                lists,
                self.rules,
                now,
                self.direction,
                temperature_c=temperature_c,
                clock_trusted=self._clock_trusted,
                guard_confirmed=guard_confirmed,
            )
            if borderline(self.rules, temperature_c):
                self._decision = hold_for_guard(
                    self._decision, Reason.TEMPERATURE_HIGH, guard_confirmed
                )
            if self._awaits_household():
                self._decision = hold_for_household(
                    self._decision, self.rules.visitor_confirmation, guard_confirmed
                )
        return self._decision

    def _awaits_household(self) -> bool:
        if self._unconfirmed is None:
            return False
        p = next((c for c in self._credentials if isinstance(c, PassCredential)), None)
        return (
            p is not None
            and p.role is Role.VISITOR
            and p.registered
            and not p.problems
            and self._unconfirmed(p)
        )

    def confirm(self, lists: ListsSnapshot, now: float) -> Decision | None:
        """A guard confirmed or registered the person: decide again if a guard could help."""
        if self._decision is not None and self._decision.needs_guard:
            self._decision = None
            return self.decide(lists, now, temperature_c=self._temperature, guard_confirmed=True)
        return self._decision

    @property
    def awaiting_online(self) -> bool:
        """A health code was handed out for an online check and no answer was offered yet."""
        return self._pending_online


def borderline(rules: Rules, temperature_c: float | None) -> bool:
    """A reading in the profile's borderline band: under the fever threshold, at or above
    ``temperature_borderline_c`` (a guard re-measures before the person goes in)."""
    band = rules.temperature_borderline_c
    return (
        band is not None
        and rules.temperature is not Mode.OFF
        and temperature_c is not None
        and not math.isnan(temperature_c)
        and band <= temperature_c < rules.temperature_threshold_c
    )


def hold_for_guard(decision: Decision, why: Reason, guard_confirmed: bool) -> Decision:
    """``decision`` with a refusal ``why`` that a guard's confirmation lifts (pure)."""
    return hold_for_household(decision, Mode.GUARD, guard_confirmed, why)


def hold_for_household(
    decision: Decision,
    mode: Mode,
    guard_confirmed: bool,
    why: Reason = Reason.VISITOR_REGISTRATION_REQUIRED,
) -> Decision:
    """``decision`` for a visitor whose household has not confirmed the visit yet (pure).

    ``guard``: refused with VISITOR_REGISTRATION_REQUIRED, which a guard's confirmation
    lifts (``needs_guard``); ``hard``: refused, no guard can lift it; ``soft``: allowed and
    flagged; ``off``: unchanged. A refusal for other reasons keeps them, and stays one a
    guard cannot lift if it was.
    """
    if mode is Mode.OFF:
        return decision
    if mode is Mode.SOFT:
        return replace(decision, flags=_once((*decision.flags, why)))
    if mode is Mode.GUARD and guard_confirmed:
        if not decision.allow:
            return decision
        return replace(decision, flags=_once((*decision.flags, why, Reason.GUARD_CONFIRMED)))
    needs_guard = mode is Mode.GUARD and (decision.allow or decision.needs_guard)
    return replace(
        decision,
        allow=False,
        reasons=_once((*decision.reasons, why)),
        needs_guard=needs_guard,
    )


def _once(reasons: tuple[Reason, ...]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))
