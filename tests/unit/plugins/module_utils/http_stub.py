# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scripted requests transport for the HTTP client tests, and a real local server for those that need sockets.
A helper, not a test."""
from __future__ import annotations

import contextlib
import http.server
import io
import json
import threading

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


def reply(status=200, body=None, headers=None, raw=None):
    """A scripted answer: ``body`` is JSON-encoded, ``raw`` is sent as is."""
    content = raw if raw is not None else (b'' if body is None else json.dumps(body).encode())
    hdrs = {'Content-Type': 'application/json'} if body is not None else {}
    hdrs.update(headers or {})
    return (status, hdrs, content)


class StubAdapter(BaseAdapter):
    """Answers each request with the next scripted reply (or raises the next scripted exception)."""

    def __init__(self, script):
        super().__init__()
        self.script = list(script)
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append({'method': request.method, 'url': request.url, 'headers': dict(request.headers),
                          'body': request.body, 'kwargs': kwargs})
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        status, headers, content = item
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response.raw = io.BytesIO(content)  # read as a stream, as the client does
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def stub_session(script):
    session = requests.Session()
    adapter = StubAdapter(script)
    session.mount('https://', adapter)
    session.mount('http://', adapter)
    return session, adapter


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """The base of the local servers' handlers: no request log on stderr."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def local_server(handler):
    """A ThreadingHTTPServer on a free port of 127.0.0.1 (``url``), serving in a thread until the block ends."""
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    httpd.url = 'http://127.0.0.1:%d' % httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
