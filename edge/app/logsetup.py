"""Logging for the long-running service: journald-friendly, and never a secret or a raw code.

Under systemd (``JOURNAL_STREAM`` or ``INVOCATION_ID`` in the environment) stderr goes to the
journal, which stamps every line itself: we drop our timestamp and prefix each line with the
syslog priority ``<N>`` so ``journalctl -p warning`` works. In a terminal, lines carry a
timestamp.

A filter on the handler scrubs what must never reach a log: raw pass and health-code text
(``CP1:…``, ``HC1:…``), PEM key blocks, ``password=…``-style assignments and long opaque
tokens. Records keep only hashes (see :mod:`edge.store.sqlite`); logs must be no weaker.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

# (pattern, replacement) applied to every formatted message, in order.
REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"-----BEGIN [A-Z ]+-----.*?(-----END [A-Z ]+-----|$)", re.S),
        "[redacted key]",
    ),
    (re.compile(r"\b(CP1|HC1):\S+"), r"\1:[redacted]"),
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|token|api[_-]?key|private[_-]?key)(\s*[=:]\s*)\S+"
        ),
        r"\1\2[redacted]",
    ),
    # Base45/base64-ish runs of 40+ chars: a code or key pasted somewhere unexpected. '/' and
    # '.' are left out so file paths in tracebacks survive; hex runs (hashes) are kept below.
    (re.compile(r"[A-Za-z0-9+$%*:_=-]{40,}"), "[redacted token]"),
]
_HEX = re.compile(r"[0-9a-f]+")

# Python level → syslog priority understood by journald's SyslogLevelPrefix=yes.
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def redact(text: str) -> str:
    """``text`` with secrets and raw codes replaced by markers."""
    for pattern, replacement in REDACTIONS[:-1]:
        text = pattern.sub(replacement, text)
    token, marker = REDACTIONS[-1]
    # sha256 digests and record hashes are not secrets and help operators: keep hex runs.
    return token.sub(lambda m: m[0] if _HEX.fullmatch(m[0]) else marker, text)


def under_systemd(env: Mapping[str, str] | None = None) -> bool:
    """True when stderr is the journal (started by systemd)."""
    env = os.environ if env is None else env
    return bool(env.get("JOURNAL_STREAM") or env.get("INVOCATION_ID"))


class RedactingFormatter(logging.Formatter):
    """Formats a record, then scrubs it (including exception text)."""

    def __init__(self, journal: bool) -> None:
        fmt = "%(levelname)s %(name)s: %(message)s"
        if not journal:
            fmt = "%(asctime)s " + fmt
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))
        if self.journal:
            # Continuation lines of a traceback get the same priority as the first one.
            prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
            text = "\n".join(prefix + line for line in text.splitlines())
        return text


def setup_logging(
    verbose: bool = False, stream: TextIO | None = None, env: Mapping[str, str] | None = None
) -> bool:
    """Replace the root handlers with one redacting handler; returns True under systemd."""
    journal = under_systemd(env)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(journal))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("edge").setLevel(logging.NOTSET)  # one level for the whole service
    return journal


__all__ = ["RedactingFormatter", "redact", "setup_logging", "under_systemd"]
