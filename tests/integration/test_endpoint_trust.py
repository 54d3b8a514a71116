# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials go to the endpoint the task names, and nowhere else (small local servers, not the emulator).

One ``ansible-playbook`` run, one failing task per case:
- an endpoint that answers ``307 Location: <a second local server>`` to a POST that carries a token and a private
  key, to the IAM password login, and to GETs that carry ``X-Auth-Token`` or ``X-Security-Token``: every task
  fails naming the redirect, and the second server receives nothing (requests would re-send the body and those
  headers: it strips only ``Authorization``);
- ``http://10.1.2.3:8080\\[::1]``, which ``urlsplit`` reads as ``::1`` (loopback) while requests connects to
  10.1.2.3: refused before anything is sent. The run has ``HTTP_PROXY`` pointing at a local listener (and
  ``NO_PROXY`` for the local servers), so a request that went out would reach the listener: it receives nothing.
"""
from __future__ import annotations

import http.server
import json
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from integration.harness import run_tasks

PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9'
TOKEN = 'redirect-test-auth-token-4f1d9c'
STS_TOKEN = 'redirect-test-security-token-8e2b7a'
PASSWORD = 'redirect-test-password-93c1'
SPLIT_URL = 'http://10.1.2.3:8080\\[::1]'


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Records every request (method, path, headers, body) in ``server.log``; answers per ``server.answer``."""

    protocol_version = 'HTTP/1.0'

    def _serve(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0)).decode('utf-8', 'replace')
        self.server.log.append({'method': self.command, 'path': self.path, 'headers': dict(self.headers),
                                'body': body})
        status, headers, payload = self.server.answer(self)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


@pytest.fixture
def server():
    """Start local HTTP servers: ``server(answer)`` -> (url, log); stopped after the test."""
    started = []

    def start(answer):
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Recorder)
        httpd.daemon_threads = True
        httpd.log, httpd.answer = [], answer
        threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True).start()
        started.append(httpd)
        return 'http://127.0.0.1:%d' % httpd.server_address[1], httpd.log

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def test_no_redirect_is_followed_and_no_misread_url_is_trusted(ansible, server):
    second_url, second_log = server(lambda handler: (200, {'Content-Type': 'application/json'}, b'{}'))

    def redirect(handler):
        if handler.command == 'GET' and handler.path.startswith('/post-only/'):
            # the import's first read: the key pair does not exist, so the module goes on to create it
            return 404, {'Content-Type': 'application/json'}, b'{"error_code": "KPS.6004", "error_msg": "none"}'
        return 307, {'Location': second_url + handler.path}, b''

    first_url, first_log = server(redirect)
    proxy_url, proxy_log = server(lambda handler: (502, {}, b''))
    private_key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    for secret in (TOKEN, STS_TOKEN, PASSWORD, private_key):
        ansible.add_secret(secret)
    token = {'region': 'cn-north-4', 'project_id': PROJECT, 'auth_token': TOKEN}
    temporary = {'region': 'cn-north-4', 'project_id': PROJECT, 'access_key': 'REDIRECTTESTAK000001',
                 'secret_key': 'RedirectTestSecretKey0000000000000000000', 'security_token': STS_TOKEN}
    password = {'region': 'cn-north-4', 'user_name': 'u', 'user_password': PASSWORD, 'domain_name': 'd',
                'kps_endpoint': first_url}
    tasks = [
        {'name': 'a POST with a token and a private key',
         'huaweicloud.kps.kps_private_key_import': dict(token, name='web', private_key=private_key,
                                                        kps_endpoint=first_url + '/post-only')},
        {'name': 'a GET with X-Auth-Token',
         'huaweicloud.kps.kps_keypair_info': dict(token, name='web', kps_endpoint=first_url)},
        {'name': 'a GET with X-Security-Token',
         'huaweicloud.kps.kps_keypair_info': dict(temporary, name='web', kps_endpoint=first_url)},
        {'name': 'the IAM password login',
         'huaweicloud.kps.kps_keypair_info': dict(password, name='web', iam_endpoint=first_url)},
        {'name': 'the IAM password to a URL that urlsplit misreads',
         'huaweicloud.kps.kps_keypair_info': dict(password, name='web', iam_endpoint=SPLIT_URL)},
        {'name': 'signed calls to a URL that urlsplit misreads',
         'huaweicloud.kps.kps_keypair_info': dict(temporary, name='web', kps_endpoint=SPLIT_URL)},
    ]
    results = run_tasks(ansible, tasks, module_defaults={}, env={
        'HTTP_PROXY': proxy_url, 'http_proxy': proxy_url, 'NO_PROXY': '127.0.0.1', 'no_proxy': '127.0.0.1'})

    assert second_log == [] and proxy_log == []
    redirected = ' answered with a redirect to %s%%s, which is never followed: it would send the credentials and ' \
                 'the request to another address. Check kps_endpoint/iam_endpoint' % second_url
    host = first_url.split('//')[1]
    assert results[0]['msg'] == "Key pair web: KPS call 'create key pair' failed: HTTP 307: %s%s" % (
        host, redirected % ('/post-only/v3/%s/keypairs' % PROJECT))
    for result in results[1:3]:
        assert result['msg'] == "KPS call 'show key pair' failed: HTTP 307: %s%s" % (
            host, redirected % ('/v3/%s/keypairs/web' % PROJECT))
    assert results[3]['msg'] == "IAM call 'get IAM token' failed: HTTP 307: %s%s" % (
        host, redirected % '/v3/auth/tokens')
    for result, option in zip(results[4:], ('iam_endpoint', 'kps_endpoint')):
        assert result['msg'] == (
            '%s must be a plain URL like https://host[:port]; it holds a backslash, white space or a control '
            "character, which URL parsers read differently: 'http://10.1.2.3:8080\\\\[::1]'." % option)

    # What was at stake reached the first server; the second one and the proxy got nothing at all.
    post = [entry for entry in first_log if entry['method'] == 'POST']
    assert [entry['path'] for entry in post] == ['/post-only/v3/%s/keypairs' % PROJECT, '/v3/auth/tokens']
    assert post[0]['headers']['X-Auth-Token'] == TOKEN
    assert json.loads(post[0]['body'])['keypair']['key_protection']['private_key'] == private_key
    assert PASSWORD in post[1]['body']
    gets = [entry for entry in first_log if entry['method'] == 'GET' and not entry['path'].startswith('/post-only/')]
    assert [entry['headers'].get('X-Auth-Token') for entry in gets] == [TOKEN, None]
    assert [entry['headers'].get('X-Security-Token') for entry in gets] == [None, STS_TOKEN]
