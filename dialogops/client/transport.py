"""The transport under `dialogops.client`: a total deadline per request, bounded reads.

requests and urllib3 time out each socket operation, so a server trickling one byte a
second never times out. Each request runs under a `Deadline`: a timer that, when the
request's time is up, shuts down the socket its connection uses, which wakes any send or
receive at once. Connections bind to the deadline of the thread that uses them and are
unbound when they go back to the pool, so a timer never touches another request's socket.

`AnswerBody` reads a 2xx answer decoded and size-capped, under that deadline; `Upload`
streams a request body from a file.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import IO, Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from dialogops.errors import ApiError
from dialogops.masking import redact

# Decoded sizes read at most: a create answers `{"campaign": {"id": N}}` (about 30 bytes)
# and an error a message; only a report is large, and it is streamed, never held.
MAX_ANSWER_BYTES = 16 * 1024
MAX_ERROR_BYTES = 64 * 1024
MAX_REPORT_BYTES = 2 * 1024**3
_CHUNK = 64 * 1024

_current = threading.local()
_binding = threading.Lock()


class Deadline:
    """The whole time one request may take, sending and answer included."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.sent = False  # whether the request started to be written: then it may have arrived
        self._connections: list[HTTPConnection] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()
        _current.deadline = None
        with _binding:
            for connection in self._connections:
                _bound.pop(connection, None)

    def _expire(self) -> None:
        with _binding:
            self.expired = True
            for connection in self._connections:
                if _bound.get(connection) is self:
                    _shut(connection)


_bound: weakref.WeakKeyDictionary[HTTPConnection, Deadline] = weakref.WeakKeyDictionary()


def _shut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _bind(connection: HTTPConnection, *, sending: bool) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is None:
        return
    with _binding:
        if _bound.get(connection) is not deadline:
            _bound[connection] = deadline
            deadline._connections.append(connection)
        deadline.sent = deadline.sent or sending
        if deadline.expired:
            _shut(connection)


def _unbind(connection: object) -> None:
    if isinstance(connection, HTTPConnection):  # urllib3 puts back None for a dead one
        with _binding:
            _bound.pop(connection, None)


class _HTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _bind(self, sending=False)

    def request(self, *args: Any, **kwargs: Any) -> None:
        # Connected first, so that `sent` means the request itself started to go out.
        if self.sock is None:
            self.connect()
        _bind(self, sending=True)
        super().request(*args, **kwargs)


class _HTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()  # the TLS handshake: a failure here means nothing was sent
        _bind(self, sending=False)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is None:
            self.connect()
        _bind(self, sending=True)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection

    def _put_conn(self, conn: Any) -> None:
        _unbind(conn)
        super()._put_conn(conn)


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection

    def _put_conn(self, conn: Any) -> None:
        _unbind(conn)
        super()._put_conn(conn)


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


class Adapter(HTTPAdapter):
    """requests' adapter, with connections that honour the request's total deadline."""

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


class Upload:
    """A request body streamed from a file of known size (read from where it stands).

    Its `__len__` gives requests the Content-Length; left to find it, requests would ask a
    spooled temporary file for its descriptor, which moves the file to disk.
    """

    def __init__(self, file: IO[bytes], size: int) -> None:
        self._file, self._size = file, size

    def __len__(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._file.read(_CHUNK):
            yield chunk


class AnswerBody:
    """The body of a 2xx answer as a binary stream: decoded, size-capped, under the deadline.

    `read` raises an `ApiError` (ambiguous when the answer broke off) rather than an HTTP
    library's exception, so a reader such as a JSON parser needs no knowledge of HTTP.
    """

    def __init__(
        self,
        response: requests.Response,
        deadline: Deadline,
        failure: Callable[[BaseException | None, Deadline], ApiError],
        *,
        limit: int | None = None,
        too_large: Callable[[int], ApiError] | None = None,
    ) -> None:
        """`limit` (decoded bytes) raises `too_large(limit)` once passed; None: the reader
        bounds what it reads itself."""
        self._raw = response.raw
        self._deadline = deadline
        self._failure = failure
        self._limit = limit
        self._too_large = too_large
        self._size = 0

    def read(self, size: int = _CHUNK) -> bytes:
        if size is None or size < 0:
            size = _CHUNK
        try:
            data: bytes = self._raw.read(size, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._failure(exc, self._deadline) from None
        if self._deadline.expired:
            raise self._failure(None, self._deadline)
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            assert self._too_large is not None  # given with every limit
            raise self._too_large(self._limit)
        return data

    def read_all(self) -> bytes:
        chunks = []
        while chunk := self.read():
            chunks.append(chunk)
        return b"".join(chunks)


def innermost_cause(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, without the noise around it."""
    reason: object = exc
    while True:
        # urllib3 wraps causes as `.reason`, or as the last argument after a label, e.g.
        # ProtocolError('Connection aborted.', RemoteDisconnected(...)).
        wrapped = (
            [a for a in reason.args if isinstance(a, BaseException)]
            if isinstance(reason, BaseException)
            else []
        )
        inner = getattr(reason, "reason", None) or (wrapped[-1] if wrapped else None)
        if inner is None or inner is reason:
            break
        reason = inner
    text = str(reason)
    # urllib3 prefixes "<HTTPConnection object at 0x...>: "; the address adds nothing.
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]
    return redact(text)
