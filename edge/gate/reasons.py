"""Reason codes for every gate outcome, with the sentence shown to the person at the door.

A code is stable (records, sync, statistics use it); the sentences are short enough for a
small screen and plain enough for an old resident.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Sentence(NamedTuple):
    zh: str
    en: str


class Reason(StrEnum):
    # reading and format
    NO_CREDENTIAL = "NO_CREDENTIAL"
    UNREADABLE_CODE = "UNREADABLE_CODE"
    UNKNOWN_FORMAT = "UNKNOWN_FORMAT"
    MALFORMED = "MALFORMED"
    TOO_LARGE = "TOO_LARGE"
    # trust and validity
    UNKNOWN_KEY = "UNKNOWN_KEY"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    DYNAMIC_CODE_STALE = "DYNAMIC_CODE_STALE"
    DYNAMIC_CODE_REPLAYED = "DYNAMIC_CODE_REPLAYED"
    CLOCK_UNTRUSTED = "CLOCK_UNTRUSTED"
    # community rules
    ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED"
    HOUSEHOLD_UNKNOWN = "HOUSEHOLD_UNKNOWN"
    QUARANTINE_NO_EXIT = "QUARANTINE_NO_EXIT"
    SEALED_AREA = "SEALED_AREA"


SENTENCES: dict[Reason, Sentence] = {
    Reason.NO_CREDENTIAL: Sentence("请出示出入证二维码", "Please show your community pass QR code"),
    Reason.UNREADABLE_CODE: Sentence("二维码无法识别，请重试", "Code could not be read, please try again"),
    Reason.UNKNOWN_FORMAT: Sentence("不是本小区的出入证", "This is not a community pass"),
    Reason.MALFORMED: Sentence("二维码内容损坏", "The code is damaged or incomplete"),
    Reason.TOO_LARGE: Sentence("二维码内容过大，无法接受", "The code is too large to accept"),
    Reason.UNKNOWN_KEY: Sentence("签发机构未登记", "The issuer of this code is not known here"),
    Reason.BAD_SIGNATURE: Sentence("出入证验证失败（疑似伪造）", "Signature check failed (possibly forged)"),
    Reason.NOT_YET_VALID: Sentence("出入证尚未生效", "This pass is not valid yet"),
    Reason.EXPIRED: Sentence("出入证已过期", "This pass has expired"),
    Reason.REVOKED: Sentence("出入证已被注销", "This pass has been revoked"),
    Reason.DYNAMIC_CODE_STALE: Sentence(
        "动态码已失效，请刷新后重试", "This dynamic code is out of date, please refresh it"
    ),
    Reason.DYNAMIC_CODE_REPLAYED: Sentence(
        "该动态码已使用过，请勿使用截图", "This code was already used: screenshots are not accepted"
    ),
    Reason.CLOCK_UNTRUSTED: Sentence(
        "门禁时间未校准，请联系值班人员", "Gate clock not synchronised, please ask the guard"
    ),
    Reason.ROLE_NOT_ALLOWED: Sentence("您的身份类别不能通行", "Your pass type may not pass here"),
    Reason.HOUSEHOLD_UNKNOWN: Sentence("住户信息未登记", "Your household is not registered here"),
    Reason.QUARANTINE_NO_EXIT: Sentence(
        "居家隔离期间不能外出，请联系社区", "Home quarantine: you may not go out, please call the community"
    ),
    Reason.SEALED_AREA: Sentence("封控区只允许本区居民进入", "Sealed area: residents only"),
}


def sentence(reason: Reason, lang: str = "zh") -> str:
    """The sentence for ``reason`` in ``lang`` ("zh" or "en")."""
    s = SENTENCES[reason]
    return s.en if lang == "en" else s.zh
