# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""One HTTP client per module run: TLS, timeouts, proxies, retries, and one error type.

Retries (``retries``, default 3, so at most 4 attempts; 0 disables them), with exponential backoff
and jitter (1 s, 2 s, 4 s, ... capped at 20 s, each randomised to between half and all of that):
- connection failures and read timeouts;
- HTTP 429 (``Retry-After`` honoured, capped at 60 s);
- HTTP 500 (unless it carries a KPS code that is not in the retryable list), 502, 503, 504.
Never retried: any other 4xx, and APIGW.0301 in particular (bad signature or clock skew: five
failures lock the access key for five minutes).

Requests that are not safe to repeat (POST unless the caller says ``idempotent=True``) are only
retried when the server certainly did not act on them: the connection could not be made, or HTTP
429. After a read timeout or a 5xx such a request fails with a message saying its outcome is unknown;
the modules read the current state before writing, so running the task again is safe.

Each attempt is signed afresh (new X-Sdk-Date) and each retry is reported through the injected
``warn`` callable, naming the call and the status, never a body or header.

Each attempt has one deadline, ``timeout`` seconds from its start, for connecting, waiting for the answer
and reading it (a server that trickles bytes cannot hold a call longer); answers larger than
``MAX_RESPONSE_BYTES`` are refused while they arrive. A whole call therefore takes at most
(retries + 1) x timeout seconds plus the waits between attempts.

The endpoint's text is not trusted: ``HuaweiCloudError`` passes every text it carries through
``scrub()``, which cuts PEM blocks, removes every registered secret of the task (``register_secrets``;
the module registers its ``no_log`` values, the client the secret fields of each request body, the
password login its token) in raw, JSON-escaped and URL-encoded form, and cuts the server's text short.
"""

from __future__ import annotations

import email.utils
import errno
import ipaddress
import json as jsonlib
import os
import random
import re
import signal
import socket
import ssl
import threading
import time
import traceback
import warnings
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import quote, quote_plus

try:
    import requests
    import requests.exceptions
    import requests.models
    import requests.utils
    import urllib3
    import urllib3.exceptions
    import urllib3.util
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError

USER_AGENT = 'ansible-collection-huaweicloud.kps'
DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
BACKOFF_BASE = 1.0
BACKOFF_MAX = 20.0
RETRY_AFTER_MAX = 60.0
# A batch archive of 10 keys is tens of KiB; anything this large is not a KPS or IAM answer.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
# How much of the server's own words (error_msg, ...) a message keeps.
MAX_SERVER_TEXT = 300
# SDK Content-Type: charset added (lower-cased by the SDK's select_header_content_type) when a body is sent.
CONTENT_TYPE_BODY = 'application/json;charset=utf-8'
CONTENT_TYPE_NO_BODY = 'application/json'

RETRY_STATUS = frozenset((429, 500, 502, 503, 504))
# KPS codes documented as server-side failures (HTTP 500).
RETRYABLE_KPS_CODES = frozenset(('KPS.0003', 'KPS.0004', 'KPS.5001', 'KPS.5002', 'KPS.5003', 'KPS.5004', 'KPS.6007'))
# Authentication/signature failures: retrying only brings the AK lock-out closer.
NEVER_RETRY_CODES = frozenset(('APIGW.0301',))
NOT_FOUND_CODES = frozenset(('KPS.4016', 'KPS.6004'))

_IDEMPOTENT_METHODS = frozenset(('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'))
_USERINFO = re.compile(r'(\w+://)[^/@\s]+@')


def _redact(text: object) -> str:
    """Drop user:password@ from any URL in a message (proxy URLs can carry credentials)."""
    return _USERINFO.sub(r'\1***@', str(text))


# ---- what the endpoint says is not trusted: the one scrubber of every message -------------------------

# A PEM block in any encoding the server could echo (raw, JSON-escaped, URL-encoded), closed or cut off.
_PEM_BLOCK = re.compile(r'-----BEGIN[^-]{0,100}-----.*?(?:-----END[^-]{0,100}-----|\Z)', re.DOTALL)
_PEM_BODY_LINE = re.compile(r'^[A-Za-z0-9+/=]{16,}$')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]+')
_PERCENT = re.compile(r'%[0-9A-F]{2}')
# Request body fields whose values are secrets (KPS private_key, IAM password, ...).
_SECRET_FIELD = re.compile(r'private_key|password|passphrase|secret|token', re.IGNORECASE)
_MIN_SECRET = 4
# Registered values are kept as given until scrub() needs them (most runs scrub nothing, and the forms of a
# 2048-bit RSA key cost a millisecond: a second for a migration of 1000 keys); scrub() then adds their forms
# to _secrets and to _secret_index, the forms by their first _MIN_SECRET characters, longest first. (A regex
# alternation of every form took seconds to compile per thousand forms and was compiled again after each
# registration: a migration of 1000 RSA keys, about 100 000 forms, whose batches reported failures spent
# minutes there.)
_registered: set[str] = set()
_pending: list[str] = []
_secrets: set[str] = set()
_secret_index: dict[str, list[str]] = {}


def _escaped_forms(text: str) -> set[str]:
    json_ascii = jsonlib.dumps(text)[1:-1]
    forms = {text, json_ascii, jsonlib.dumps(text, ensure_ascii=False)[1:-1], jsonlib.dumps(json_ascii)[1:-1],
             json_ascii.replace('/', '\\/')}
    for url_form in (quote(text, safe=''), quote_plus(text), quote(json_ascii, safe='')):
        forms.update((url_form, _PERCENT.sub(lambda match: match.group().lower(), url_form)))
    return forms


def register_secrets(*values: Any) -> None:
    """Make ``scrub`` remove these values (strings, or lists/dicts of them) from every message."""
    for value in values:
        if isinstance(value, dict):
            register_secrets(*value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            register_secrets(*value)
        elif isinstance(value, bytes):
            register_secrets(value.decode('utf-8', 'replace'))
        elif isinstance(value, str):
            value = value.strip()
            if len(value) >= _MIN_SECRET and value not in _registered:
                _registered.add(value)
                _pending.append(value)


def _index_pending() -> None:
    """Add the forms of the values registered since the last call to ``_secrets`` and ``_secret_index``."""
    touched = set()
    for value in _pending:
        parts = [value]
        if '-----BEGIN' in value:
            # Each base64 line too (some of the first lines may also be in the public key: such a line
            # is then removed from public key text as well, which costs a message nothing).
            lines = [line.strip() for line in value.splitlines()]
            body = [line for line in lines if _PEM_BODY_LINE.match(line)]
            parts.extend(body)
            parts.append(''.join(body))
        new = set(form for part in parts for form in _escaped_forms(part) if len(form) >= _MIN_SECRET) - _secrets
        _secrets.update(new)
        for form in new:
            _secret_index.setdefault(form[:_MIN_SECRET], []).append(form)
            touched.add(form[:_MIN_SECRET])
    del _pending[:]
    for prefix in touched:
        _secret_index[prefix].sort(key=len, reverse=True)


def forget_secrets() -> None:
    """Drop every registered secret (one module run is one task; tests start afresh)."""
    _registered.clear()
    del _pending[:]
    _secrets.clear()
    _secret_index.clear()


def _register_body_secrets(data: Any, secret: bool = False) -> None:
    """Register the values of the secret fields of a request body, wherever they are nested."""
    if isinstance(data, dict):
        for key, value in data.items():
            _register_body_secrets(value, secret or bool(_SECRET_FIELD.search(str(key))))
    elif isinstance(data, (list, tuple)):
        for value in data:
            _register_body_secrets(value, secret)
    elif secret and isinstance(data, str):
        register_secrets(data)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a URL's hostname) is this machine: localhost, 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host.lower().rstrip('.') == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(url: str) -> str | None:
    """The host that requests connects to for ``url``: requests' own preparation of the URL (urllib3's
    ``parse_url``), lower-case, without the brackets of an IPv6 address; None when it cannot be parsed.

    ``urlsplit`` can read another host out of the same text (``http://10.1.2.3:8080\\[::1]`` is ``::1`` to it and
    10.1.2.3 to requests): every decision about where a request goes uses this.
    """
    if not HAS_REQUESTS:
        return None
    try:
        prepared = requests.models.PreparedRequest()
        prepared.prepare_url(url, None)
        host = urllib3.util.parse_url(prepared.url).host
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, ValueError, UnicodeError):
        return None
    return host.strip('[]').lower() if host else None


def environment_proxies(url: str) -> dict[str, str]:
    """The proxies of the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) for ``url``.

    An endpoint on this machine is never reached through a proxy elsewhere: that proxy cannot reach it (its
    loopback is another machine's), and for a plain http:// endpoint it would get the signed requests, tokens,
    the IAM password and private keys unencrypted. A proxy on this machine is kept.
    """
    proxies = requests.utils.get_environ_proxies(url)
    if is_loopback(url_host(url)):
        proxies = dict((scheme, proxy) for scheme, proxy in proxies.items()
                       if is_loopback(url_host(proxy if '//' in proxy else 'http://' + proxy)))
    return proxies


def scrub(text: object, limit: int = MAX_SERVER_TEXT) -> str:
    """``text`` fit for a message: PEM blocks cut, registered secrets removed, control characters
    replaced, at most ``limit`` characters."""
    text = _PEM_BLOCK.sub('[PEM block removed]', str(text))
    if _pending:
        _index_pending()
    if _secrets:
        text = _remove_secrets(text)
    text = _CONTROL.sub(' ', text).strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + '...[cut]'
    return text


def _remove_secrets(text: str) -> str:
    """Every registered form in ``text`` replaced, as a regex alternation of the forms, longest first, would:
    from left to right, at each place the longest form that starts there."""
    parts, start, index = [], 0, 0
    last = len(text) - _MIN_SECRET
    while index <= last:
        candidates = _secret_index.get(text[index:index + _MIN_SECRET])
        form = next((form for form in candidates if text.startswith(form, index)), None) if candidates else None
        if form is None:
            index += 1
            continue
        parts.append(text[start:index])
        parts.append('[secret removed]')
        index = start = index + len(form)
    if not parts:
        return text
    parts.append(text[start:])
    return ''.join(parts)


def _scrubbed(name: str, limit: int) -> property:
    """An attribute that holds ``scrub(value, limit)`` of whatever is assigned to it."""
    attr = '_' + name

    def get(self: object) -> str | None:
        return getattr(self, attr, None)

    def set_(self: object, value: object) -> None:
        setattr(self, attr, None if value is None else scrub(value, limit))

    return property(get, set_)


class HuaweiCloudError(KpsError):
    """A failed call. ``str()`` reads e.g.
    "KPS call 'show key pair' failed: HTTP 400 KPS.6004: <msg> (request id ...)".
    Attributes: call, status, error_code, error_msg, request_id, service, reason, attempts.
    Every text attribute is scrubbed when it is set (see ``scrub``): the endpoint's words are not trusted.
    ``msg`` and ``details`` (error_code, request_id, status, call) follow the attributes.
    """

    error_code = _scrubbed('error_code', 64)
    error_msg = _scrubbed('error_msg', MAX_SERVER_TEXT)
    request_id = _scrubbed('request_id', 128)
    reason = _scrubbed('reason', 4 * MAX_SERVER_TEXT)

    def __init__(self, call: str, status: int | None = None, error_code: str | None = None, error_msg: str | None = None,
                 request_id: str | None = None, service: str = 'KPS', reason: str | None = None, attempts: int = 1) -> None:
        self.call = call
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.service = service
        self.reason = reason
        self.attempts = attempts
        super().__init__(str(self))

    @property
    def details(self) -> dict[str, Any]:
        return dict(error_code=self.error_code, request_id=self.request_id, status=self.status, call=self.call)

    def __str__(self) -> str:
        text = "%s call '%s' failed: " % (self.service, self.call)
        details = []
        if self.status is not None:
            details.append('HTTP %s' % self.status)
        if self.error_code:
            details.append(str(self.error_code))
        text += ' '.join(details)
        if self.error_msg:
            text += (': ' if details else '') + str(self.error_msg)
        if self.reason:
            text += ('. ' if self.error_msg else ': ' if details else '') + str(self.reason)
        extra = []
        if self.request_id:
            extra.append('request id %s' % self.request_id)
        if self.attempts > 1:
            extra.append('gave up after %d attempts' % self.attempts)
        if extra:
            text += ' (%s)' % '; '.join(extra)
        return text

    @property
    def not_found(self) -> bool:
        return self.status == 404 or self.error_code in NOT_FOUND_CODES


def canonical_query(params: Mapping[str, Any] | list[tuple[str, Any]] | None) -> str:
    """Query string in the signer's canonical form, which is also what is sent.

    Pairs sorted by raw key then value, both percent-quoted (safe '~', space is %20); ``params`` is a
    dict or a list of pairs; a list/tuple value repeats the key; None values are dropped.
    """
    if not params:
        return ''
    items = params.items() if isinstance(params, dict) else params
    pairs = []
    for key, value in items:
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((str(key), str(v).lower() if isinstance(v, bool) else str(v)) for v in values)
    pairs.sort()
    return '&'.join('%s=%s' % (quote(k, safe='~'), quote(v, safe='~')) for k, v in pairs)


class HttpResponse:
    """status, headers (case-insensitive), content (bytes), data (parsed per ``expect``), request_id."""

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes, data: Any, request_id: str | None) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.data = data
        self.request_id = request_id


_DEFAULT = object()


def _request_id(headers: Mapping[str, str], body: Any = None) -> str | None:
    rid = headers.get('X-Request-Id') or headers.get('X-Openstack-Request-Id')
    if not rid and isinstance(body, dict):
        rid = body.get('request_id')
    return rid


def _describe_body(headers: Mapping[str, str], content: bytes) -> str:
    if not content:
        return 'the response body is empty'
    return 'the response is not JSON (Content-Type: %s, %d bytes)' % (
        scrub(headers.get('Content-Type') or 'none', 100), len(content))


def _parse_json(content: bytes) -> Any:
    return jsonlib.loads(content.decode('utf-8'))


# The error body shapes huaweicloudsdkcore's DefaultExceptionHandler reads, in its order: a dict holding
# both keys of a pair, at the top level or in any nested dict.
_ERROR_SHAPES = (('error_code', 'error_msg'), ('errorCode', 'errorMsg'), ('code', 'message'))


def _find_error(body: Any, depth: int = 0) -> tuple[Any, Any] | None:
    if not isinstance(body, dict) or depth > 10:
        return None
    for code_key, msg_key in _ERROR_SHAPES:
        if code_key in body and msg_key in body:
            return body[code_key], body[msg_key]
    for value in body.values():
        found = _find_error(value, depth + 1)
        if found:
            return found
    return None


def error_from_response(call: str, status: int, headers: Mapping[str, str], content: bytes,
                        service: str = 'KPS') -> HuaweiCloudError:
    """Build a HuaweiCloudError from a non-2xx answer (every error body shape the SDK reads)."""
    body = None
    try:
        body = _parse_json(content)
    except (ValueError, UnicodeDecodeError):
        pass
    code = msg = None
    found = _find_error(body)
    if found:
        code, msg = found
    elif isinstance(body, dict):
        # Half of a shape: still better than nothing.
        inner = body.get('error') if isinstance(body.get('error'), dict) else body
        code = inner.get('error_code') or inner.get('errorCode') or inner.get('code')
        msg = inner.get('error_msg') or inner.get('errorMsg') or inner.get('message')
        if not code and not msg and isinstance(body.get('error'), str):
            msg = body['error']
    if isinstance(code, (int, float, bool)) or (code is not None and not isinstance(code, str)):
        code = None  # Keystone-style IAM errors repeat the HTTP status as 'code': it is no error code
    if msg is not None and not isinstance(msg, str):
        msg = jsonlib.dumps(msg)
    reason = None
    if body is None:
        reason = _describe_body(headers, content)
    return HuaweiCloudError(call, status=status, error_code=code or None, error_msg=msg or None,
                            request_id=_request_id(headers, body), service=service, reason=reason)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get('Retry-After')
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds)


class _DeadlineExceeded(Exception):
    """An attempt ran past its deadline (raised from the alarm)."""


class _TooLarge(Exception):
    """The answer is larger than MAX_RESPONSE_BYTES."""


class _Deadline:
    """Interrupts whatever the attempt is blocked in (connect, headers, body) once ``seconds`` have passed.

    Uses SIGALRM, so it works in the main thread only, where modules run, and only while no one else uses it: in
    an Ansible process (a lookup on the controller, under a task's ``timeout``) a pending alarm or a SIGALRM
    handler of someone else is left alone. Elsewhere only the per-read socket timeouts apply.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._previous = None
        self._armed = False

    def _fire(self, signum: int, frame: Any) -> None:
        raise _DeadlineExceeded()

    def __enter__(self) -> _Deadline:
        if (hasattr(signal, 'setitimer') and threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
                and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)):
            self._previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self._armed = True
        return self

    def __exit__(self, *exc_info: object) -> bool:
        if self._armed:
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
            finally:
                signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
        return False


def ca_bundle_problem(path: str, source: str, load: bool = True) -> str | None:
    """Why the CA bundle at ``path`` (named ``source`` in the message) cannot be used, or None.

    Loading a bundle costs about 15 ms of CPU (150 certificates). Without ``load`` (no endpoint uses TLS, so it is
    never loaded) only what is cheap is checked: that it exists, can be read and holds a PEM block.
    """
    if os.path.isdir(path):
        if not os.access(path, os.R_OK | os.X_OK):
            return '%s %s is a directory that cannot be read.' % (source, path)
        return None
    try:
        if load:
            ssl.create_default_context(cafile=path)
        else:
            with open(path, 'rb') as handle:
                if b'-----BEGIN ' not in handle.read():
                    raise ssl.SSLError('no PEM block')  # what loading it would raise
    except FileNotFoundError:
        return '%s %s does not exist. Give the path of a PEM file of CA certificates.' % (source, path)
    except PermissionError:
        return '%s %s cannot be read (permission denied) by the user running the module.' % (source, path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        return ('%s %s holds no usable PEM CA certificate (%s). Give the path of a PEM file of CA certificates.'
                % (source, path, exc.__class__.__name__))
    return None


class Auth(Protocol):
    """What authenticates a request (``_auth``: AkSkSigner, TokenAuth, PasswordAuth); called on every attempt.

    An auth with ``refreshable`` true also has ``refresh()``, called once when a call answers 401.
    """

    def apply(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        """The headers to send: ``headers`` plus what authenticates this attempt."""


class HttpClient:
    """Holds the one requests.Session of a module run; see the module docstring for the retry rules.

    ``auth``: default Auth (``apply(method, url, headers, body) -> headers``; optional
    ``refreshable``/``refresh()`` for token login); ``warn``: callable taking one string;
    ``sleep``/``rand``: injectable for tests.
    """

    def __init__(self, auth: Auth | None = None, validate_certs: bool = True, ca_path: str | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, retries: int | None = DEFAULT_RETRIES,
                 warn: Callable[[str], None] | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random,
                 backoff_base: float = BACKOFF_BASE, backoff_max: float = BACKOFF_MAX,
                 retry_after_max: float = RETRY_AFTER_MAX, user_agent: str = USER_AGENT,
                 max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        if not HAS_REQUESTS:
            raise RuntimeError('The Python library requests is required.')
        self.auth = auth
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        # (connect, read) timeouts: an int applies to both; the larger one is the deadline of an attempt.
        self.timeout = tuple(timeout) if isinstance(timeout, (list, tuple)) else (timeout, timeout)
        self.deadline = max(self.timeout)
        self.retries = max(0, int(retries or 0))
        self.warn = warn or (lambda msg: None)
        self.sleep = sleep
        self.rand = rand
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.user_agent = user_agent
        self.max_response_bytes = max_response_bytes
        self.session = session if session is not None else requests.Session()
        # trust_env would let ~/.netrc replace our Authorization header; proxies and the CA bundle
        # variables are read explicitly below instead.
        self.session.trust_env = False

    def _verify(self) -> bool | str:
        if not self.validate_certs:
            return False
        if self.ca_path:
            return self.ca_path
        return os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE') or True

    def ca_bundle_problem(self, load: bool = True) -> str | None:
        """Why the CA bundle to be used (ca_path, else REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE) is unusable, or None.

        ``load``: load it in full (see the function ``ca_bundle_problem``)."""
        verify = self._verify()
        if not isinstance(verify, str):
            return None
        if self.ca_path:
            source = 'ca_path'
        else:
            source = 'REQUESTS_CA_BUNDLE' if os.environ.get('REQUESTS_CA_BUNDLE') else 'CURL_CA_BUNDLE'
            source = 'The CA bundle %s (environment variable)' % source
        return ca_bundle_problem(verify, source, load)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return delay / 2.0 + self.rand() * delay / 2.0

    def request(self, call: str, method: str, url: str, json: Any = None, params: Mapping[str, Any] | None = None,
                expect: str = 'json', **kwargs: Any) -> Any:
        """Send and return the parsed body: JSON data ('json'), raw bytes ('bytes') or None ('none')."""
        return self.send(call, method, url, json=json, params=params, expect=expect, **kwargs).data

    def _attempt(self, method: str, url: str, body: bytes | None,
                 headers: dict[str, str]) -> tuple[requests.Response, bytes]:
        """One request within one deadline; returns (response, content). Raises requests' exceptions,
        _DeadlineExceeded or _TooLarge."""
        with _Deadline(self.deadline), warnings.catch_warnings():
            if not self.validate_certs:
                warnings.simplefilter('ignore')  # the module warns once about validate_certs=false
            response = self.session.request(
                method, url, data=body, headers=headers, timeout=self.timeout, verify=self._verify(),
                proxies=environment_proxies(url), allow_redirects=False, stream=True)
            try:
                length = response.headers.get('Content-Length') or ''
                if length.isdigit() and int(length) > self.max_response_bytes:
                    raise _TooLarge()
                chunks, size = [], 0
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise _TooLarge()
                    chunks.append(chunk)
            finally:
                response.close()
        return response, b''.join(chunks)

    def send(self, call: str, method: str, url: str, json: Any = None, params: Mapping[str, Any] | None = None,
             expect: str = 'json', headers: Mapping[str, str] | None = None, auth: Any = _DEFAULT,
             service: str = 'KPS', idempotent: bool | None = None) -> HttpResponse:
        """Send one logical call (with retries) and return an HttpResponse; raise HuaweiCloudError."""
        method = method.upper()
        if auth is _DEFAULT:
            auth = self.auth
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        query = canonical_query(params)
        full_url = url + ('?' + query if query else '')
        host = _host(full_url)
        # As the SDK: a JSON Content-Type on every call, with the charset when a body is sent.
        base_headers = {'User-Agent': self.user_agent, 'Content-Type': CONTENT_TYPE_NO_BODY}
        body = None
        if json is not None:
            # Serialised once: the signature covers exactly these bytes, on every attempt.
            body = jsonlib.dumps(json, separators=(',', ':')).encode('utf-8')
            base_headers['Content-Type'] = CONTENT_TYPE_BODY
            _register_body_secrets(json)  # so that an endpoint echoing the request cannot show them
        if expect == 'json':
            base_headers['Accept'] = 'application/json'
        base_headers.update(headers or {})

        attempts = self.retries + 1
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            request_headers = dict(base_headers)
            if auth is not None:
                request_headers = auth.apply(method, full_url, request_headers, body)
            try:
                response, content = self._attempt(method, full_url, body, request_headers)
            except requests.exceptions.SSLError as exc:
                raise HuaweiCloudError(call, service=service, reason=_tls_problem(exc, host))
            except _TooLarge:
                raise HuaweiCloudError(call, service=service, reason=(
                    'the answer from %s is larger than %d MiB, far more than any KPS or IAM answer; check that '
                    'kps_endpoint/iam_endpoint point at the Huawei Cloud API' % (host, self.max_response_bytes >> 20)))
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, _DeadlineExceeded) as exc:
                # A connect timeout/refusal never reached the server; anything else may have.
                unsent = isinstance(exc, requests.exceptions.ConnectTimeout) or _is_connect_failure(exc)
                timed_out = isinstance(exc, (requests.exceptions.Timeout, _DeadlineExceeded))
                what = 'a timeout' if timed_out else 'a connection error'
                if attempt < attempts and (idempotent or unsent):
                    self._wait(call, attempt, attempts, '%s (%s)' % (what, exc.__class__.__name__.lstrip('_')), None)
                    continue
                reason = 'could not reach %s: %s' % (host, _connection_problem(exc, self.deadline))
                if not unsent and not idempotent:
                    reason += ('. The request may or may not have been carried out; run the task again '
                               '(it reads the current state first)')
                raise HuaweiCloudError(call, service=service, reason=reason, attempts=attempt)
            except requests.exceptions.RequestException as exc:
                # e.g. an invalid header value: the exception text could quote a token, so name the type only.
                raise HuaweiCloudError(call, service=service, reason='the request could not be sent (%s)'
                                       % exc.__class__.__name__)

            status = response.status_code
            if 200 <= status < 300:
                return self._success(call, response, content, expect, service)

            error = error_from_response(call, status, response.headers, content, service)
            if 300 <= status < 400:
                # Never followed (requests is told not to): another host would get the body (private keys, the IAM
                # password) and X-Auth-Token/X-Security-Token, which requests does not strip.
                location = response.headers.get('Location')
                error.reason = ('%s answered with a redirect%s, which is never followed: it would send the '
                                'credentials and the request to another address. Check kps_endpoint/iam_endpoint'
                                % (host, ' to %s' % scrub(location, 100) if location else ''))
                raise error
            if error.error_code in NEVER_RETRY_CODES:
                if error.error_code == 'APIGW.0301':
                    # What to check depends on the credentials: AK/SK and the clock, or the token.
                    error.reason = getattr(auth, 'rejected_hint', 'Check the credentials')
                raise error
            if (status == 401 and auth is not None and getattr(auth, 'refreshable', False) and not refreshed):
                # Expired token after a password login: log in again and repeat once (not a retry).
                refreshed = True
                auth.refresh()
                attempt -= 1
                continue
            if attempt < attempts and self._retryable(status, error, idempotent):
                self._wait(call, attempt, attempts, 'HTTP %s' % status,
                           _retry_after(response.headers) if status in (429, 503) else None)
                continue
            error.attempts = attempt
            if status >= 500 and not idempotent:
                error.reason = ((error.reason + '. ') if error.reason else '') + (
                    'The request may or may not have been carried out; run the task again '
                    '(it reads the current state first)')
            raise error

    @staticmethod
    def _retryable(status: int, error: HuaweiCloudError, idempotent: bool) -> bool:
        if status not in RETRY_STATUS:
            return False
        if status == 429:
            return True  # throttled: the server did nothing
        if not idempotent:
            return False
        if status == 500 and error.error_code and str(error.error_code).startswith('KPS.'):
            return error.error_code in RETRYABLE_KPS_CODES
        return True

    def _wait(self, call: str, attempt: int, attempts: int, what: str, retry_after: float | None) -> None:
        delay = self._backoff(attempt) if retry_after is None else min(retry_after, self.retry_after_max)
        self.warn("huaweicloud.kps: retrying '%s' after %s (attempt %d of %d)" % (call, what, attempt + 1, attempts))
        self.sleep(delay)

    @staticmethod
    def _success(call: str, response: requests.Response, content: bytes, expect: str, service: str) -> HttpResponse:
        rid = _request_id(response.headers)
        data = None
        if expect == 'json':
            try:
                data = _parse_json(content)
            except (ValueError, UnicodeDecodeError):
                raise HuaweiCloudError(call, status=response.status_code, request_id=rid, service=service, reason=(
                    'expected a JSON answer but %s; check that kps_endpoint/iam_endpoint point at the '
                    'Huawei Cloud API' % _describe_body(response.headers, content)))
        elif expect == 'bytes':
            data = content
        return HttpResponse(response.status_code, response.headers, content, data, rid)


def _host(url: str) -> str:
    match = re.match(r'^\w+://(?:[^/@]*@)?([^/?#]*)', url)
    return match.group(1) if match else '?'


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + '...'


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (requests -> urllib3 -> socket), outermost first."""
    seen, todo = [], [exc]
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or any(current is known for known in seen) or len(seen) > 20:
            continue
        seen.append(current)
        todo.extend([getattr(current, 'reason', None), current.__cause__, current.__context__])
        todo.extend(arg for arg in getattr(current, 'args', ()) if isinstance(arg, BaseException))
    return seen


# What OpenSSL says when the server's first bytes are no TLS record, e.g. a plain HTTP answer.
_NOT_TLS_REASONS = ('WRONG_VERSION_NUMBER', 'UNKNOWN_PROTOCOL', 'RECORD_LAYER_FAILURE', 'PACKET_LENGTH_TOO_LONG')


def _tls_problem(exc: BaseException, host: str) -> str:
    """What went wrong in a TLS handshake with ``host``, and what to do (never urllib3's text)."""
    errors = [cause for cause in _causes(exc) if isinstance(cause, ssl.SSLError)]
    if any(getattr(error, 'reason', None) in _NOT_TLS_REASONS for error in errors):
        return ('%s does not answer in TLS: the endpoint is https:// but the server on that port speaks another '
                'protocol, most likely plain HTTP. Check the URL\'s scheme and port (an endpoint on this machine, '
                'such as the emulator, may be http://)' % host)
    verify = [error for error in errors if isinstance(error, ssl.SSLCertVerificationError)]
    problem = ('certificate verify failed: %s' % (verify[0].verify_message or verify[0].reason) if verify
               else _short(exc))
    return ('TLS connection to %s failed: %s. If the endpoint uses a private CA, set ca_path to its CA bundle; '
            'validate_certs=false turns the check off (tests only).' % (host, _redact(problem)))


def _connection_problem(exc: BaseException, deadline: float) -> str:
    """A short sentence for a failed connection or a timeout (never urllib3's text cut mid-word)."""
    causes = _causes(exc)
    if isinstance(exc, _DeadlineExceeded):
        return 'no complete answer within %s seconds (timeout)' % deadline
    if any(isinstance(c, socket.gaierror) or c.__class__.__name__ == 'NameResolutionError' for c in causes):
        return ('the host name could not be resolved (DNS lookup failed). Check region and cloud, which build '
                'the default endpoints, or kps_endpoint/iam_endpoint')
    if isinstance(exc, requests.exceptions.ProxyError):
        return 'the proxy failed (%s)' % _redact(_short(exc))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return 'no connection within %s seconds (timeout)' % deadline
    if isinstance(exc, requests.exceptions.Timeout) or any(isinstance(c, socket.timeout) for c in causes):
        return 'no answer within %s seconds (timeout)' % deadline
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return 'connection refused (nothing listens on that port)'
        if isinstance(cause, OSError) and cause.errno and cause.errno in errno.errorcode:
            return '%s (%s)' % (os.strerror(cause.errno).lower(), errno.errorcode[cause.errno])
    names = [c.__class__.__name__ for c in causes if c.__class__.__name__ not in ('MaxRetryError',)]
    return 'the connection failed (%s)' % ', '.join(dict.fromkeys(names))


def _is_connect_failure(exc: BaseException) -> bool:
    # requests wraps urllib3's NewConnectionError (refused, DNS) in ConnectionError: not sent.
    text = repr(exc.args[0]) if exc.args else ''
    return 'NewConnectionError' in text or 'NameResolutionError' in text or 'ProxyError' in exc.__class__.__name__


def quote_path_segment(value: object) -> str:
    """Quote a value for use as one URL path segment (as the SDK does for path parameters)."""
    return quote(str(value), safe='')
