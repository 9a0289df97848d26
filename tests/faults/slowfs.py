"""A real slow disk for the fault tests: a FUSE passthrough filesystem over a backing folder whose
fsyncs and writes each wait a delay that can be changed while it is mounted.

Run as its own process (FUSE serves requests from its own threads; a test process that mounted
it in-process could deadlock on its own files)::

    python tests/faults/slowfs.py BACKING MOUNTPOINT --delay-file F [--log L]

``F`` lies outside the mount and holds ``SYNC_S [WRITE_S]``: seconds each fsync waits, and each
write and truncate (default: the same; missing or empty = 0). It is read at every call,
so a test slows the disk down and speeds it up by rewriting it. A real disk's write() lands in
the page cache and only the fsync waits for the device, but FUSE (without writeback caching)
hands every write to this process at once — hence the second, usually smaller, figure. FLUSH
(sent on every close() of every copy of a descriptor, also in a forked child that closes the
ones it inherited) does not wait: a local disk's close() never waits for the device, and a slow
one would stall every subprocess the gate starts (seen: 15 s in ctypes' ``ldconfig`` lookup
with a 5 s delay) — a FUSE artefact, not a slow disk. Every call
that waited is one line in ``L``: ``<wall time> <op> <seconds> <file>`` — how a test proves
the fault was real. :class:`SlowMount` starts and stops it (by its pid, then ``fusermount3 -u``).

Device-mapper's ``delay`` target would be the kernel's own slow disk, but needs dm, which a
container seldom has; FUSE needs only ``/dev/fuse`` and root (or fuse3's setuid helper).
"""

from __future__ import annotations

import argparse
import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

STAT_KEYS = (
    "st_mode",
    "st_ino",
    "st_nlink",
    "st_uid",
    "st_gid",
    "st_size",
    "st_blocks",
    "st_atime_ns",
    "st_mtime_ns",
    "st_ctime_ns",
)


class SlowFS:
    """The operations of a passthrough filesystem; mfusepy calls only the methods that exist
    (no base class: mfusepy is untyped, and everything else falls back to libfuse's defaults,
    e.g. POSIX locks kept by the kernel — enough for SQLite on one machine)."""

    use_ns = True  # times as integer nanoseconds (mfusepy's float seconds are deprecated)

    def __init__(self, backing: Path, delay_file: Path, log: Path | None) -> None:
        self.root = backing
        self.delay_file = delay_file
        self._log = log.open("a", buffering=1) if log is not None else None
        self._log_lock = threading.Lock()

    def _full(self, path: str) -> str:
        return str(self.root / path.lstrip("/"))

    def _delay(self, sync: bool) -> float:
        try:
            figures = [float(x) for x in self.delay_file.read_text().split()] or [0.0]
        except (OSError, ValueError):
            return 0.0
        return max(0.0, figures[0] if sync or len(figures) == 1 else figures[1])

    def _slow(self, op: str, path: str) -> None:
        """Wait the current delay, as a device that takes this long to answer."""
        delay = self._delay(sync=op in ("fsync", "fsyncdir"))
        if delay <= 0:
            return
        time.sleep(delay)
        if self._log is not None:
            with self._log_lock:
                self._log.write(f"{time.time():.3f} {op} {delay:.3f} {path}\n")

    # metadata
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        st = os.fstat(fh) if fh is not None else os.lstat(self._full(path))
        out: dict[str, Any] = {k: getattr(st, k) for k in STAT_KEYS if not k.endswith("_ns")}
        for key in ("st_atime", "st_mtime", "st_ctime"):
            out[key] = getattr(st, key + "_ns")
        return out

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._full(path), amode):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        return 0

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._full(path))]

    def readlink(self, path: str) -> str:
        return os.readlink(self._full(path))

    def statfs(self, path: str) -> dict[str, int]:
        sv = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files")
        return {k: int(getattr(sv, k)) for k in (*keys, "f_flag", "f_frsize", "f_namemax")}

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._full(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._full(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        if times is None:
            os.utime(self._full(path))
        else:
            os.utime(self._full(path), ns=times)
        return 0

    # names
    def mkdir(self, path: str, mode: int) -> int:
        os.mkdir(self._full(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        os.rmdir(self._full(path))
        return 0

    def unlink(self, path: str) -> int:
        os.unlink(self._full(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        os.rename(self._full(old), self._full(new))
        return 0

    def symlink(self, target: str, source: str) -> int:
        os.symlink(source, self._full(target))
        return 0

    def link(self, target: str, source: str) -> int:
        os.link(self._full(source), self._full(target))
        return 0

    # files
    def open(self, path: str, flags: int) -> int:
        return os.open(self._full(path), flags)

    def create(self, path: str, mode: int, flags: int) -> int:
        return os.open(self._full(path), flags | os.O_CREAT, mode)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._slow("write", path)
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self._slow("truncate", path)
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._full(path), length)
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0  # no wait: see the module docstring

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._slow("fsync", path)
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        self._slow("fsyncdir", path)
        return 0

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0


class SlowMount:
    """``slowfs.py`` mounted for a test: :attr:`path` is the slow disk, :meth:`slow` sets its
    delay, :meth:`slowed` reads what waited, :meth:`close` unmounts it and stops the process."""

    def __init__(self, where: Path, timeout: float = 10.0) -> None:
        self.backing = where / "backing"
        self.path = where / "slow"
        self.delay_file = where / "delay"
        self.log = where / "slowfs.log"
        self.errors = where / "slowfs.err"
        for folder in (self.backing, self.path):
            folder.mkdir(parents=True, exist_ok=True)
        self.delay_file.write_text("0")
        env = dict(os.environ, FUSE_LIBRARY_NAME="fuse3")  # not libfuse2, should both be there
        with self.errors.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, str(self.backing), str(self.path),
                 "--delay-file", str(self.delay_file), "--log", str(self.log)],
                stdout=err, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        end = time.monotonic() + timeout
        while not os.path.ismount(self.path) and self.proc.poll() is None:
            if time.monotonic() > end:
                break
            time.sleep(0.05)
        self.mounted = os.path.ismount(self.path)
        self.error = "" if self.mounted else self.errors.read_text(errors="replace").strip()
        if not self.mounted:
            self.close()

    def slow(self, sync_s: float, write_s: float | None = None) -> None:
        """Each fsync waits ``sync_s`` from now on, each write ``write_s`` (default the
        same); 0 makes the disk fast again."""
        self.delay_file.write_text(f"{sync_s} {sync_s if write_s is None else write_s}")

    def slowed(self) -> list[tuple[float, str, float, str]]:
        """(wall time it ended, op, seconds waited, file) of every call that waited."""
        out: list[tuple[float, str, float, str]] = []
        if not self.log.exists():
            return out
        for line in self.log.read_text().splitlines():
            at, op, seconds, path = line.split(" ", 3)
            out.append((float(at), op, float(seconds), path))
        return out

    def close(self) -> None:
        """Unmount (ends the FUSE loop) and wait for the process; by pid if it hangs."""
        if os.path.ismount(self.path):
            res = subprocess.run(["fusermount3", "-u", str(self.path)], capture_output=True)
            if res.returncode != 0:
                subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backing", type=Path, help="the folder that holds the files")
    parser.add_argument("mountpoint", type=Path)
    parser.add_argument("--delay-file", type=Path, required=True, help="holds SYNC_S [WRITE_S]")
    parser.add_argument("--log", type=Path, help="one line per call that waited")
    args = parser.parse_args(argv)
    import mfusepy  # loads libfuse: only in the filesystem's own process

    ops = SlowFS(args.backing.resolve(), args.delay_file, args.log)
    # foreground: the test owns this process by its pid; threads: a slow fsync of one file
    # does not hold up reads of another, as on a real device with a queue
    mfusepy.FUSE(ops, str(args.mountpoint), foreground=True, fsname="slowfs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
