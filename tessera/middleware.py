"""Request bodies sent with ``Transfer-Encoding: chunked`` are read as sent, or refused; never read as empty.

Django's WSGIRequest reads only CONTENT_LENGTH bytes of ``wsgi.input``, and a chunked request has no
Content-Length: it would see an empty body, so an annotation would be stored with ``result: []``, a
project created with default fields and a PATCH answered 200 having changed nothing. A server that
decodes the chunks itself says so with ``wsgi.input_terminated`` (gunicorn, mod_wsgi, uWSGI): its
``wsgi.input`` then ends where the body ends, and this middleware reads it whole, spooled to disk past
FILE_UPLOAD_MAX_MEMORY_SIZE and bounded by the largest body the endpoint accepts, and gives Django
the length. A server that does not (Django's runserver) hands over the raw chunk framing, which
nothing can read safely: the request is refused with 411 Length Required. Under ASGI the server has
received the whole body already; Django is given its length.
"""

import tempfile
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse

from tessera.body_limit import body_limit_for_path, error_response

READ_CHUNK = 64 * 1024


class ChunkedBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower() or meta.get("CONTENT_LENGTH"):
            return self.get_response(request)
        if isinstance(request, ASGIRequest):
            refusal = self._measure_asgi_body(request)
            return refusal if refusal is not None else self.get_response(request)
        body = self._read_whole_body(request)
        if isinstance(body, HttpResponse):
            return body
        response = self.get_response(request)
        # Closed with the response, when the server is done with it (a streamed response reads on).
        # (_resource_closers is Django's private list that django-stubs leaves out.)
        response._resource_closers.append(body.close)  # type: ignore[attr-defined]
        return response

    def _measure_asgi_body(self, request: ASGIRequest) -> HttpResponse | None:
        """An ASGI server has already received the whole body into a file; Django only lacks its length
        (without one, its multipart parser reads nothing)."""
        stream = request._stream
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
        limit = body_limit_for_path(request.path_info)
        if size > limit:
            return error_response(
                413, "too_large", f"The request body is larger than the server accepts ({limit} bytes)."
            )
        request.META["CONTENT_LENGTH"] = str(size)
        return None

    def _read_whole_body(self, request: HttpRequest) -> "tempfile.SpooledTemporaryFile[bytes] | HttpResponse":
        """The body, spooled and handed to the request, or the response that refuses it."""
        meta = request.META
        if not meta.get("wsgi.input_terminated") or "wsgi.input" not in meta:
            return error_response(
                411,
                "length_required",
                "This server cannot read a chunked request body: send a Content-Length header.",
            )
        limit = body_limit_for_path(request.path_info)
        source = meta["wsgi.input"]
        body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        size = 0
        while chunk := source.read(READ_CHUNK):
            size += len(chunk)
            if size > limit:
                body.close()
                return error_response(
                    413, "too_large", f"The request body is larger than the server accepts ({limit} bytes)."
                )
            body.write(chunk)
        body.seek(0)
        # From here Django reads the body as if it had come with a Content-Length: its size limits,
        # form and multipart parsing all apply unchanged. The file closes with the request.
        meta["CONTENT_LENGTH"] = str(size)
        # django-stubs types these private attributes narrower than Django uses them (WSGIRequest sets
        # _stream to a LimitedStream over any binary file itself) or leaves them out (_read_started).
        request._stream = LimitedStream(body, size)  # type: ignore[assignment,arg-type]
        request._read_started = False  # type: ignore[attr-defined]
        return body
