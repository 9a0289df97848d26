"""Console accounts, sessions and login throttling.

Accounts live in the gate's SQLite store in the console's own table, created here with
``CREATE TABLE IF NOT EXISTS`` so the store's migrations stay with the store. Passwords are
hashed with Argon2id (argon2-cffi) with one of OWASP's equivalent settings, 7 MiB and 5 passes:
the low-memory end, because the C allocator keeps freed hash memory resident per thread and a
Pi has little to spare. Hashes run one at a time on one worker thread, which also caps what a
flood of login attempts can cost. Sessions are kept in memory only: after a restart guards log in
again, which is the safe default for a booth.
"""

from __future__ import annotations

import ctypes
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.core.errors import ConsoleError
from edge.store.sqlite import Store

Role = Literal["guard", "admin"]
Lang = Literal["zh", "en"]
ROLES: tuple[Role, ...] = ("guard", "admin")
LANGS: tuple[Lang, ...] = ("zh", "en")
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MIN_PASSWORD = 8  # characters; short passwords are refused at creation, never at login
MAX_PASSWORD = 256  # characters; longer inputs are refused before hashing (cheap DoS guard)

_HASHER = PasswordHasher(time_cost=5, memory_cost=7168, parallelism=1)  # KiB of memory
# Verified when the account does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


def _libc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None
    return trim


_TRIM = _libc_trim()
# Every hash runs on this one thread: one at a time (bounded CPU under a flood of logins) and in
# one malloc arena. Run on each request's own thread, glibc kept each thread's freed 7 MiB
# resident, and four logins grew the gate by 15 MB.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-argon2")


def _trimmed(fn: Callable[[], str | bool]) -> str | bool:
    try:
        return fn()
    finally:
        if _TRIM is not None:
            _TRIM(0)  # hand the freed hash memory back to the system


def _hash(password: str) -> str:
    return str(_WORKER.submit(_trimmed, lambda: _HASHER.hash(password)).result())


def _verify(digest: str, password: str) -> bool:
    def check() -> bool:
        try:
            return bool(_HASHER.verify(digest, password))
        except (VerificationError, InvalidHashError):
            return False

    return bool(_WORKER.submit(_trimmed, check).result())


_SCHEMA = """
CREATE TABLE IF NOT EXISTS console_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,
    lang TEXT NOT NULL DEFAULT 'zh',
    created REAL NOT NULL
)
"""


def _role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise AccountError(f"role must be one of {', '.join(ROLES)}")


def _lang(value: str) -> Lang:
    return "en" if value == "en" else "zh"  # unknown stored values fall back to Chinese


@dataclass(frozen=True)
class User:
    """A console account (never carries the hash out of this module)."""

    name: str
    role: Role
    lang: Lang


class AccountError(ConsoleError, ValueError):
    """An account request that cannot be done; the message is for the person asking."""


class Accounts:
    """Guard and admin accounts in the gate store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        with store.transaction() as db:
            db.execute(_SCHEMA)

    def add(self, name: str, password: str, role: str, lang: str = "zh") -> User:
        """Create or replace an account; raises :class:`AccountError` with the reason."""
        if not NAME_RE.match(name):
            raise AccountError("name: use 1-32 letters, digits, '_', '.', '-'")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if lang not in LANGS:
            raise AccountError(f"language must be one of {', '.join(LANGS)}")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise AccountError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        digest = _hash(password)
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO console_users (name, role, hash, lang, created) VALUES (?,?,?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET role=excluded.role, hash=excluded.hash, "
                "lang=excluded.lang",
                (name, role, digest, lang, time.time()),
            )
        return User(name, _role(role), _lang(lang))

    def _row(self, name: str) -> tuple[str, str, str] | None:
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT role, hash, lang FROM console_users WHERE name=?", (name,)
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    def get(self, name: str) -> User | None:
        row = self._row(name)
        return None if row is None else User(name, _role(row[0]), _lang(row[2]))

    def verify(self, name: str, password: str) -> User | None:
        """The account when ``password`` is right, else None (same cost either way)."""
        if len(password) > MAX_PASSWORD:
            return None
        row = self._row(name) if NAME_RE.match(name) else None
        if not _verify(row[1] if row else _DUMMY_HASH, password) or row is None:
            return None
        if _HASHER.check_needs_rehash(row[1]):
            self.add(name, password, row[0], row[2])
        return User(name, _role(row[0]), _lang(row[2]))

    def set_lang(self, name: str, lang: str) -> None:
        if lang not in LANGS:
            raise AccountError(f"language must be one of {', '.join(LANGS)}")
        with self._store.transaction() as db:
            db.execute("UPDATE console_users SET lang=? WHERE name=?", (lang, name))

    @staticmethod
    def names_in(store: Store) -> list[tuple[str, str]]:
        """(name, role) of every account, without creating anything: for a store opened
        read-only (``edge-gate user list``); a store that never had accounts has none."""
        with store.transaction() as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name='console_users'").fetchone():
                rows = db.execute("SELECT name, role FROM console_users ORDER BY name").fetchall()
            else:
                rows = []
        return [(str(r[0]), str(r[1])) for r in rows]

    def names(self) -> list[tuple[str, str]]:
        """(name, role) of every account, sorted by name."""
        with self._store.transaction() as db:
            rows = db.execute("SELECT name, role FROM console_users ORDER BY name").fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]


@dataclass
class Session:
    """One logged-in browser. Times are ``monotonic()`` seconds."""

    token: str
    user: User
    csrf: str
    created: float
    seen: float


@dataclass
class Sessions:
    """In-memory sessions with an idle timeout and an absolute lifetime (seconds)."""

    idle_s: float
    max_s: float
    clock: Callable[[], float] = time.monotonic
    _by_token: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, user: User) -> Session:
        now = self.clock()
        s = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._by_token[s.token] = s
        return s

    def get(self, token: str | None) -> Session | None:
        """The live session for ``token`` (touching it), or None when unknown or expired."""
        if not token:
            return None
        now = self.clock()
        with self._lock:
            s = self._by_token.get(token)
            if s is None:
                return None
            if now - s.seen > self.idle_s or now - s.created > self.max_s:
                del self._by_token[token]
                return None
            s.seen = now
            return s

    def alive(self, s: Session) -> bool:
        """Whether ``s`` is still valid, without touching it (for long-lived streams)."""
        now = self.clock()
        with self._lock:
            known = self._by_token.get(s.token) is s
        return known and now - s.seen <= self.idle_s and now - s.created <= self.max_s

    def drop(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)

    def sweep(self) -> int:
        """Forget expired sessions nobody asks for again (run on a housekeeping timer)."""
        now = self.clock()
        with self._lock:
            dead = [
                t
                for t, s in self._by_token.items()
                if now - s.seen > self.idle_s or now - s.created > self.max_s
            ]
            for t in dead:
                del self._by_token[t]
        return len(dead)

    def __len__(self) -> int:
        return len(self._by_token)

    def set_lang(self, token: str, lang: Lang) -> None:
        with self._lock:
            s = self._by_token.get(token)
            if s is not None:
                s.user = User(s.user.name, s.user.role, lang)


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


@dataclass
class LoginThrottle:
    """Refuse logins for ``lockout_s`` after ``max_failures`` wrong tries in ``window_s``.

    Counted per account name and per client address, so one attacker cannot try many names
    and many attackers cannot hammer one name. Times are monotonic seconds.
    """

    max_failures: int
    window_s: float
    lockout_s: float
    clock: Callable[[], float] = time.monotonic
    _fails: dict[str, list[float]] = field(default_factory=dict)
    _locked: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, *keys: str) -> float:
        """Seconds until a login for these keys may be tried again (0 = allowed now)."""
        now = self.clock()
        with self._lock:
            return max([0.0] + [self._locked.get(k, 0.0) - now for k in keys])

    def begin(self, *keys: str) -> float:
        """Reserve one password check for these keys, atomically: 0 = go ahead (the attempt
        already counts as a failure until :meth:`succeeded`), else seconds to wait.

        Checking, hashing and counting as separate steps let 20 simultaneous tries all pass
        the check before any was counted; reserving first keeps the limit under concurrency.
        """
        now = self.clock()
        with self._lock:
            wait = max([0.0] + [self._locked.get(k, 0.0) - now for k in keys])
            if wait > 0:
                return wait
            self._count(keys, now)
            return 0.0

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            self._count(keys, now)

    def _count(self, keys: tuple[str, ...], now: float) -> None:
        """One failure for each key (the caller holds the lock)."""
        if len(self._fails) > 10_000:  # bounded memory under a flood of random names
            self._fails.clear()
        if len(self._locked) > 10_000:
            self._locked = {k: t for k, t in self._locked.items() if t > now}
        for k in keys:
            recent = [t for t in self._fails.get(k, []) if now - t < self.window_s]
            recent.append(now)
            self._fails[k] = recent
            if len(recent) >= self.max_failures:
                self._locked[k] = now + self.lockout_s
                self._fails[k] = []

    def sweep(self) -> int:
        """Forget failures older than the window and lockouts that ended; returns how many
        keys went (run on a housekeeping timer)."""
        now = self.clock()
        with self._lock:
            before = len(self._fails) + len(self._locked)
            self._fails = {
                k: kept
                for k, ts in self._fails.items()
                if (kept := [t for t in ts if now - t < self.window_s])
            }
            self._locked = {k: t for k, t in self._locked.items() if t > now}
            return before - len(self._fails) - len(self._locked)

    def __len__(self) -> int:
        return len(self._fails) + len(self._locked)

    def succeeded(self, *keys: str) -> None:
        """The right password: forget the failures (and a lockout the reservation of this
        very attempt may have set)."""
        with self._lock:
            for k in keys:
                self._fails.pop(k, None)
                self._locked.pop(k, None)
