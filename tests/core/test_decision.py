"""The pure decision core, row by row."""

from __future__ import annotations

from dataclasses import replace

import pytest
from passkit import NOW

from edge.gate.credentials.verified import PassCredential, Role, UnreadableCredential
from edge.gate.reasons import SENTENCES, Reason, sentence
from edge.gate.rules.decision import decide
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Direction, Rules

BASE = PassCredential(
    pass_id="P-1",
    holder="h-1",
    building="3",
    unit="2",
    room="501",
    role=Role.RESIDENT,
    valid_from=int(NOW) - 10,
    valid_until=int(NOW) + 10,
)


@pytest.mark.parametrize(
    ("cred", "direction", "allow", "reasons"),
    [
        (BASE, Direction.IN, True, ()),
        (BASE, Direction.OUT, True, ()),
        (replace(BASE, problems=(Reason.EXPIRED,)), Direction.IN, False, (Reason.EXPIRED,)),
        (replace(BASE, pass_id="P-REVOKED"), Direction.IN, False, (Reason.REVOKED,)),
        (replace(BASE, room="601"), Direction.OUT, False, (Reason.QUARANTINE_NO_EXIT,)),
        (replace(BASE, room="601"), Direction.IN, True, ()),
        (replace(BASE, role=Role.VISITOR), Direction.IN, False, (Reason.ROLE_NOT_ALLOWED,)),
        (replace(BASE, role=Role.VISITOR), Direction.OUT, True, ()),
        (replace(BASE, replayed=True), Direction.IN, False, (Reason.DYNAMIC_CODE_REPLAYED,)),
        (
            replace(BASE, pass_id="P-REVOKED", problems=(Reason.BAD_SIGNATURE,)),
            Direction.IN,
            False,
            (Reason.BAD_SIGNATURE, Reason.REVOKED),
        ),
    ],
)
def test_decision_table(
    lists: ListsSnapshot,
    cred: PassCredential,
    direction: Direction,
    allow: bool,
    reasons: tuple[Reason, ...],
) -> None:
    d = decide([cred], lists, Rules(), NOW, direction)
    assert d.allow is allow
    assert d.reasons == reasons


def test_no_credential(lists: ListsSnapshot) -> None:
    d = decide([], lists, Rules(), NOW, Direction.IN)
    assert not d.allow and d.reasons == (Reason.NO_CREDENTIAL,)


def test_unreadable_credential_keeps_its_reason(lists: ListsSnapshot) -> None:
    d = decide([UnreadableCredential("UNKNOWN", "abc")], lists, Rules(), NOW, Direction.IN)
    assert not d.allow and d.reasons == (Reason.UNKNOWN_FORMAT,)


def test_unregistered_household_only_refused_when_rules_say_so(lists: ListsSnapshot) -> None:
    stranger = replace(BASE, room="999")
    assert decide([stranger], lists, Rules(), NOW, Direction.IN).allow
    strict = Rules(require_registered_household=True)
    d = decide([stranger], lists, strict, NOW, Direction.IN)
    assert d.reasons == (Reason.HOUSEHOLD_UNKNOWN,)


def test_every_reason_has_both_sentences() -> None:
    for reason in Reason:
        assert reason in SENTENCES, reason
        assert sentence(reason, "zh") and sentence(reason, "en")
        assert sentence(reason, "zh") != sentence(reason, "en")


def test_refusal_sentence_is_the_first_reason(lists: ListsSnapshot) -> None:
    d = decide([replace(BASE, pass_id="P-REVOKED")], lists, Rules(), NOW, Direction.IN)
    assert d.sentence("en") == sentence(Reason.REVOKED, "en")
    assert decide([BASE], lists, Rules(), NOW, Direction.IN).sentence("en").startswith("Welcome")
