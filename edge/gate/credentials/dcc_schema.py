"""The EU Digital COVID Certificate payload (``hcert``) against its JSON schema and value sets.

The checks follow the eHN DCC schema 1.3 (``DCC.combined-schema.json``: version, name, date of
birth, one vaccination / test / recovery entry and its fields) and the value sets published
with it (disease, vaccine type, product, marketing-authorisation holder, test type and
result, ISO 3166 country). Value sets grow; one that is out of date refuses a real
certificate, so they are data here, in one place, with the date they were taken.
Pure: no I/O. :func:`problems` lists what is wrong, empty when the payload conforms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

VALUE_SETS_DATE = "2023-07"  # eHN dgc-business-rules value sets, as last published

DISEASE_AGENT = frozenset({"840539006"})  # COVID-19
VACCINE_PROPHYLAXIS = frozenset(
    {"1119349007", "1119305005", "J07BX03", "29061000087103", "28531000087107"}
)
VACCINE_PRODUCT = frozenset(
    {
        "EU/1/20/1528", "EU/1/20/1507", "EU/1/21/1529", "EU/1/20/1525", "EU/1/21/1618",
        "EU/1/21/1624", "EU/1/21/1580", "EU/1/22/1709", "CVnCoV", "NVX-CoV2373", "Sputnik-V",
        "Convidecia", "EpiVacCorona", "BBIBP-CorV", "Inactivated-SARS-CoV-2-Vero-Cell",
        "CoronaVac", "Covaxin", "Covishield", "Covid-19-recombinant", "R-COVI", "CoviVac",
        "Sputnik-Light", "Hayat-Vax", "Abdala", "WIBP-CorV", "MVC-COV1901", "Soberana-02",
        "Soberana-Plus", "VLA2001", "Covovax", "COVOVAX", "NVSI-06-08", "YS-SC2-010",
        "SCTV01C", "Covifenz", "AZD2816", "EpiVacCorona-N", "QazVac", "Zifivax", "Turkovac",
        "Sinopharm-WIBP-CorV", "Vidprevtyn",
    }
)  # fmt: skip
VACCINE_HOLDER = frozenset(
    {
        "ORG-100001699", "ORG-100030215", "ORG-100001417", "ORG-100031184", "ORG-100006270",
        "ORG-100013793", "ORG-100020693", "ORG-100010771", "ORG-100024420", "ORG-100032020",
        "Gamaleya-Research-Institute", "Vector-Institute", "Sinovac-Biotech", "Bharat-Biotech",
        "ORG-100001981", "ORG-100007893", "Chumakov-Federal-Scientific-Center",
        "ORG-100023050", "CIGB", "Sinopharm-WIBP", "ORG-100033914", "ORG-100000788",
        "ORG-100036422", "Instituto-Finlay-de-Vacunas", "ORG-100026614", "NVSI", "YS-Biopharma",
        "ORG-100008359", "ORG-100023149", "ORG-100004565", "ORG-100033879",
        "Anhui-Zhifei-Longcom", "RIBSP", "Turkiye-Health-Institutes",
    }
)  # fmt: skip
TEST_TYPE = frozenset({"LP6464-4", "LP217198-3"})  # NAAT (PCR), rapid antigen test
RAPID_ANTIGEN = "LP217198-3"
TEST_RESULT = frozenset({"260415000", "260373001"})  # not detected, detected
COUNTRY = frozenset(  # ISO 3166-1 alpha-2, and XK (Kosovo) as the DCC value set has it
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS XK YE YT ZA ZM ZW
    """.split()  # noqa: SIM905
)

_VER = re.compile(r"^1\.\d{1,3}\.\d{1,3}$")  # schema major version 1
_STD_NAME = re.compile(r"^[A-Z<]{1,80}$")  # ICAO 9303 transliteration
_DOB = re.compile(r"^((19|20)\d\d(-\d\d){0,2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_TEST_DEVICE = re.compile(r"^\d{1,10}$")  # EU common list of rapid antigen test device ids
_KINDS = {"v", "t", "r"}


def _text(entry: Mapping[Any, Any], key: str, out: list[str], *, required: bool = True) -> None:
    v = entry.get(key)
    if v is None:
        if required:
            out.append(f"{key} missing")
        return
    if not isinstance(v, str) or not 0 < len(v) <= 80:
        out.append(f"{key} must be text of 1-80 characters")


def _coded(entry: Mapping[Any, Any], key: str, allowed: frozenset[str], out: list[str]) -> None:
    v = entry.get(key)
    if not isinstance(v, str) or v not in allowed:
        out.append(f"{key} {str(v)[:40]!r} is not in its value set")


def _date(entry: Mapping[Any, Any], key: str, out: list[str]) -> None:
    v = entry.get(key)
    # early schemas (and the sample time, which parse_time checks in depth) wrote numbers
    if isinstance(v, str) and not _DATE.match(v):
        out.append(f"{key} is not an ISO 8601 date")


def _common(entry: Mapping[Any, Any], out: list[str]) -> None:
    _coded(entry, "tg", DISEASE_AGENT, out)
    _coded(entry, "co", COUNTRY, out)
    _text(entry, "is", out)
    _text(entry, "ci", out)


def _vaccination(e: Mapping[Any, Any], out: list[str]) -> None:
    _common(e, out)
    _coded(e, "vp", VACCINE_PROPHYLAXIS, out)
    _coded(e, "mp", VACCINE_PRODUCT, out)
    _coded(e, "ma", VACCINE_HOLDER, out)
    for key in ("dn", "sd"):
        v = e.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 9:
            out.append(f"{key} must be a whole number 1-9")
    _date(e, "dt", out)


def _test(e: Mapping[Any, Any], out: list[str]) -> None:
    _common(e, out)
    _coded(e, "tt", TEST_TYPE, out)
    _coded(e, "tr", TEST_RESULT, out)
    _text(e, "nm", out, required=False)
    _text(e, "tc", out, required=False)
    device = e.get("ma")
    if device is None and e.get("tt") == RAPID_ANTIGEN:
        out.append("ma (test device) missing for a rapid antigen test")
    elif device is not None and not (isinstance(device, str) and _TEST_DEVICE.match(device)):
        out.append(f"ma {str(device)[:40]!r} is not a test device id")


def _recovery(e: Mapping[Any, Any], out: list[str]) -> None:
    _common(e, out)
    for key in ("fr", "df", "du"):
        if e.get(key) is None:
            out.append(f"{key} missing")
        _date(e, key, out)


def problems(hcert: Mapping[Any, Any]) -> list[str]:
    """Every way ``hcert`` departs from the DCC schema 1.x and its value sets ([] = none)."""
    out: list[str] = []
    ver = hcert.get("ver")
    if not isinstance(ver, str) or not _VER.match(ver):
        out.append(f"ver {str(ver)[:20]!r} is not a 1.x.y schema version")
    nam = hcert.get("nam")
    if not isinstance(nam, Mapping):
        out.append("nam missing")
    else:
        fnt = nam.get("fnt")
        if not isinstance(fnt, str) or not _STD_NAME.match(fnt):
            out.append("nam.fnt must be A-Z and < only, 1-80 characters")
        gnt = nam.get("gnt")
        if gnt is not None and not (isinstance(gnt, str) and _STD_NAME.match(gnt)):
            out.append("nam.gnt must be A-Z and < only, 1-80 characters")
        for key in ("fn", "gn"):
            _text(nam, key, out, required=False)
    dob = hcert.get("dob")
    if not isinstance(dob, str) or not _DOB.match(dob):
        out.append("dob is not YYYY[-MM[-DD]]")
    groups = [k for k in hcert if k in _KINDS]
    for kind in groups:
        entries = hcert[kind]
        if not isinstance(entries, list | tuple):
            out.append(f"{kind} is not a list")
            continue
        for entry in entries:
            if not isinstance(entry, Mapping):
                out.append(f"{kind} entry is not an object")
            elif kind == "v":
                _vaccination(entry, out)
            elif kind == "t":
                _test(entry, out)
            else:
                _recovery(entry, out)
    return out
