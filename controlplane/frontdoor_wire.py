"""HTTP/1.1 bytes the front door writes, pure: the request relayed to a region, the head of a
relayed response with the front door's headers, and the answers it makes itself."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus

from core_api.contract import HOME_HEADER, SERVED_BY_HEADER

# Never relayed in either direction: they describe one hop, not the message (RFC 9110 7.6.1),
# plus the front door's own headers on a response (it sets them) and the framing it redoes.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
                        b"transfer-encoding", b"upgrade", b"proxy-authorization",
                        b"proxy-authenticate", b"content-length", b"expect"})
_RESPONSE_DROP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"upgrade",
                            HOME_HEADER.encode(), SERVED_BY_HEADER.encode()})
# One search, no copy, finds a head that needs its lines filtered (rarely: uvicorn sends none).
_SUSPECT = re.compile(rb"\n(?:connection:|keep-alive:|x-covenant-|proxy-connection:|upgrade:)",
                      re.IGNORECASE)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
CLOSE = b"connection: close\r\n"


def stamp(home: str, served: str) -> bytes:
    """The front door's response headers for a home and the region that served it."""
    return f"{HOME_HEADER}: {home}\r\n{SERVED_BY_HEADER}: {served}\r\n".encode()


def upstream_request(method: str, target: bytes, headers: Iterable[bytes], body: bytes,
                     trace: bytes = b"") -> bytes:
    """The request as relayed: the client's end-to-end headers (each line ``name: value``
    CRLF), ``trace`` (the front door's ``traceparent`` line, when tracing) and the body
    de-chunked with its length."""
    length = (b"content-length: %d\r\n" % len(body)) if body or method in _BODY_METHODS else b""
    return b"".join((method.encode(), b" ", target, b" HTTP/1.1\r\n", *headers, trace, length,
                     b"\r\n", body))


def rewrite_head(head: bytes, stamped: bytes, close: bool) -> bytes:
    """A relayed response head (ending CRLF CRLF) without hop-by-hop headers or the region's
    own routing headers, plus the front door's, plus ``connection: close`` when closing."""
    if _SUSPECT.search(head):
        lines = head[:-4].split(b"\r\n")
        kept = [lines[0], *(line for line in lines[1:]
                            if line.split(b":", 1)[0].strip().lower() not in _RESPONSE_DROP)]
        head = b"\r\n".join(kept) + b"\r\n\r\n"
    return b"".join((head[:-2], stamped, CLOSE if close else b"", b"\r\n"))


def local_response(status: int, body: Mapping[str, object], headers: bytes = b"",
                   close: bool = False) -> bytes:
    """An answer the front door makes itself: JSON, framed by its length."""
    data = json.dumps(body, separators=(",", ":")).encode()
    return raw_response(status, data, b"content-type: application/json\r\n" + headers, close)


def raw_response(status: int, data: bytes, headers: bytes = b"", close: bool = False) -> bytes:
    phrase = HTTPStatus(status).phrase.encode()
    return b"".join((b"HTTP/1.1 %d %s\r\n" % (status, phrase), headers,
                     b"content-length: %d\r\n" % len(data), CLOSE if close else b"", b"\r\n",
                     data))


def status_of(head: bytes) -> int:
    """The status code of a response head (``HTTP/1.1 200 OK``); 0 if it has none."""
    code = head[9:12]
    return int(code) if code.isdigit() else 0


def header_value(head: bytes, name: bytes) -> str:
    """The value of header ``name`` (lower case) in a response head, "" when absent."""
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return ""
