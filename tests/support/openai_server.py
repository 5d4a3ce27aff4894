"""A real OpenAI-compatible Chat Completions server on 127.0.0.1 for tests.

It speaks `POST /v1/chat/completions` over HTTP, so the real `openai` client talks to it with
no patching. Replies come from a FIFO of scripted replies (status, content, headers, delay),
then from a responder function, else a 500 that says no responder is configured. A responder
returns the assistant's content, a whole completion (a dict), or an error as
`{"__status__": 429, "message": …, "headers": {…}}`.

    with OpenAIServer(lambda req: '{"ok": true}') as server:
        settings = settings.model_copy(update={"openai_api_key": "test",
                                               "openai_base_url": server.base_url})
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_denied",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
}
_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def schema_name(request: dict[str, Any]) -> str | None:
    """The `response_format.json_schema.name` of a request (the LLM client's task), if any."""
    fmt = request.get("response_format")
    if isinstance(fmt, dict):
        schema = fmt.get("json_schema")
        if isinstance(schema, dict) and isinstance(schema.get("name"), str):
            return schema["name"]
    return None


def _count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters per token."""
    return max(1, len(text) // 4)


@dataclass
class _Scripted:
    """One queued reply."""

    status: int
    content: str | None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class OpenAIServer:
    """An OpenAI-compatible HTTP server in a daemon thread; use it as a context manager."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._queue: deque[_Scripted] = deque()
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        """Bind an ephemeral port on 127.0.0.1 and serve in a daemon thread."""
        server = self

        class Handler(_Handler):
            owner = server

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; delayed replies are abandoned."""
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server, e.g. `http://127.0.0.1:51234/v1`."""
        if self._httpd is None:
            raise RuntimeError("OpenAIServer is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # --- scripting ----------------------------------------------------------------------

    def enqueue(
        self,
        *,
        status: int = 200,
        content: str | None = None,
        headers: dict[str, str] | None = None,
        delay_s: float = 0,
    ) -> None:
        """Queue one reply; queued replies are used first, in order.

        A 200 carries `content` as the assistant message (None: ask the responder, after the
        delay). Any other status is an OpenAI-style error whose message is `content`.
        """
        with self._lock:
            self._queue.append(_Scripted(status, content, dict(headers or {}), delay_s))

    # --- used by the handler ------------------------------------------------------------

    def _record(self, body: dict[str, Any]) -> _Scripted | None:
        with self._lock:
            self.requests.append(body)
            return self._queue.popleft() if self._queue else None

    def _completion(self, request: dict[str, Any], content: str) -> dict[str, Any]:
        prompt = "".join(str(m.get("content", "")) for m in request.get("messages", []))
        prompt_tokens, completion_tokens = _count_tokens(prompt), _count_tokens(content)
        return {
            "id": f"chatcmpl-test{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "test-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _error(status: int, message: str) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error"),
            "code": _ERROR_CODES.get(status),
            "param": None,
        }
    }


class _Handler(BaseHTTPRequestHandler):
    """Serves one request against its `owner` server."""

    owner: OpenAIServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_POST(self) -> None:
        """Chat completions; anything else is a 404 in OpenAI's error format."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, _error(404, f"Unknown path {self.path}; only chat completions"))
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            self._send(400, _error(400, f"request body is not JSON: {exc}"))
            return
        owner = self.owner
        scripted = owner._record(body)
        headers: dict[str, str] = {}
        if scripted is not None:
            headers = scripted.headers
            if scripted.delay_s and owner._closing.wait(scripted.delay_s):
                return  # server stopping: abandon the delayed reply
            if scripted.status != 200:
                message = scripted.content or f"scripted error {scripted.status}"
                self._send(scripted.status, _error(scripted.status, message), headers)
                return
            if scripted.content is not None:
                self._send(200, owner._completion(body, scripted.content), headers)
                return
        if owner.responder is None:
            message = "OpenAIServer has no responder configured and no scripted reply queued"
            self._send(500, _error(500, message), headers)
            return
        try:
            reply = owner.responder(body)
        except Exception as exc:  # a broken responder is a test bug: say so in the reply
            self._send(500, _error(500, f"responder raised {exc!r}"), headers)
            return
        if isinstance(reply, str):
            reply = owner._completion(body, reply)
        elif "__status__" in reply:  # a responder's HTTP error (tests/support/lesser_llm.py)
            status = int(reply["__status__"])
            self._send(status, _error(status, reply["message"]), reply.get("headers"))
            return
        self._send(200, reply, headers)

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. it timed out); nothing to report
