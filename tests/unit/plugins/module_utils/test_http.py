# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HttpClient: retries, fresh signatures, error mapping, TLS errors, no secrets in warnings."""
from __future__ import annotations

import datetime
import json
import threading
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import AkSkSigner, TokenAuth
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HttpClient, HuaweiCloudError
from ansible_collections.huaweicloud.kps.tests.unit.plugins.module_utils.http_stub import (
    QuietHandler,
    local_server,
    reply,
    stub_session,
)

URL = 'https://kms.cn-north-4.myhuaweicloud.com/v3/p1/keypairs'


class Clock:
    """Each call is one second later: every signature gets its own X-Sdk-Date."""

    def __init__(self):
        self.now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def __call__(self):
        self.now += datetime.timedelta(seconds=1)
        return self.now


def make_client(script, retries=3, auth=None, **kwargs):
    session, adapter = stub_session(script)
    warnings, sleeps = [], []
    client = HttpClient(auth=auth, retries=retries, warn=warnings.append, session=session,
                        sleep=sleeps.append, rand=lambda: 0.5, **kwargs)
    return client, adapter, warnings, sleeps


def sdk_signature(sent, ak='AK', sk='SK', project_id=None):
    """Recompute the Authorization of a sent request with the official SDK."""
    parts = urlsplit(sent['url'])
    headers = {k: v for k, v in sent['headers'].items()
               if k.lower() not in ('authorization', 'content-length', 'accept-encoding', 'connection')
               and k.lower() != 'x-project-id'}
    request = SdkRequest(method=sent['method'], schema=parts.scheme, host=parts.netloc, resource_path=parts.path,
                         query_params=parse_qsl(parts.query, keep_blank_values=True), header_params=headers,
                         body=sent['body'] or b'')
    return BasicCredentials(ak, sk, project_id).sign_request(request).header_params['Authorization']


def test_503_then_200_is_retried_with_a_fresh_signature():
    signer = AkSkSigner('AK', 'SK', project_id='p1', clock=Clock())
    client, adapter, warnings, sleeps = make_client(
        [reply(503, {'error_code': 'KPS.0003', 'error_msg': 'busy'}), reply(200, {'keypair': {'name': 'a'}})],
        auth=signer)
    data = client.request('batch export', 'POST', URL, json=[{'keypair': {'name': 'a'}}], idempotent=True)
    assert data == {'keypair': {'name': 'a'}}
    assert warnings == ["huaweicloud.kps: retrying 'batch export' after HTTP 503 (attempt 2 of 4)"]
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 1.0
    first, second = adapter.sent
    assert first['headers']['X-Sdk-Date'] != second['headers']['X-Sdk-Date']
    assert first['headers']['Authorization'] != second['headers']['Authorization']
    assert first['body'] == second['body'] == b'[{"keypair":{"name":"a"}}]'
    for sent in adapter.sent:
        assert sent['headers']['Authorization'] == sdk_signature(sent, project_id='p1')
        assert sent['headers']['Host'] == 'kms.cn-north-4.myhuaweicloud.com'


def test_signed_query_string_is_the_one_sent():
    signer = AkSkSigner('AK', 'SK', clock=Clock())
    client, adapter, _w, _s = make_client([reply(200, {'keypairs': []})], auth=signer)
    client.request('list key pairs', 'GET', URL, params={'marker': 'a b~c', 'limit': 50, 'none': None})
    sent = adapter.sent[0]
    assert sent['url'] == URL + '?limit=50&marker=a%20b~c'
    assert sent['headers']['Authorization'] == sdk_signature(sent)


def test_429_honours_retry_after_and_caps_it():
    client, adapter, warnings, sleeps = make_client([
        reply(429, {'error_code': 'APIGW.0308', 'error_msg': 'throttled'}, headers={'Retry-After': '7'}),
        reply(429, None, headers={'Retry-After': '3600'}),
        reply(200, {})])
    client.request('show key pair', 'GET', URL)
    assert sleeps == [7.0, 60.0]
    assert warnings[1] == "huaweicloud.kps: retrying 'show key pair' after HTTP 429 (attempt 3 of 4)"
    assert len(adapter.sent) == 3


def test_retry_after_http_date():
    when = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)).strftime(
        '%a, %d %b %Y %H:%M:%S GMT')
    client, _a, _w, sleeps = make_client([reply(503, None, headers={'Retry-After': when}), reply(200, {})])
    client.request('show key pair', 'GET', URL)
    assert 25 <= sleeps[0] <= 31


@pytest.mark.parametrize('status', [401, 403])
@pytest.mark.parametrize('auth, hint', [
    (AkSkSigner('AK', 'SK'), 'Check access_key/secret_key (and security_token for temporary credentials) and that the '
     'clock of the host running the module is right (not retried: repeated failures lock the access key)'),
    # A token has no clock or access key to check.
    (TokenAuth('TOKEN', 'p1'), 'Check auth_token: it must be a valid IAM token (the X-Subject-Token of a login, '
     'valid for 24 hours) scoped to the project of region; get a new one'),
], ids=['aksk', 'token'])
def test_apigw_0301_is_never_retried(status, auth, hint):
    client, adapter, warnings, _s = make_client([reply(status, {
        'error_code': 'APIGW.0301', 'error_msg': 'Incorrect IAM authentication information: verify aksk signature fail',
        'request_id': 'rid-123'})] * 4, auth=auth)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    assert len(adapter.sent) == 1 and warnings == []
    err = exc.value
    assert (err.status, err.error_code, err.request_id) == (status, 'APIGW.0301', 'rid-123')
    assert str(err).endswith('verify aksk signature fail. %s (request id rid-123)' % hint), str(err)


@pytest.mark.parametrize('status, code', [(400, 'KPS.0002'), (404, None), (409, 'KPS.1000'), (500, 'KPS.0002')])
def test_client_errors_and_non_retryable_kps_500_are_not_retried(status, code):
    body = {'error_code': code, 'error_msg': 'nope'} if code else None
    client, adapter, warnings, _s = make_client([reply(status, body)] * 4)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    assert len(adapter.sent) == 1 and warnings == []
    assert exc.value.status == status


@pytest.mark.parametrize('code', ['KPS.0003', 'KPS.5001', 'KPS.6007', None])
def test_retryable_500(code):
    body = {'error_code': code, 'error_msg': 'x'} if code else None
    client, adapter, _w, _s = make_client([reply(500, body), reply(200, {})])
    client.request('show key pair', 'GET', URL)
    assert len(adapter.sent) == 2


def test_gives_up_after_retries():
    client, adapter, warnings, sleeps = make_client([reply(502, None, raw=b'<html>bad gateway</html>',
                                                           headers={'Content-Type': 'text/html'})] * 4)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    assert len(adapter.sent) == 4
    assert [w.split('(')[-1] for w in warnings] == ['attempt 2 of 4)', 'attempt 3 of 4)', 'attempt 4 of 4)']
    assert sleeps == [0.75, 1.5, 3.0]  # exponential, with the jitter fixed at its middle
    text = str(exc.value)
    assert text.startswith("KPS call 'show key pair' failed: HTTP 502")
    assert 'not JSON (Content-Type: text/html' in text and 'gave up after 4 attempts' in text
    assert '<html>' not in text


def test_retries_zero_disables_retries():
    client, adapter, warnings, _s = make_client([reply(503, None)] * 2, retries=0)
    with pytest.raises(HuaweiCloudError):
        client.request('show key pair', 'GET', URL)
    assert len(adapter.sent) == 1 and warnings == []


def test_backoff_is_capped_and_jittered():
    client, _a, _w, _s = make_client([], backoff_base=1.0, backoff_max=20.0)
    client.rand = lambda: 0.0
    assert [client._backoff(n) for n in (1, 2, 3, 6, 10)] == [0.5, 1.0, 2.0, 10.0, 10.0]
    client.rand = lambda: 0.999999
    assert client._backoff(10) == pytest.approx(20.0, rel=1e-5)


def test_connection_errors_are_retried_for_reads():
    client, adapter, warnings, _s = make_client([
        requests.exceptions.ConnectionError('connection reset'), requests.exceptions.ReadTimeout('slow'),
        reply(200, {'ok': 1})])
    assert client.request('show key pair', 'GET', URL) == {'ok': 1}
    assert warnings == [
        "huaweicloud.kps: retrying 'show key pair' after a connection error (ConnectionError) (attempt 2 of 4)",
        "huaweicloud.kps: retrying 'show key pair' after a timeout (ReadTimeout) (attempt 3 of 4)"]


def test_non_idempotent_post_is_not_repeated_after_it_may_have_arrived():
    client, adapter, warnings, _s = make_client([requests.exceptions.ReadTimeout('slow')] * 2)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('create key pair', 'POST', URL, json={'keypair': {'name': 'a'}})
    assert len(adapter.sent) == 1 and warnings == []
    assert 'may or may not have been carried out' in str(exc.value)

    client, adapter, warnings, _s = make_client([reply(503, {'error_code': 'KPS.0003', 'error_msg': 'x'})] * 2)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('create key pair', 'POST', URL, json={'keypair': {'name': 'a'}})
    assert len(adapter.sent) == 1 and 'may or may not' in str(exc.value)


def test_non_idempotent_post_is_retried_when_surely_not_processed():
    client, adapter, warnings, _s = make_client([
        requests.exceptions.ConnectTimeout('connect timeout'), reply(429, None), reply(200, {'keypair': {}})])
    client.request('create key pair', 'POST', URL, json={'keypair': {'name': 'a'}})
    assert len(adapter.sent) == 3 and len(warnings) == 2


def test_tls_error_is_clear_and_not_retried():
    client, adapter, _w, _s = make_client([requests.exceptions.SSLError('CERTIFICATE_VERIFY_FAILED')] * 2)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    assert len(adapter.sent) == 1
    assert 'ca_path' in str(exc.value) and 'validate_certs' in str(exc.value)
    assert 'kms.cn-north-4.myhuaweicloud.com' in str(exc.value)


def test_verify_settings(monkeypatch):
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    for kwargs, expected in (({}, True), ({'ca_path': '/etc/ca.pem'}, '/etc/ca.pem'), ({'validate_certs': False}, False)):
        client, adapter, _w, _s = make_client([reply(200, {})], **kwargs)
        client.request('show key pair', 'GET', URL)
        assert adapter.sent[0]['kwargs']['verify'] == expected
    client, adapter, _w, _s = make_client([reply(200, {})], timeout=7)
    client.request('show key pair', 'GET', URL)
    assert adapter.sent[0]['kwargs']['timeout'] == (7, 7)


def test_invalid_header_error_does_not_echo_the_value():
    client, _a, _w, _s = make_client([requests.exceptions.InvalidHeader("bad value: 'TOKEN-SECRET\\n'")])
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    assert 'TOKEN-SECRET' not in str(exc.value) and 'InvalidHeader' in str(exc.value)


def test_proxy_credentials_are_redacted():
    client, _a, _w, _s = make_client([requests.exceptions.ProxyError(
        'Cannot connect to proxy http://user:pa55word@proxy:3128')] * 4, retries=0)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    assert 'pa55word' not in str(exc.value) and 'http://***@proxy:3128' in str(exc.value)


# --- error mapping -------------------------------------------------------------------------------------

@pytest.mark.parametrize('response, expected', [
    (reply(400, {'error_code': 'KPS.6004', 'error_msg': 'No Keypair find: k'}, headers={'X-Request-Id': 'r1'}),
     (400, 'KPS.6004', 'No Keypair find: k', 'r1',
      "KPS call 'show key pair' failed: HTTP 400 KPS.6004: No Keypair find: k (request id r1)")),
    (reply(401, {'error_code': 'APIGW.0301', 'error_msg': 'bad', 'request_id': 'r2'}),
     (401, 'APIGW.0301', 'bad', 'r2', None)),
    (reply(401, {'error': {'code': 401, 'message': 'The username or password is wrong.', 'title': 'Unauthorized'}}),
     (401, None, 'The username or password is wrong.', None,
      "KPS call 'show key pair' failed: HTTP 401: The username or password is wrong.")),
    (reply(404, None), (404, None, None, None, "KPS call 'show key pair' failed: HTTP 404: the response body is empty")),
    (reply(400, None, raw=b'\xff\xfe', headers={'Content-Type': 'application/json'}),
     (400, None, None, None, None)),
])
def test_error_mapping(response, expected):
    client, _a, _w, _s = make_client([response])
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    err = exc.value
    status, code, msg, rid, text = expected
    assert (err.status, err.error_code, err.error_msg, err.request_id) == (status, code, msg, rid)
    assert err.call == 'show key pair'
    if text:
        assert str(err) == text


def test_non_json_success_is_a_clear_error():
    client, _a, _w, _s = make_client([reply(200, None, raw=b'<html>login portal</html>',
                                            headers={'Content-Type': 'text/html', 'X-Request-Id': 'r9'})])
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    assert 'expected a JSON answer' in str(exc.value) and 'kps_endpoint' in str(exc.value)
    assert exc.value.request_id == 'r9' and '<html>' not in str(exc.value)


def test_expect_bytes_and_none():
    client, _a, _w, _s = make_client([reply(200, None, raw=b'PK\x03\x04zip'), reply(200, None), reply(204, None)])
    assert client.request('batch export', 'POST', URL, json=[], expect='bytes') == b'PK\x03\x04zip'
    assert client.request('clear private key', 'DELETE', URL, expect='none') is None
    assert client.send('clear private key', 'DELETE', URL, expect='none').status == 204


def test_warnings_and_errors_never_contain_bodies_or_credentials():
    secret_body = {'keypair': {'name': 'a', 'key_protection': {'private_key': 'PRIVATE-KEY-MATERIAL'}}}
    signer = AkSkSigner('AK', 'SECRET-SK-VALUE', security_token='SECRET-TOKEN', clock=Clock())
    client, adapter, warnings, _s = make_client(
        [reply(503, {'error_code': 'KPS.0003', 'error_msg': 'busy'})] * 4, auth=signer)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('import private key', 'POST', URL, json=secret_body, idempotent=True)
    everything = ' '.join(warnings) + str(exc.value) + repr(exc.value) + repr(signer)
    for secret in ('PRIVATE-KEY-MATERIAL', 'SECRET-SK-VALUE', 'SECRET-TOKEN'):
        assert secret not in everything
    assert len(adapter.sent) == 4


class RefreshingAuth:
    refreshable = True

    def __init__(self):
        self.token = 'old'
        self.refreshes = 0

    def apply(self, method, url, headers, body):
        return dict(headers, **{'X-Auth-Token': self.token})

    def refresh(self):
        self.refreshes += 1
        self.token = 'new-%d' % self.refreshes
        return True


def test_expired_token_logs_in_again_once():
    auth = RefreshingAuth()
    client, adapter, warnings, _s = make_client([reply(401, {'error_code': 'APIGW.0307', 'error_msg': 'expired'}),
                                                 reply(200, {'ok': True})], auth=auth)
    assert client.request('show key pair', 'GET', URL) == {'ok': True}
    assert auth.refreshes == 1 and warnings == []
    assert [s['headers']['X-Auth-Token'] for s in adapter.sent] == ['old', 'new-1']

    auth = RefreshingAuth()
    client, adapter, _w, _s = make_client([reply(401, {'error_code': 'APIGW.0307', 'error_msg': 'x'})] * 3, auth=auth)
    with pytest.raises(HuaweiCloudError):
        client.request('show key pair', 'GET', URL)
    assert auth.refreshes == 1 and len(adapter.sent) == 2


# --- a real local HTTP server, real sockets ------------------------------------------------------------

class _Handler(QuietHandler):
    script = []
    seen = []
    answered = threading.Event()

    def do_GET(self):  # noqa: N802
        self.seen.append(dict(self.headers))
        action = self.script.pop(0)
        if action == 'sleep':
            # Held until the retry was answered, not for a fixed time that a loaded machine could outlast.
            self.answered.wait(30)
            action = 200
        body = json.dumps({'error_code': 'KPS.0003', 'error_msg': 'x'} if action != 200 else {'ok': 1}).encode()
        self.send_response(action)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('X-Request-Id', 'req-%d' % len(self.seen))
        self.end_headers()
        self.wfile.write(body)
        self.answered.set()


@pytest.fixture
def server():
    _Handler.seen = []
    _Handler.answered = threading.Event()
    with local_server(_Handler) as httpd:
        yield httpd


def test_real_server_503_then_200(server):
    _Handler.script = [503, 200]
    warnings = []
    client = HttpClient(auth=AkSkSigner('AK', 'SK', clock=Clock()), warn=warnings.append, sleep=lambda s: None)
    url = 'http://127.0.0.1:%d/v3/p/keypairs/a' % server.server_address[1]
    response = client.send('show key pair', 'GET', url)
    assert response.data == {'ok': 1} and response.request_id == 'req-2'
    assert len(_Handler.seen) == 2 and len(warnings) == 1
    assert _Handler.seen[0]['X-Sdk-Date'] != _Handler.seen[1]['X-Sdk-Date']


def test_real_server_read_timeout_is_retried(server):
    _Handler.script = ['sleep', 200]
    warnings = []
    client = HttpClient(timeout=(2, 1), warn=warnings.append, sleep=lambda s: None)
    url = 'http://127.0.0.1:%d/x' % server.server_address[1]
    assert client.request('show key pair', 'GET', url) == {'ok': 1}
    assert 'ReadTimeout' in warnings[0]


def test_real_connection_refused():
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    warnings = []
    client = HttpClient(retries=1, warn=warnings.append, sleep=lambda s: None)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('create key pair', 'POST', 'http://127.0.0.1:%d/x' % port, json={})
    assert 'could not reach 127.0.0.1:%d' % port in str(exc.value)
    assert len(warnings) == 1  # refused: never arrived, so even a POST is retried
    assert 'may or may not' not in str(exc.value)


@pytest.mark.parametrize('url, proxy, used', [
    # A proxy elsewhere cannot reach this machine's endpoint, and would get plain http:// in clear.
    ('http://127.0.0.1:8443/v3/p1/keypairs', 'http://192.0.2.1:3128', False),
    ('http://localhost:8443/v3/p1/keypairs', '192.0.2.1:3128', False),
    ('http://[::1]:8443/v3/p1/keypairs', 'http://proxy.example.com:3128', False),
    # A proxy on this machine (a debugging proxy), and any proxy for an endpoint elsewhere, are used.
    ('http://127.0.0.1:8443/v3/p1/keypairs', 'http://127.0.0.1:8080', True),
    (URL, 'http://192.0.2.1:3128', True),
])
def test_an_endpoint_on_this_machine_is_never_reached_through_a_proxy_elsewhere(monkeypatch, url, proxy, used):
    for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY',
                 'all_proxy'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HTTP_PROXY', proxy)
    monkeypatch.setenv('HTTPS_PROXY', proxy)
    client, adapter, _w, _s = make_client([reply(200, {'keypairs': []})], retries=0)
    client.request('list key pairs', 'GET', url)
    proxies = adapter.sent[0]['kwargs']['proxies']
    assert (proxy in proxies.values()) is used, proxies
