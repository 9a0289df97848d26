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
    INVALID_TEXT = "INVALID_TEXT"  # not valid Unicode (lone surrogates, undecodable bytes)
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
    # health credential formats (HC1, SHC)
    BAD_BASE45 = "BAD_BASE45"
    BAD_COMPRESSION = "BAD_COMPRESSION"
    BAD_CBOR = "BAD_CBOR"
    BAD_COSE = "BAD_COSE"
    BAD_CLAIMS = "BAD_CLAIMS"
    BAD_NUMERIC = "BAD_NUMERIC"
    BAD_JWS = "BAD_JWS"
    BAD_DATE = "BAD_DATE"
    UNSUPPORTED_ALGORITHM = "UNSUPPORTED_ALGORITHM"
    ENTRY_COUNT = "ENTRY_COUNT"
    CHUNKS_INCOMPLETE = "CHUNKS_INCOMPLETE"
    SCHEMA_INVALID = "SCHEMA_INVALID"  # HC1 payload against the EU DCC schema and value sets
    # health credential trust and validity
    KEY_USAGE_MISMATCH = "KEY_USAGE_MISMATCH"
    ISSUER_MISMATCH = "ISSUER_MISMATCH"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID"
    CERT_EXPIRED = "CERT_EXPIRED"
    CERT_REVOKED = "CERT_REVOKED"
    # health rules
    HEALTH_CODE_REQUIRED = "HEALTH_CODE_REQUIRED"
    HEALTH_CODE_YELLOW = "HEALTH_CODE_YELLOW"
    HEALTH_CODE_RED = "HEALTH_CODE_RED"
    HEALTH_CODE_EXPIRED = "HEALTH_CODE_EXPIRED"
    HEALTH_CODE_NOT_FOUND = "HEALTH_CODE_NOT_FOUND"
    HEALTH_CODE_UNAVAILABLE = "HEALTH_CODE_UNAVAILABLE"
    TEST_REQUIRED = "TEST_REQUIRED"
    TEST_TOO_OLD = "TEST_TOO_OLD"
    TEST_POSITIVE = "TEST_POSITIVE"
    TEST_IN_FUTURE = "TEST_IN_FUTURE"
    VACCINATION_REQUIRED = "VACCINATION_REQUIRED"
    VACCINATION_INCOMPLETE = "VACCINATION_INCOMPLETE"
    TEMPERATURE_HIGH = "TEMPERATURE_HIGH"
    TEMPERATURE_UNAVAILABLE = "TEMPERATURE_UNAVAILABLE"
    # resident colour classes (分色)
    COLOUR_RED = "COLOUR_RED"
    COLOUR_YELLOW = "COLOUR_YELLOW"
    COLOUR_BLUE = "COLOUR_BLUE"
    COLOUR_GREY = "COLOUR_GREY"
    COLOUR_BLACK = "COLOUR_BLACK"
    # household status and visitors
    QUARANTINE_ENTRY = "QUARANTINE_ENTRY"
    QUARANTINE_VISIT = "QUARANTINE_VISIT"
    SEALED_NO_EXIT = "SEALED_NO_EXIT"
    CONTROLLED_NO_EXIT = "CONTROLLED_NO_EXIT"
    VISITOR_REGISTRATION_REQUIRED = "VISITOR_REGISTRATION_REQUIRED"
    # flags for the guard
    GUARD_ALERT = "GUARD_ALERT"
    GUARD_CONFIRMED = "GUARD_CONFIRMED"


SENTENCES: dict[Reason, Sentence] = {
    Reason.NO_CREDENTIAL: Sentence("请出示出入证二维码", "Please show your community pass QR code"),
    Reason.UNREADABLE_CODE: Sentence(
        "二维码无法识别，请重试", "Code could not be read, please try again"
    ),
    Reason.UNKNOWN_FORMAT: Sentence("不是本小区的出入证", "This is not a community pass"),
    Reason.MALFORMED: Sentence("二维码内容损坏", "The code is damaged or incomplete"),
    Reason.TOO_LARGE: Sentence("二维码内容过大，无法接受", "The code is too large to accept"),
    Reason.INVALID_TEXT: Sentence(
        "二维码内容含无效字符，无法识别", "The code contains invalid characters"
    ),
    Reason.UNKNOWN_KEY: Sentence("签发机构未登记", "The issuer of this code is not known here"),
    Reason.BAD_SIGNATURE: Sentence(
        "出入证验证失败（疑似伪造）", "Signature check failed (possibly forged)"
    ),
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
        "居家隔离期间不能外出，请联系社区",
        "Home quarantine: you may not go out, please call the community",
    ),
    Reason.SEALED_AREA: Sentence("封控区只允许本区居民进入", "Sealed area: residents only"),
    Reason.BAD_BASE45: Sentence("健康证明二维码已损坏", "The health certificate code is damaged"),
    Reason.BAD_COMPRESSION: Sentence(
        "健康证明内容损坏", "The health certificate content is damaged"
    ),
    Reason.BAD_CBOR: Sentence("健康证明内容无法读取", "The health certificate cannot be read"),
    Reason.BAD_COSE: Sentence("健康证明格式错误", "The health certificate is badly formed"),
    Reason.BAD_CLAIMS: Sentence("健康证明缺少必要信息", "The health certificate is missing data"),
    Reason.BAD_NUMERIC: Sentence("健康卡二维码已损坏", "The health card code is damaged"),
    Reason.BAD_JWS: Sentence("健康卡格式错误", "The health card is badly formed"),
    Reason.SCHEMA_INVALID: Sentence(
        "健康证明内容不符合欧盟规范", "The certificate's content breaks the EU DCC rules"
    ),
    Reason.BAD_DATE: Sentence("证明中的日期无法识别", "A date in the certificate cannot be read"),
    Reason.UNSUPPORTED_ALGORITHM: Sentence(
        "不支持的签名方式", "This certificate uses an unsupported signature"
    ),
    Reason.ENTRY_COUNT: Sentence(
        "健康证明须且只能包含一项记录", "The certificate must hold exactly one record"
    ),
    Reason.CHUNKS_INCOMPLETE: Sentence(
        "请继续出示其余的二维码", "Please show the remaining parts of the code"
    ),
    Reason.KEY_USAGE_MISMATCH: Sentence(
        "签发机构无权签发此类证明", "The issuer may not sign this kind of certificate"
    ),
    Reason.ISSUER_MISMATCH: Sentence("签发机构不符", "The issuer does not match its key"),
    Reason.CERT_NOT_YET_VALID: Sentence(
        "健康证明尚未生效", "This health certificate is not valid yet"
    ),
    Reason.CERT_EXPIRED: Sentence("健康证明已过期", "This health certificate has expired"),
    Reason.CERT_REVOKED: Sentence("健康证明已被撤销", "This health certificate has been revoked"),
    Reason.HEALTH_CODE_REQUIRED: Sentence("请出示健康码", "Please show your health code"),
    Reason.HEALTH_CODE_YELLOW: Sentence(
        "健康码为黄码，不能通行", "Yellow health code: you may not pass"
    ),
    Reason.HEALTH_CODE_RED: Sentence("健康码为红码，不能通行", "Red health code: you may not pass"),
    Reason.HEALTH_CODE_EXPIRED: Sentence(
        "健康码已失效，请刷新", "Health code out of date, please refresh"
    ),
    Reason.HEALTH_CODE_NOT_FOUND: Sentence("健康码查询无结果", "Health code not found"),
    Reason.HEALTH_CODE_UNAVAILABLE: Sentence(
        "健康码暂时无法核验，请联系值班人员",
        "Health code cannot be checked now, please ask the guard",
    ),
    Reason.TEST_REQUIRED: Sentence("请出示核酸检测阴性证明", "Please show a negative test result"),
    Reason.TEST_TOO_OLD: Sentence("核酸检测结果已超时效", "Your test result is too old"),
    Reason.TEST_POSITIVE: Sentence(
        "检测结果为阳性，请联系社区", "Positive test: please call the community"
    ),
    Reason.TEST_IN_FUTURE: Sentence("检测采样时间有误", "The test sample time is in the future"),
    Reason.VACCINATION_REQUIRED: Sentence(
        "请出示疫苗接种证明", "Please show a vaccination certificate"
    ),
    Reason.VACCINATION_INCOMPLETE: Sentence("疫苗接种未完成全程", "Vaccination is not complete"),
    Reason.TEMPERATURE_HIGH: Sentence(
        "体温异常（≥37.3℃），请到值班室复测",
        "High temperature: please see the guard for a re-check",
    ),
    Reason.TEMPERATURE_UNAVAILABLE: Sentence(
        "未能测量体温，请重试", "Temperature could not be taken, please try again"
    ),
    Reason.COLOUR_RED: Sentence(
        "红色管理人员不能通行，请联系社区", "Red list: please call the community"
    ),
    Reason.COLOUR_YELLOW: Sentence(
        "黄色管理人员请到值班室登记", "Yellow list: please register with the guard"
    ),
    Reason.COLOUR_BLUE: Sentence(
        "外出人员返回，请到值班室登记", "Welcome back: please register with the guard"
    ),
    Reason.COLOUR_GREY: Sentence(
        "请到值班室更新联系信息", "Please update your contact details with the guard"
    ),
    Reason.COLOUR_BLACK: Sentence(
        "该房屋登记为空置，请到值班室核实", "This dwelling is listed empty: please see the guard"
    ),
    Reason.QUARANTINE_ENTRY: Sentence(
        "居家隔离住户返回，已通知值班人员", "Home quarantine household returning: guard informed"
    ),
    Reason.QUARANTINE_VISIT: Sentence(
        "该住户正在居家隔离，谢绝来访", "This household is in home quarantine: no visitors"
    ),
    Reason.SEALED_NO_EXIT: Sentence("封控区内人员不能外出", "Sealed area: you may not go out"),
    Reason.CONTROLLED_NO_EXIT: Sentence(
        "管控区外出须经值班人员登记", "Controlled area: going out needs the guard's registration"
    ),
    Reason.VISITOR_REGISTRATION_REQUIRED: Sentence(
        "访客请到值班室登记", "Visitors: please register with the guard"
    ),
    Reason.GUARD_ALERT: Sentence("已通知值班人员", "The guard has been alerted"),
    Reason.GUARD_CONFIRMED: Sentence("值班人员已确认", "Confirmed by the guard"),
}


def sentence(reason: Reason, lang: str = "zh") -> str:
    """The sentence for ``reason`` in ``lang`` ("zh" or "en")."""
    s = SENTENCES[reason]
    return s.en if lang == "en" else s.zh
