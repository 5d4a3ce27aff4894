"""The file sink: every message becomes a file (`.eml` for e-mail, `.json` otherwise).

The default channel on a fresh machine, and a record a person can open.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

from core.models import Channel
from tools.delivery.channels.base import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from tools.delivery.channels.mime import email_bytes

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class FileSinkAdapter:
    """Writes each message to `directory`, named by message id, atomically (tmp file + rename).

    A re-send of the same message overwrites its file, so the sink holds each message once.
    """

    thread_safe = True
    """Concurrent sends are safe (each writes its own temporary file)."""

    def __init__(self, directory: Path | str, *, channel: Channel = Channel.EMAIL) -> None:
        self.directory = Path(directory)
        self.channel = channel
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, msg: OutboundMessage) -> SendResult:
        """Write the message; the file name is the provider message id."""
        stem = _UNSAFE.sub("_", msg.id).lstrip(".") or "message"
        if msg.channel == Channel.EMAIL:
            try:
                data = email_bytes(msg)
            except ValueError as exc:
                raise PermanentSendError(f"cannot build e-mail {msg.id}: {exc}") from exc
            name = f"{stem}.eml"
        else:
            text = json.dumps(msg.model_dump(mode="json"), indent=2, ensure_ascii=False)
            data = (text + "\n").encode("utf-8")
            name = f"{stem}.json"
        try:
            _write_atomic(self.directory / name, data)
        except OSError as exc:
            raise TransientSendError(f"cannot write {self.directory / name}: {exc}") from exc
        return SendResult(provider_message_id=name)

    def close(self) -> None:
        """Nothing to release."""


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
