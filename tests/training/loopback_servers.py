"""Small HTTP servers on 127.0.0.1 that the tests start: a Label Studio ML backend, an OpenAI-compatible
chat endpoint, and one that misbehaves (redirects, answers too much, hangs, drips).

Each speaks its protocol for real over a socket (``http.server`` in a thread); what it answers is a
function the test gives, and every request it got is kept in ``requests`` for the test to read.
"""

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


# A route answers (status, headers, body); body may be bytes or an iterator of bytes sent as written
# (for a server that drips its answer).
Answer = tuple[int, dict[str, str], bytes | Iterator[bytes]]
Route = Callable[[Seen], Answer]


@dataclass
class LoopbackServer:
    routes: dict[str, Route]
    requests: list[Seen] = field(default_factory=list)
    port: int = 0
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def seen(self, path: str) -> list[Seen]:
        return [request for request in self.requests if request.path == path]


def json_answer(body: Any, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            server.requests.append(seen)
            route = server.routes.get(self.path.split("?")[0])
            if route is None:
                status, headers, content = json_answer({"error": "no such route"}, 404)
            else:
                status, headers, content = route(seen)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if isinstance(content, bytes):
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                try:
                    self.wfile.write(content)
                except OSError:
                    pass  # the client stopped reading (an answer over its cap)
                return
            self.end_headers()  # no length: the body ends when the connection closes (HTTP/1.0)
            try:
                for chunk in content:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:
                pass  # the client gave up, as it should

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return None

    return Handler


@contextmanager
def serve(routes: dict[str, Route], *, tls: ssl.SSLContext | None = None) -> Iterator[LoopbackServer]:
    server = LoopbackServer(routes=routes, scheme="https" if tls else "http")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- Label Studio ML backend ---------------------------------------------------------------------------


def ml_backend_routes(
    predict: Callable[[dict], Any], *, model_version: str = "ml-model-1", user: str = "", password: str = ""
) -> dict[str, Route]:
    """label-studio-ml-backend's routes; ``predict`` turns the /predict body into the answer body. With a
    user, every call must carry Basic authentication (401 otherwise), as the server's BASIC_AUTH does."""
    import base64

    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else None

    def guarded(route: Route) -> Route:
        def answer(seen: Seen) -> Answer:
            if expected is not None and seen.headers.get("authorization") != expected:
                return json_answer({"error": "unauthorized"}, 401)
            return route(seen)

        return answer

    return {
        "/health": guarded(lambda seen: json_answer({"status": "UP", "model_class": "TestModel"})),
        "/setup": guarded(lambda seen: json_answer({"model_version": model_version})),
        "/predict": guarded(lambda seen: json_answer(predict(seen.json()))),
    }


# ---- OpenAI-compatible chat --------------------------------------------------------------------------


def chat_routes(reply: Callable[[dict], str | None], *, prefix: str = "/v1") -> dict[str, Route]:
    """``reply`` turns the request body into the assistant's message content."""

    def completions(seen: Seen) -> Answer:
        request = seen.json()
        return json_answer(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": request.get("model", "test-model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply(request)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    return {f"{prefix}/chat/completions": completions}


def user_prompt(request: dict) -> str:
    return next(message["content"] for message in request["messages"] if message["role"] == "user")


# ---- misbehaving -------------------------------------------------------------------------------------


def redirect_to(location: str) -> Route:
    return lambda seen: (302, {"Location": location}, b"")


def hang(seconds: float) -> Route:
    """Answers nothing for ``seconds`` (its thread is a daemon: stopping the server does not wait for it)."""

    def answer(seen: Seen) -> Answer:
        time.sleep(seconds)
        return json_answer({"late": True})

    return answer


def drip(seconds: float, every: float = 0.1) -> Route:
    """Sends a byte at a time for ``seconds``: each read is quick, the whole answer is not."""

    def chunks() -> Iterator[bytes]:
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            yield b" "
            time.sleep(every)

    return lambda seen: (200, {"Content-Type": "application/json"}, chunks())
