"""JSON log lines carrying the current trace and span id; configured by the CLI only."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

from core_api.tracing import current_trace_ids


class JsonFormatter(logging.Formatter):
    def __init__(self, region: str | None = None) -> None:
        super().__init__()
        self.region = region

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self.region:
            line["region"] = self.region
        ids = current_trace_ids()
        if ids is not None:
            line["trace_id"], line["span_id"] = ids
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_json_logging(level: str, region: str | None = None) -> None:
    """Send every log record to stderr as one JSON object per line."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(region))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
