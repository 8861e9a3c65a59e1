"""The NATS JetStream backend of :class:`kernel.bus.EventBus`.

Publishing sets the ``Nats-Msg-Id`` header to the outbox row id, so when a relay
republishes after a crash (published, then died before marking the row) the stream drops
the copy: exactly-once in the stream within its duplicate window (two minutes).

``subject_prefix`` is prepended to every subject on the wire and stripped from what
handlers see; tests use it (and a unique ``stream``) to stay apart on a shared server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck, StorageType, StreamConfig

from kernel.bus import (
    DEFAULT_DUPLICATE_WINDOW_S,
    DEFAULT_STREAM,
    BusError,
    Event,
    Handler,
    Outgoing,
    Subscription,
)

log = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"


@dataclass
class _NatsSubscription:
    sub: JetStreamContext.PushSubscription

    async def unsubscribe(self) -> None:
        with contextlib.suppress(nats.errors.Error):
            await self.sub.unsubscribe()


class NatsBus:
    """JetStream publisher and push-consumer subscriber; connects on first use.

    While the connection is down, publishing fails fast with :class:`BusError` (rather
    than buffering in the client), so the outbox keeps the events and retries them.
    """

    def __init__(
        self,
        url: str,
        stream: str = DEFAULT_STREAM,
        subject_prefix: str = "",
        subjects: Sequence[str] | None = None,
        duplicate_window_s: float = DEFAULT_DUPLICATE_WINDOW_S,
        publish_timeout_s: float = 2.0,
        connect_timeout_s: float = 2.0,
        reconnect_wait_s: float = 0.5,
        storage: StorageType = StorageType.FILE,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.subjects = list(subjects or [f"{subject_prefix}covenant.>"])
        self._duplicate_window_s = duplicate_window_s
        self._publish_timeout_s = publish_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._reconnect_wait_s = reconnect_wait_s
        self._storage = storage
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()
        self._stream_ready = False

    async def _jetstream(self) -> JetStreamContext:
        async with self._lock:
            if self._nc is None or self._nc.is_closed:
                await self._connect()
            assert self._nc is not None and self._js is not None
            if not self._nc.is_connected:
                raise BusError(f"NATS at {self.url} is not connected (reconnecting); retry later")
            if not self._stream_ready:
                await self._ensure_stream(self._js)
            return self._js

    async def _connect(self) -> None:
        nc = Client()
        try:
            # Never give up reconnecting once connected; bound only the first attempt.
            await asyncio.wait_for(
                nc.connect(
                    self.url,
                    # nats-py annotates these as int but sleeps on them; fractions work.
                    connect_timeout=cast(int, self._connect_timeout_s),
                    reconnect_time_wait=cast(int, self._reconnect_wait_s),
                    max_reconnect_attempts=-1,
                    error_cb=self._on_error,
                ),
                timeout=self._connect_timeout_s * 2,
            )
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise BusError(
                f"cannot connect to NATS at {self.url}: {exc!r}; start nats-server -js "
                "or unset COVENANT_NATS_URL for the in-process bus"
            ) from exc
        self._nc = nc
        self._js = nc.jetstream(timeout=self._publish_timeout_s)

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS connection error at %s: %r", self.url, exc)

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            config = StreamConfig(
                name=self.stream,
                subjects=self.subjects,
                duplicate_window=self._duplicate_window_s,
                storage=self._storage,
            )
            try:
                await js.add_stream(config)
            except nats.js.errors.APIError as exc:
                raise BusError(
                    f"cannot create JetStream stream {self.stream} on {self.subjects}: {exc}; "
                    "another stream may already hold these subjects"
                ) from exc
            log.info("created JetStream stream %s on %s", self.stream, self.subjects)
        except (TimeoutError, nats.errors.Error) as exc:
            raise BusError(f"JetStream at {self.url} did not answer: {exc!r}") from exc
        self._stream_ready = True

    async def ping(self) -> bool:
        """Whether a publish could go out now: connected (connecting on first use) and the
        stream in place. Cheap once connected (no round trip: the client tracks its
        connection), so a region can ask every second (``core_api.dependencies``)."""
        try:
            await self._jetstream()
        except BusError:
            return False
        return True

    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        js = await self._jetstream()
        try:
            await js.publish(
                self.subject_prefix + subject, data, headers={MSG_ID_HEADER: msg_id}
            )
        except nats.js.errors.NoStreamResponseError as exc:
            self._stream_ready = False  # the stream vanished; recreate it on the next try
            raise BusError(f"no JetStream stream takes {subject}") from exc
        except (TimeoutError, nats.errors.Error) as exc:
            raise BusError(f"publish of {subject} to {self.url} unconfirmed: {exc!r}") from exc

    async def publish_batch(self, messages: Sequence[Outgoing]) -> int:
        """Pipeline the batch (one round trip, not one per message); count leading acks."""
        js = await self._jetstream()
        futures: list[asyncio.Future[PubAck]] = []
        try:
            for msg in messages:
                futures.append(
                    await js.publish_async(
                        self.subject_prefix + msg.subject,
                        msg.data,
                        headers={MSG_ID_HEADER: msg.msg_id},
                    )
                )
            return await self._count_acks(futures)
        except (TimeoutError, nats.errors.Error) as exc:
            log.warning("batch publish to %s failed: %r", self.url, exc)
            return await self._count_acks(futures)
        finally:
            for fut in futures:
                fut.cancel()

    async def _count_acks(self, futures: list[asyncio.Future[PubAck]]) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout_s
        for i, fut in enumerate(futures):
            try:
                await asyncio.wait_for(asyncio.shield(fut), max(0.0, deadline - loop.time()))
            except nats.js.errors.NoStreamResponseError:
                self._stream_ready = False
                return i
            except (TimeoutError, nats.errors.Error, asyncio.CancelledError):
                return i
        return len(futures)

    async def subscribe(
        self, subject_pattern: str, handler: Handler, durable: str | None = None
    ) -> Subscription:
        js = await self._jetstream()
        prefix = self.subject_prefix

        async def on_msg(msg: Msg) -> None:
            subject = msg.subject[len(prefix):] if msg.subject.startswith(prefix) else msg.subject
            msg_id = (msg.headers or {}).get(MSG_ID_HEADER, "")
            try:
                await handler(Event(subject=subject, data=msg.data, msg_id=msg_id))
            except Exception:  # redeliver later instead of losing the event
                log.exception("handler for %s failed on %s; nak", subject_pattern, subject)
                await msg.nak()
                return
            await msg.ack()

        try:
            sub = await js.subscribe(
                prefix + subject_pattern, cb=on_msg, durable=durable, stream=self.stream,
                manual_ack=True,
            )
        except (TimeoutError, nats.errors.Error) as exc:
            raise BusError(
                f"cannot subscribe to {subject_pattern} on {self.stream}: {exc}"
            ) from exc
        return _NatsSubscription(sub)

    async def close(self) -> None:
        nc = self._nc
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                if nc.is_connected:  # let in-flight acks finish, but never hang on shutdown
                    await asyncio.wait_for(nc.drain(), self._publish_timeout_s)
            with contextlib.suppress(Exception):
                await nc.close()
        self._nc = None
        self._js = None
        self._stream_ready = False
