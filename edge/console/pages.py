"""Page rendering: packaged templates and static files, with zh/en text per user.

Templates are plain HTML with ``{{t:key}}`` for translated text and ``{{name}}`` for values;
every value is HTML-escaped here, so a household key or a user name can never inject markup.
The JavaScript gets its strings as a JSON data block (not executed, so the strict
Content-Security-Policy without inline scripts still holds).
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from edge.console.auth import Session

PAGES = ("live", "visitors", "history", "cameras", "households", "health")
_TOKEN = re.compile(r"\{\{(t:)?([a-z0-9_]+)\}\}")
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".wav": "audio/wav",
}


@cache
def strings() -> dict[str, dict[str, str]]:
    """All console text: ``{"en": {...}, "zh": {...}}``."""
    text = resources.files("edge.console").joinpath("static/i18n.json").read_text("utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


def t(lang: str, key: str) -> str:
    """The text for ``key`` in ``lang`` (English, then the key itself, as fallbacks)."""
    table = strings()
    return table.get(lang, {}).get(key) or table["en"].get(key, key)


@cache
def _template(name: str) -> str:
    return resources.files("edge.console").joinpath(f"templates/{name}.html").read_text("utf-8")


@cache
def static_files() -> dict[str, tuple[bytes, str]]:
    """Every file under ``static/`` by name, with its content type (read once: they are small)."""
    out: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files("edge.console").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _TYPES:
            out[entry.name] = (entry.read_bytes(), _TYPES[suffix])
    return out


def render(name: str, lang: str, values: dict[str, str]) -> str:
    """Fill template ``name``: ``{{t:key}}`` → text, ``{{name}}`` → escaped value.

    Values listed in ``values`` under a key starting with ``raw_`` are inserted as is (used
    only for markup this module built itself).
    """

    def fill(m: re.Match[str]) -> str:
        if m.group(1):
            return html.escape(t(lang, m.group(2)))
        key = m.group(2)
        if key.startswith("raw_"):
            return values.get(key, "")
        return html.escape(values.get(key, ""))

    return _TOKEN.sub(fill, _template(name))


def _json_block(data: Any) -> str:
    # "<" escaped so no string inside can close the <script> data block.
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def page(name: str, session: Session, gate_name: str, extra: dict[str, str]) -> str:
    """A logged-in page: the shared layout around the page's own template."""
    lang, user = session.user.lang, session.user
    nav = "".join(
        f'<a href="/{p}" class="{"active" if p == name else ""}" data-nav="{p}">'
        f"{html.escape(t(lang, 'nav_' + p))}</a>"
        for p in PAGES
    )
    if name == "history":  # the reason filter: every code with its sentence, for the select
        from edge.gate.reasons import Reason, sentence

        reasons = [[r.value, sentence(r, lang)] for r in Reason]
        extra = {**extra, "raw_reasons": _json_block(reasons)}
    body = render(name, lang, extra)
    return render(
        "layout",
        lang,
        {
            "lang": lang,
            "page": name,
            "gate_name": gate_name,
            "user": user.name,
            "role": user.role,
            "role_label": t(lang, "role_" + user.role),
            "csrf": session.csrf,
            "raw_nav": nav,
            "raw_body": body,
            "raw_i18n": _json_block(strings().get(lang, strings()["en"])),
            **{k: v for k, v in extra.items() if not k.startswith("raw_")},
        },
    )


def kiosk_page(gate_name: str, csrf: str) -> str:
    """The resident's screen: bilingual (Chinese first), no navigation, no guard controls."""
    from edge.console.booth import kiosk_table

    values = {"lang": "zh", "gate_name": gate_name, "csrf": csrf}
    return render("kiosk", "zh", {**values, "raw_table": _json_block(kiosk_table())})


def login_page(
    lang: str, gate_name: str, pre_csrf: str, message: str = "", username: str = ""
) -> str:
    """The login form; ``message`` is already translated text (everything is escaped here)."""
    values = {"lang": lang, "gate_name": gate_name, "csrf": pre_csrf, "message": message}
    return render("login", lang, {**values, "username": username[:32]})
