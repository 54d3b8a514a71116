# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint is not trusted: its text is scrubbed, its answers are capped, its slowness is bounded; error
bodies are read as the SDK reads them and requests carry the SDK's Content-Type."""
from __future__ import annotations

import json
import random
import re
import signal
import socket
import time
import tracemalloc
from urllib.parse import quote, quote_plus

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from huaweicloudsdkcore.exceptions import exceptions as sdk_exceptions
from huaweicloudsdkcore.exceptions.exception_handler import DefaultExceptionHandler

from ansible_collections.huaweicloud.kps.plugins.module_utils import _http
from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import AkSkSigner, TokenAuth
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import (
    HttpClient,
    HuaweiCloudError,
    ca_bundle_problem,
    register_secrets,
    scrub,
)
from ansible_collections.huaweicloud.kps.tests.unit.plugins.module_utils.http_stub import (
    QuietHandler,
    local_server,
    reply,
    stub_session,
)

from integration.harness import private_key_forms, secret_forms

PASSWORD = 'pässwörd-秘密-Ω'
URL = 'https://kms.cn-north-4.myhuaweicloud.com/v3/p1/keypairs'


@pytest.fixture(scope='module')
def private_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def leaks(text, private_key):
    """The forms of the private key or the password (harness rules: every encoding) found in ``text``."""
    forms = private_key_forms(private_key) | secret_forms(PASSWORD)
    return sorted(form for form in forms if form in text)


# --- scrub ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('encode', [
    lambda pem: pem,
    lambda pem: json.dumps(pem)[1:-1],
    lambda pem: quote(pem, safe=''),
    quote_plus,
    lambda pem: pem[:300],                      # an echo cut off before the END line
], ids=['raw', 'json', 'url', 'url-plus', 'truncated'])
def test_pem_blocks_are_cut_in_every_encoding(private_key, encode):
    text = scrub('bad key: %s; please retry' % encode(private_key), limit=10000)
    assert '[PEM block removed]' in text and text.startswith('bad key: ')
    assert leaks(text, private_key) == []


@pytest.mark.parametrize('form', [
    PASSWORD, json.dumps(PASSWORD)[1:-1], json.dumps(PASSWORD, ensure_ascii=False)[1:-1],
    quote(PASSWORD, safe=''), quote(PASSWORD, safe='').lower(), quote_plus(PASSWORD),
    json.dumps(json.dumps(PASSWORD)[1:-1])[1:-1],
], ids=['raw', 'json', 'json-utf8', 'url', 'url-lower', 'url-plus', 'json-twice'])
def test_registered_secrets_are_removed_in_every_encoding(form):
    assert scrub('wrong password %s!' % form) == 'wrong password %s!' % form  # (each test starts with none)
    register_secrets(PASSWORD)
    assert scrub('wrong password %s!' % form) == 'wrong password [secret removed]!'


def test_pem_body_lines_of_a_registered_key_are_removed_without_the_markers(private_key):
    register_secrets(private_key)
    lines = private_key.splitlines()[1:-1]
    text = scrub('got %s and %s' % (lines[3], json.dumps('\n'.join(lines[5:8]))), limit=10000)
    assert leaks(text, private_key) == []
    assert text.startswith('got [secret removed] and ')


@pytest.mark.parametrize('seed', range(5))
def test_secrets_are_removed_as_a_regex_alternation_longest_first_would(seed):
    """The index (_http._remove_secrets) replaces what re.sub of the alternation of every form, longest first,
    replaced: overlapping, nested and adjacent forms, a form at the very end."""
    generator = random.Random(seed)
    forms = set()
    secret = ''
    for _secret in range(30):
        # half of them extend the one before: forms that begin with other forms
        start = secret if generator.random() < 0.5 else ''
        secret = start + ''.join(generator.choice('abc+/= %') for _char in range(generator.randrange(4, 12)))
        register_secrets(secret)
        if len(secret.strip()) >= 4:
            forms.update(form for form in _http._escaped_forms(secret.strip()) if len(form) >= 4)
    _http._index_pending()
    assert _http._secrets == forms
    alternation = re.compile('|'.join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))
    pieces = sorted(forms) + [form[:cut] for form in sorted(forms) for cut in (3, 5)] + list('abc+/= %2BFx')
    for _text in range(300):
        text = ''.join(generator.choice(pieces) for _piece in range(generator.randrange(0, 12)))
        assert _http._remove_secrets(text) == alternation.sub('[secret removed]', text), repr(text)


def test_a_secret_that_begins_with_another_is_removed_whole():
    register_secrets('abcd-1234', 'abcd')
    assert scrub('x abcd-1234 y abcd z') == 'x [secret removed] y [secret removed] z'


def test_scrubbing_stays_fast_after_a_migration_registered_1000_keys():
    """A batch import registers every private key it sends (about 100 forms per RSA key) and scrubs KPS's reason
    for each failed key pair: the regex of every form was compiled again after each batch (minutes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    lines = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()).decode().splitlines()
    started = time.process_time()
    for index in range(1000):
        # 1000 distinct PEM texts of the same shape (generating 1000 RSA keys would take a minute)
        body = [line[:-6] + ('%06d' % (index * 7 + number)) for number, line in enumerate(lines[1:-1])]
        register_secrets('\n'.join([lines[0]] + body + [lines[-1]]))
        if index % 10 == 9:
            assert scrub('KPS.6008 KMS key kps/missing is not usable') == 'KPS.6008 KMS key kps/missing is not usable'
    assert scrub('echo %s.' % body[3]) == 'echo [secret removed].'
    assert len(_http._secrets) > 50000 and time.process_time() - started < 10


def test_server_text_is_cut_short_and_control_characters_go():
    text = scrub('line one\n\x1b[31mred\x1b[0m ' + 'x' * 1000)
    assert '\n' not in text and '\x1b' not in text
    assert len(text) <= _http.MAX_SERVER_TEXT + len('...[cut]') and text.endswith('...[cut]')


def test_error_attributes_are_scrubbed_even_when_set_later(private_key):
    register_secrets(PASSWORD)
    err = HuaweiCloudError('get IAM token', status=400, error_code='E' * 100, error_msg='pw ' + PASSWORD,
                           request_id='r' * 500, service='IAM')
    err.reason = 'more: ' + private_key
    assert PASSWORD not in err.error_msg and len(err.error_code) < 80 and len(err.request_id) < 140
    assert leaks(str(err) + repr(err), private_key) == []


# --- an endpoint that echoes the request ----------------------------------------------------------------------

class _Echo(QuietHandler):
    """Answers 400 with the request (body and headers) in its error text, shaped by the first path segment."""

    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        request = self.rfile.read(length).decode('utf-8') + ' ' + json.dumps(dict(self.headers))
        shape = self.path.split('/')[1]
        body = {
            'raw': {'error_code': 'KPS.0002', 'error_msg': request},
            'camel': {'errorCode': 'KPS.0002', 'errorMsg': 'bad request: ' + request},
            'nested': {'error': {'code': 'APIGW.0101', 'message': request}},
            'url': {'error_code': 'KPS.0002', 'error_msg': quote(request, safe='')},
            'deep': {'a': {'b': {'error_code': 'X.1', 'error_msg': request}}},
        }[shape]
        data = json.dumps(body).encode()
        self.send_response(400)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer


@pytest.fixture
def echo():
    with local_server(_Echo) as httpd:
        yield httpd.url


@pytest.mark.parametrize('shape', ['raw', 'camel', 'nested', 'url', 'deep'])
def test_echoed_request_body_shows_no_secret(echo, private_key, shape):
    """Nothing registered beforehand: the client learns the secrets from the request body it sends."""
    client = HttpClient(retries=0)
    body = {'keypair': {'name': 'web', 'key_protection': {'private_key': private_key}},
            'auth': {'identity': {'password': {'user': {'name': 'u', 'password': PASSWORD}}}}}
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('import private key', 'POST', echo + '/' + shape + '/v3', json=body)
    text = str(exc.value)
    assert exc.value.error_msg and exc.value.status == 400
    assert leaks(text, private_key) == [] and PASSWORD not in text
    assert len(exc.value.error_msg) <= _http.MAX_SERVER_TEXT + 8


def test_echoed_token_headers_show_no_secret(echo):
    register_secrets(['TOKEN-SECRET-VALUE-123', 'STS-SECRET-VALUE-456'])   # as KpsModule does with no_log values
    for auth in (TokenAuth('TOKEN-SECRET-VALUE-123'), AkSkSigner('AK', 'SK', security_token='STS-SECRET-VALUE-456')):
        with pytest.raises(HuaweiCloudError) as exc:
            HttpClient(retries=0, auth=auth).request('show key pair', 'GET', echo + '/raw/v3')
        assert 'SECRET-VALUE' not in str(exc.value) and '[secret removed]' in str(exc.value)


# --- error bodies as the SDK reads them -----------------------------------------------------------------------

@pytest.mark.parametrize('body', [
    {'error_code': 'KPS.6004', 'error_msg': 'No Keypair find'},
    {'errorCode': 'KPS.6004', 'errorMsg': 'camel'},
    {'code': 'APIGW.0301', 'message': 'plain'},
    {'error': {'code': 'IAM.0001', 'message': 'one level down'}},
    {'outer': {'inner': {'error_code': 'KPS.0002', 'error_msg': 'two levels down'}}, 'request_id': 'r'},
    {'error_code': 'KPS.1', 'message': 'half of two shapes', 'errorMsg': 'x', 'errorCode': 'KPS.2'},
])
def test_error_shapes_match_the_sdk(body):
    client, _adapter = _stub_client([reply(400, body)])
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    response = requests.Response()
    response.status_code = 400
    response._content = json.dumps(body).encode()  # pylint: disable=protected-access
    response.headers['Content-Type'] = 'application/json'
    with pytest.raises(sdk_exceptions.ClientRequestException) as sdk:
        DefaultExceptionHandler().handle_exception(None, response)
    assert (exc.value.error_code, exc.value.error_msg) == (sdk.value.error_code, sdk.value.error_msg)


def test_keystone_numeric_code_is_no_error_code():
    client, _adapter = _stub_client([reply(401, {'error': {'code': 401, 'message': 'wrong password',
                                                           'title': 'Unauthorized'}})])
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('get IAM token', 'POST', URL, json={}, service='IAM')
    assert (exc.value.error_code, exc.value.error_msg) == (None, 'wrong password')


def _stub_client(script, **kwargs):
    session, adapter = stub_session(script)
    return HttpClient(session=session, sleep=lambda s: None, retries=0, **kwargs), adapter


# --- Content-Type as the SDK sends it -------------------------------------------------------------------------

class _Capture(QuietHandler):
    seen = []

    def _answer(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.seen.append((self.command, self.headers.get('Content-Type')))
        data = b'{}'
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = _answer


def test_content_type_is_the_one_the_sdk_sends():
    from huaweicloudsdkcore.auth.credentials import BasicCredentials  # pylint: disable=import-outside-toplevel
    from huaweicloudsdkkps.v3 import (  # pylint: disable=import-outside-toplevel
        ClearPrivateKeyRequest,
        CreateKeypairAction,
        CreateKeypairRequest,
        CreateKeypairRequestBody,
        KpsClient,
        ListKeypairDetailRequest,
    )
    with local_server(_Capture) as httpd:
        url = httpd.url
        _Capture.seen = []
        sdk = KpsClient.new_builder().with_credentials(BasicCredentials('AK', 'SK', 'p1')).with_endpoints([url]).build()
        sdk.list_keypair_detail(ListKeypairDetailRequest(keypair_name='a'))
        sdk.clear_private_key(ClearPrivateKeyRequest(keypair_name='a'))
        sdk.create_keypair(CreateKeypairRequest(body=CreateKeypairRequestBody(keypair=CreateKeypairAction(name='a'))))
        sdk_seen, _Capture.seen = _Capture.seen, []
        ours = HttpClient(auth=AkSkSigner('AK', 'SK', project_id='p1'), retries=0)
        ours.request('show key pair', 'GET', url + '/v3/p1/keypairs/a')
        ours.request('clear private key', 'DELETE', url + '/v3/p1/keypairs/a/private-key', expect='none')
        ours.request('create key pair', 'POST', url + '/v3/p1/keypairs', json={'keypair': {'name': 'a'}})
        assert _Capture.seen == sdk_seen == [('GET', 'application/json'), ('DELETE', 'application/json'),
                                             ('POST', 'application/json;charset=utf-8')]


# --- size cap and deadline ------------------------------------------------------------------------------------

class _Hostile(QuietHandler):
    """'/huge': a 200 MiB body as fast as it goes; '/trickle-body' and '/trickle-head': one byte every 0.5 s."""

    protocol_version = 'HTTP/1.1'
    sent = {}

    def do_GET(self):  # noqa: N802
        sent = 0
        start = time.monotonic()
        try:
            if self.path.startswith('/huge'):
                self.send_response(500)
                if 'length' in self.path:
                    self.send_header('Content-Length', str(200 << 20))
                self.end_headers()
                chunk = b'x' * 65536
                for _chunk in range(200 * 16):
                    self.wfile.write(chunk)
                    sent += len(chunk)
            else:
                head = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n'
                if self.path.startswith('/trickle-body'):
                    self.wfile.write(head)
                    head = b'{' + b' ' * 998 + b'}'
                for byte in head:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            _Hostile.sent[self.path] = (sent, time.monotonic() - start)
        self.close_connection = True


@pytest.fixture
def hostile():
    _Hostile.sent = {}
    with local_server(_Hostile) as httpd:
        yield httpd.url


@pytest.mark.parametrize('path', ['/huge', '/huge-with-length'])
def test_huge_answer_is_refused_with_bounded_memory(hostile, path):
    client = HttpClient(retries=3, sleep=lambda s: None, timeout=30)
    tracemalloc.start()
    try:
        with pytest.raises(HuaweiCloudError) as exc:
            client.request('show key pair', 'GET', hostile + path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 'is larger than 4 MiB' in str(exc.value) and 'kps_endpoint' in str(exc.value)
    assert exc.value.attempts == 1  # not retried: the next answer would be as large
    assert peak < 16 << 20, peak
    for _wait in range(50):
        if path in _Hostile.sent:
            break
        time.sleep(0.1)
    assert _Hostile.sent[path][0] < 64 << 20  # the client hung up long before the end


def test_big_answer_under_the_cap_is_read(hostile):
    client, _adapter = _stub_client([reply(200, None, raw=b'PK' + b'\0' * (3 << 20))])
    assert len(client.request('batch export', 'POST', URL, json=[], expect='bytes')) == (3 << 20) + 2


@pytest.mark.parametrize('path', ['/trickle-head', '/trickle-body'])
def test_trickling_endpoint_is_cut_at_the_deadline(hostile, path):
    client = HttpClient(retries=1, sleep=lambda s: None, timeout=2)
    start = time.monotonic()
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', hostile + path)
    elapsed = time.monotonic() - start
    assert 3.9 < elapsed < 5.5, elapsed  # two attempts of 2 s each
    assert str(exc.value) == ("KPS call 'show key pair' failed: could not reach %s: no complete answer within 2 "
                              "seconds (timeout) (gave up after 2 attempts)" % hostile.split('//')[1])
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None) and signal.getitimer(signal.ITIMER_REAL) == (0, 0)


def test_the_deadline_leaves_an_alarm_of_someone_else_alone():
    """A lookup runs inside an Ansible process, perhaps under a task's timeout (SIGALRM): the client neither
    replaces that handler nor cancels that alarm."""
    def task_timeout(signum, frame):
        raise AssertionError('the outer alarm fired')

    previous = signal.signal(signal.SIGALRM, task_timeout)
    try:
        signal.setitimer(signal.ITIMER_REAL, 60)
        client, _adapter = _stub_client([reply(200, {'keypair': {'name': 'a'}})])
        assert client.request('show key pair', 'GET', URL) == {'keypair': {'name': 'a'}}
        assert signal.getsignal(signal.SIGALRM) is task_timeout
        assert 50 < signal.getitimer(signal.ITIMER_REAL)[0] <= 60
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- connection failures in a few words ---------------------------------------------------------------------

def test_dns_failure_is_short_and_names_what_to_check():
    client = HttpClient(retries=0)
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('list IAM projects', 'GET', 'https://iam.cn-nrth-4.example.invalid/v3/projects', service='IAM')
    assert str(exc.value) == (
        "IAM call 'list IAM projects' failed: could not reach iam.cn-nrth-4.example.invalid: the host name could not "
        "be resolved (DNS lookup failed). Check region and cloud, which build the default endpoints, or "
        "kps_endpoint/iam_endpoint")


def test_refused_connection_is_short():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(HuaweiCloudError) as exc:
        HttpClient(retries=0).request('show key pair', 'GET', 'http://127.0.0.1:%d/x' % port)
    assert str(exc.value) == ("KPS call 'show key pair' failed: could not reach 127.0.0.1:%d: connection refused "
                              "(nothing listens on that port)" % port)


# --- the CA bundle ----------------------------------------------------------------------------------------

def test_ca_bundle_problems(tmp_path, monkeypatch):
    from integration.test_tls import make_ca  # pylint: disable=import-outside-toplevel
    good = make_ca(tmp_path)['ca']
    (tmp_path / 'empty.pem').write_text('')
    (tmp_path / 'junk.pem').write_text('not a certificate\n')
    assert ca_bundle_problem(good, 'ca_path') is None
    assert ca_bundle_problem(str(tmp_path), 'ca_path') is None  # a c_rehash directory
    assert ca_bundle_problem(str(tmp_path / 'nope.pem'), 'ca_path') == (
        'ca_path %s does not exist. Give the path of a PEM file of CA certificates.' % (tmp_path / 'nope.pem'))
    for name in ('empty.pem', 'junk.pem'):
        assert ca_bundle_problem(str(tmp_path / name), 'ca_path').startswith(
            'ca_path %s holds no usable PEM CA certificate' % (tmp_path / name))
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(tmp_path / 'gone.pem'))
    assert HttpClient().ca_bundle_problem().startswith(
        'The CA bundle REQUESTS_CA_BUNDLE (environment variable) %s does not exist' % (tmp_path / 'gone.pem'))
    assert HttpClient(ca_path=good).ca_bundle_problem() is None
    assert HttpClient(validate_certs=False).ca_bundle_problem() is None


def test_announced_length_over_the_cap_is_refused_before_reading():
    client, _adapter = _stub_client([reply(200, None, raw=b'{}', headers={'Content-Length': str(5 << 20)})])
    with pytest.raises(HuaweiCloudError) as exc:
        client.request('show key pair', 'GET', URL)
    assert 'is larger than 4 MiB' in str(exc.value)


# --- redirects ------------------------------------------------------------------------------------------------

class _Redirect(QuietHandler):
    """Records each request in ``server.seen``; answers ``server.location`` with a 307 when it is set, else 200."""

    protocol_version = 'HTTP/1.0'

    def _serve(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.server.seen.append((self.command, self.path, dict(self.headers), body))
        self.send_response(307 if self.server.location else 200)
        if self.server.location:
            self.send_header('Location', self.server.location + self.path)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'{}')

    do_GET = do_POST = _serve


@pytest.fixture
def two_servers():
    """(first url, first's requests, second url, second's requests): the first answers 307 to the second."""
    with local_server(_Redirect) as second, local_server(_Redirect) as first:
        second.seen, second.location = [], None
        first.seen, first.location = [], second.url
        yield first.url, first.seen, first.location, second.seen


@pytest.mark.parametrize('method, auth, header', [
    ('POST', TokenAuth('redirect-token-0123456789', 'p1'), 'X-Auth-Token'),
    ('GET', TokenAuth('redirect-token-0123456789', 'p1'), 'X-Auth-Token'),
    ('GET', AkSkSigner('AK', 'SK', security_token='redirect-sts-token-0123456789'), 'X-Security-Token'),
])
def test_a_redirect_is_never_followed(two_servers, private_key, method, auth, header):
    """requests strips only Authorization when it follows a redirect: the token headers and the body would go."""
    first, first_seen, second, second_seen = two_servers
    http = HttpClient(auth=auth, retries=2, sleep=lambda seconds: None)
    body = {'keypair': {'name': 'a', 'key_protection': {'private_key': private_key}}} if method == 'POST' else None
    with pytest.raises(HuaweiCloudError) as exc:
        http.request('call', method, first + '/v3/p1/keypairs', json=body)
    assert second_seen == []  # nothing, not even once
    assert len(first_seen) == 1 and first_seen[0][2][header] and (json.dumps(private_key)[1:-1].encode() in first_seen[0][3]) is bool(body)
    assert (exc.value.status, exc.value.reason) == (307, (
        '%s answered with a redirect to %s/v3/p1/keypairs, which is never followed: it would send the credentials '
        'and the request to another address. Check kps_endpoint/iam_endpoint' % (first.split('//')[1], second)))
