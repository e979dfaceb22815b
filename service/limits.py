"""Refuse oversized request bodies before they are read into memory."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import send_error


class BodySizeLimit:
    """ASGI middleware: a body over `max_bytes` (declared or streamed) gets a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        if _framed(scope, headers, declared):
            # HTTP/1.1 delivers exactly the declared length (none without either header), so
            # there is nothing to count: most requests, every search, skip two wrappers.
            await self.app(scope, receive, send)
            return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not refused:
                    # Answer now; to the app the client has gone, so it stops reading.
                    refused = True
                    await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await send_error(
            scope,
            send,
            413,
            "body_too_large",
            f"the request body is over {self.max_bytes} bytes (BYLINE_MAX_BODY_BYTES); send "
            "fewer or smaller documents per request",
        )


def _framed(scope: Scope, headers: dict[bytes, bytes], declared: bytes | None) -> bool:
    """Does HTTP/1.x framing bound the body by what the headers declare (a valid length
    under the limit, checked before, or no body at all)?"""
    if not scope.get("http_version", "").startswith("1") or b"transfer-encoding" in headers:
        return False
    return declared is None or declared.isdigit()
