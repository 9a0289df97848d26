"""The console's HTTP server: aiohttp's low-level server on its own event loop thread.

An open connection costs a coroutine, not a thread, so slow or idle clients on the booth's
LAN cannot starve the guard's page (docs/console.md says why aiohttp). This module owns
sockets and limits: header and body timeouts, a cap on open connections and on body size,
security headers on every answer, one request per connection, the live page's server-sent
events, and binding with back-off when the port is still taken. What a request *does* is in
:mod:`edge.console.routes`, run on a small worker pool (argon2 and SQLite block).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from edge.console.context import ConsoleContext
from edge.console.exchange import SECURITY_HEADERS, Console, Exchange
from edge.console.settings import ConsoleSettings
from edge.core import limits
from edge.core.events import Event
from edge.core.ratelog import RepeatFilter
from edge.core.records import EventKind

log = logging.getLogger(__name__)
# aiohttp's own lines (malformed requests) go here, one per kind a minute: a client can
# send junk as fast as the LAN carries it.
http_log = logging.getLogger("edge.console.http")
http_log.addFilter(RepeatFilter(60.0))

MAX_BODY = limits.CONSOLE_MAX_BODY_BYTES
# A live page's stream is woken by the event itself (push); this is only how long it sleeps
# when nothing happens, before it checks its session and sends a keepalive. Seconds.
SSE_IDLE_S = 1.0
SSE_POLL_S = SSE_IDLE_S  # the old name (before the stream was push-driven)
# The console's own checks (colour changes in the lists, overdue alerts) run this often on
# the server, whether or not any page is open; an alert or a sync event runs them at once.
WATCH_S = 1.0
STOP_WAIT_S = 5.0  # at most this long for running console work at stop
BIND_FIRST_WAIT_S = 0.5  # seconds before the first retry of a taken port; doubles each time

__all__ = ["Console", "ConsoleServer", "start_console"]


class _Refuse(asyncio.Protocol):
    """Answers a connection over the cap by closing it at once (costs no coroutine)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


def _bind(host: str, port: int, retry_s: float) -> socket.socket:
    """A listening socket; a port in use is retried with back-off for up to ``retry_s``."""
    deadline = time.monotonic() + retry_s
    wait = BIND_FIRST_WAIT_S
    attempt = 1
    while True:
        try:
            return socket.create_server((host, port), backlog=256, reuse_port=False)
        except OSError as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                log.error(
                    "console: cannot listen on %s:%s after %d tries: %s", host, port, attempt, exc
                )
                raise
            pause = min(wait, left)
            log.warning(
                "console: %s:%s unavailable (%s); retry %d in %.1f s",
                host,
                port,
                exc,
                attempt,
                pause,
            )
            time.sleep(pause)
            wait *= 2
            attempt += 1


class ConsoleServer:
    """A running console. ``url`` is where to point the browser; ``stop()`` shuts it down.

    The constructor binds the port (retrying a taken one for ``settings.bind_retry_s``) and
    raises OSError if it stays taken; ``start()`` begins serving on a background thread.
    """

    def __init__(self, ctx: ConsoleContext, settings: ConsoleSettings) -> None:
        self.console = Console(ctx, settings)
        self.settings = settings
        self._sock = _bind(settings.bind, settings.port, settings.bind_retry_s)
        self._loop = asyncio.new_event_loop()
        self._workers = ThreadPoolExecutor(limits.CONSOLE_WORKERS, thread_name_prefix="console")
        self._thread = threading.Thread(target=self._run, name="console-http", daemon=True)
        self._ready = threading.Event()
        self._stopping = False
        self._server: web.Server | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._reaper: asyncio.Task[None]
        self._watcher: asyncio.Task[None] | None = None
        self._watch_now: asyncio.Event | None = None  # set from the bus: run the checks now
        # when each connection opened, until its request headers arrive (or it is reaped)
        self._opened: dict[RequestHandler, float] = {}

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown!s}:{port}/"

    @property
    def open_connections(self) -> int:
        return len(self._server.connections) if self._server else 0

    def start(self) -> ConsoleServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("console server did not start")
        log.info("guard console at %s", self.url)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            self._sock.close()
            return
        self._stopping = True
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        with contextlib.suppress(Exception):
            fut.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        # Work already running (a check writing an escalation, a request's store write) is
        # let finish before the caller closes the store under it; queued work is dropped. A
        # worker stuck on a hung disk must not hold the gate's stop: the wait is bounded.
        waiter = threading.Thread(
            target=self._workers.shutdown,
            kwargs={"wait": True, "cancel_futures": True},
            name="console-stop",
            daemon=True,
        )
        waiter.start()
        waiter.join(timeout=STOP_WAIT_S)

    # --- the loop thread ----------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._server = web.Server(
            self._handle,
            max_line_size=limits.CONSOLE_MAX_LINE_BYTES,
            max_field_size=limits.CONSOLE_MAX_LINE_BYTES,
            max_headers=limits.CONSOLE_MAX_HEADERS,
            keepalive_timeout=limits.CONSOLE_HEADER_TIMEOUT_S,
            lingering_time=0.0,  # never wait to drain a body we refused
            access_log=None,
            logger=http_log,
        )
        server = self._server

        def factory() -> asyncio.Protocol:
            if len(server.connections) >= limits.CONSOLE_MAX_CONNECTIONS:
                return _Refuse()
            proto = server()
            self._opened[proto] = self._loop.time()
            return proto

        self._listener = await self._loop.create_server(factory, sock=self._sock)
        self._reaper = self._loop.create_task(self._reap())
        self._watch_now = asyncio.Event()
        self._watcher = self._loop.create_task(self._watch())
        self.console.ctx.events.on(self._nudge_watch)

    def _nudge_watch(self, event: Event) -> None:
        """Bus callback (publisher's thread): an alert or a lists/sync change is checked at
        once rather than at the next tick. Only hands a wake-up to the loop; never blocks."""
        if self._stopping or event.kind not in (EventKind.ALERT, EventKind.SYNC):
            return
        wake = self._watch_now
        if wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(wake.set)

    async def _watch(self) -> None:
        """The console's checks on the server: a colour change in the synced lists warns the
        guards and an alert left unacknowledged escalates to the platform with no browser
        open (a booth PC switched off must not stop either)."""
        from edge.console import watch

        assert self._watch_now is not None
        con = self.console
        while not self._stopping:
            try:
                await self._loop.run_in_executor(self._workers, con.ctx.housekeeping)
                await self._loop.run_in_executor(
                    self._workers, lambda: watch.check(con, con.ctx.now())
                )
            except Exception:  # a failed check is retried at the next tick, never fatal
                log.exception("console: watch check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._watch_now.wait(), WATCH_S)
            self._watch_now.clear()

    async def _reap(self) -> None:
        """Close connections whose request headers did not arrive within the timeout: a
        slow client dripping header lines holds nothing for longer than that."""
        while not self._stopping:
            await asyncio.sleep(1.0)
            now = self._loop.time()
            for proto, opened in list(self._opened.items()):
                if now - opened > limits.CONSOLE_HEADER_TIMEOUT_S:
                    self._opened.pop(proto, None)
                    proto.force_close()
                    if proto.transport is not None:
                        proto.transport.close()

    async def _shutdown(self) -> None:
        for task in (self._reaper, self._watcher):
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._listener is not None:
            self._listener.close()
        if self._server is not None:
            await self._server.shutdown(timeout=2.0)

    # --- one request --------------------------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self._opened.pop(request.protocol, None)  # headers in: the header timeout is met
        try:
            answer = await self._answer(request)
        except Exception:
            log.exception("console: %s %s failed", request.method, request.path_qs)
            answer = _json(500, b'{"ok":false,"error":"internal","message":"server error"}')
        answer.force_close()  # one request per connection, as the page expects
        return answer

    async def _answer(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD", "POST"):
            return _json(405, b'{"ok":false,"error":"method","message":"method not allowed"}')
        body = b""
        if request.method == "POST":
            length = request.content_length
            if length is None:
                return _json(411, b'{"ok":false,"error":"length","message":"length required"}')
            if length > MAX_BODY:
                return _json(413, b'{"ok":false,"error":"too_large","message":"request too large"}')
            try:
                body = await asyncio.wait_for(
                    request.content.readexactly(length), limits.CONSOLE_BODY_TIMEOUT_S
                )
            except (TimeoutError, asyncio.IncompleteReadError):
                return _json(408, b'{"ok":false,"error":"timeout","message":"body too slow"}')
        peer = request.transport.get_extra_info("peername") if request.transport else None
        ex = Exchange(
            console=self.console,
            command=request.method,
            path=request.path_qs,
            headers=request.headers,
            client_address=(str(peer[0]), int(peer[1])) if peer else ("", 0),
            body=body,
        )
        method = "GET" if request.method == "HEAD" else request.method
        await self._loop.run_in_executor(self._workers, _dispatch, ex, method)
        if ex.stream is not None:
            return await self._stream(request, ex)
        answer = ex.answer
        if answer is None:
            return _json(500, b'{"ok":false,"error":"internal","message":"no answer"}')
        headers = {"Cache-Control": "no-store", **SECURITY_HEADERS, **answer.headers}
        return web.Response(
            status=answer.status,
            body=answer.body,
            headers={"Content-Type": answer.ctype, **headers},
        )

    async def _stream(self, request: web.BaseRequest, ex: Exchange) -> web.StreamResponse:
        """Server-sent events for the Live page while its session lives."""
        from edge.console.routes import KEEPALIVE_S, sse_frame

        con = self.console
        session = ex.stream
        assert session is not None
        if not con.streams.acquire(blocking=False):
            return _json(503, b'{"ok":false,"error":"busy","message":"too many live pages open"}')
        resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                **SECURITY_HEADERS,
            },
        )
        sub = con.ctx.events.subscribe(maxsize=200)
        # The publisher wakes this stream (push): a decision reaches the kiosk as soon as it
        # is published, not at the next look at the queue.
        wake = asyncio.Event()

        def notify() -> None:
            self._loop.call_soon_threadsafe(wake.set)

        sub.notify = notify
        try:
            await resp.prepare(request)
            await resp.write(b"retry: 2000\n\n")
            quiet_since = self._loop.time()
            while not self._stopping and con.sessions.alive(session):
                event = sub.get(timeout=0)
                if event is None:
                    if self._loop.time() - quiet_since >= KEEPALIVE_S:
                        await resp.write(b": keepalive\n\n")
                        quiet_since = self._loop.time()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), SSE_IDLE_S)
                    wake.clear()
                    continue
                frame = sse_frame(con, event)
                if frame is not None:
                    await resp.write(frame)
                    quiet_since = self._loop.time()
            if not self._stopping:
                await resp.write(b"event: expired\ndata: {}\n\n")
        except ConnectionError:
            pass  # the browser went away; nothing more to send
        finally:
            sub.notify = None
            sub.close()
            con.streams.release()
        return resp


def _dispatch(ex: Exchange, method: str) -> None:
    from edge.console.routes import dispatch

    dispatch(ex, method, urlsplit(ex.path).path)


def _json(status: int, body: bytes) -> web.Response:
    headers = {"Cache-Control": "no-store", **SECURITY_HEADERS}
    return web.Response(
        status=status, body=body, content_type="application/json", charset="utf-8", headers=headers
    )


def start_console(ctx: ConsoleContext, settings: ConsoleSettings) -> ConsoleServer:
    """Serve the console for ``ctx`` in a background thread; raises OSError if the port stays
    busy for ``settings.bind_retry_s``."""
    return ConsoleServer(ctx, settings).start()
