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
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import os
import random
import re
import time
import traceback
import warnings

from urllib.parse import quote

try:
    import requests
    import requests.exceptions
    import requests.utils
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None


USER_AGENT = 'ansible-collection-huaweicloud.kps'
DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
BACKOFF_BASE = 1.0
BACKOFF_MAX = 20.0
RETRY_AFTER_MAX = 60.0

RETRY_STATUS = frozenset((429, 500, 502, 503, 504))
# KPS codes documented as server-side failures (HTTP 500).
RETRYABLE_KPS_CODES = frozenset(('KPS.0003', 'KPS.0004', 'KPS.5001', 'KPS.5002', 'KPS.5003', 'KPS.5004', 'KPS.6007'))
# Authentication/signature failures: retrying only brings the AK lock-out closer.
NEVER_RETRY_CODES = frozenset(('APIGW.0301',))
NOT_FOUND_CODES = frozenset(('KPS.4016', 'KPS.6004'))

_IDEMPOTENT_METHODS = frozenset(('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'))
_USERINFO = re.compile(r'(\w+://)[^/@\s]+@')


def _redact(text):
    """Drop user:password@ from any URL in a message (proxy URLs can carry credentials)."""
    return _USERINFO.sub(r'\1***@', str(text))


class HuaweiCloudError(Exception):
    """A failed call. ``str()`` reads e.g.
    "KPS call 'show key pair' failed: HTTP 400 KPS.6004: <msg> (request id ...)".
    Attributes: call, status, error_code, error_msg, request_id, service, reason, attempts.
    """

    def __init__(self, call, status=None, error_code=None, error_msg=None, request_id=None, service='KPS',
                 reason=None, attempts=1):
        self.call = call
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.service = service
        self.reason = reason
        self.attempts = attempts
        super(HuaweiCloudError, self).__init__(str(self))

    def __str__(self):
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
    def not_found(self):
        return self.status == 404 or self.error_code in NOT_FOUND_CODES


def canonical_query(params):
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


class HttpResponse(object):
    """status, headers (case-insensitive), content (bytes), data (parsed per ``expect``), request_id."""

    def __init__(self, status, headers, content, data, request_id):
        self.status = status
        self.headers = headers
        self.content = content
        self.data = data
        self.request_id = request_id


_DEFAULT = object()


def _request_id(response, body=None):
    rid = response.headers.get('X-Request-Id') or response.headers.get('X-Openstack-Request-Id')
    if not rid and isinstance(body, dict):
        rid = body.get('request_id')
    return rid


def _describe_body(response):
    if not response.content:
        return 'the response body is empty'
    return 'the response is not JSON (Content-Type: %s, %d bytes)' % (
        response.headers.get('Content-Type') or 'none', len(response.content))


def _parse_json(content):
    return jsonlib.loads(content.decode('utf-8'))


def error_from_response(call, response, service='KPS'):
    """Build a HuaweiCloudError from a non-2xx response (KPS, API gateway and IAM error shapes)."""
    body = None
    try:
        body = _parse_json(response.content)
    except (ValueError, UnicodeDecodeError):
        pass
    code = msg = None
    if isinstance(body, dict):
        inner = body.get('error') if isinstance(body.get('error'), dict) else body
        code = inner.get('error_code') or inner.get('code')
        if isinstance(code, int):
            code = None  # Keystone-style IAM errors repeat the HTTP status as 'code': it is no error code
        msg = inner.get('error_msg') or inner.get('message')
        if not code and not msg and isinstance(body.get('error'), str):
            msg = body['error']
    reason = None
    if body is None:
        reason = _describe_body(response)
    return HuaweiCloudError(call, status=response.status_code, error_code=code if code is None else str(code),
                            error_msg=msg, request_id=_request_id(response, body), service=service,
                            reason=reason)


def _retry_after(response):
    value = response.headers.get('Retry-After')
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


class HttpClient(object):
    """Holds the one requests.Session of a module run; see the module docstring for the retry rules.

    ``auth``: default auth object (``apply(method, url, headers, body) -> headers``; optional
    ``refreshable``/``refresh()`` for token login); ``warn``: callable taking one string;
    ``sleep``/``rand``: injectable for tests.
    """

    def __init__(self, auth=None, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, warn=None, session=None, sleep=time.sleep, rand=random.random,
                 backoff_base=BACKOFF_BASE, backoff_max=BACKOFF_MAX, retry_after_max=RETRY_AFTER_MAX,
                 user_agent=USER_AGENT):
        if not HAS_REQUESTS:
            raise RuntimeError('The Python library requests is required.')
        self.auth = auth
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        # (connect, read) timeouts: an int applies to both.
        self.timeout = tuple(timeout) if isinstance(timeout, (list, tuple)) else (timeout, timeout)
        self.retries = max(0, int(retries or 0))
        self.warn = warn or (lambda msg: None)
        self.sleep = sleep
        self.rand = rand
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.user_agent = user_agent
        self.session = session if session is not None else requests.Session()
        # trust_env would let ~/.netrc replace our Authorization header; proxies and the CA bundle
        # variables are read explicitly below instead.
        self.session.trust_env = False

    def close(self):
        self.session.close()

    def _verify(self):
        if not self.validate_certs:
            return False
        if self.ca_path:
            return self.ca_path
        return os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE') or True

    def _backoff(self, attempt):
        delay = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return delay / 2.0 + self.rand() * delay / 2.0

    def request(self, call, method, url, json=None, params=None, expect='json', **kwargs):
        """Send and return the parsed body: JSON data ('json'), raw bytes ('bytes') or None ('none')."""
        return self.send(call, method, url, json=json, params=params, expect=expect, **kwargs).data

    def send(self, call, method, url, json=None, params=None, expect='json', headers=None, auth=_DEFAULT,
             service='KPS', idempotent=None):
        """Send one logical call (with retries) and return an HttpResponse; raise HuaweiCloudError."""
        method = method.upper()
        if auth is _DEFAULT:
            auth = self.auth
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        query = canonical_query(params)
        full_url = url + ('?' + query if query else '')
        base_headers = {'User-Agent': self.user_agent}
        body = None
        if json is not None:
            # Serialised once: the signature covers exactly these bytes, on every attempt.
            body = jsonlib.dumps(json, separators=(',', ':')).encode('utf-8')
            base_headers['Content-Type'] = 'application/json'
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
                with warnings.catch_warnings():
                    if not self.validate_certs:
                        warnings.simplefilter('ignore')  # the module warns once about validate_certs=false
                    response = self.session.request(
                        method, full_url, data=body, headers=request_headers, timeout=self.timeout,
                        verify=self._verify(), proxies=requests.utils.get_environ_proxies(full_url),
                        allow_redirects=False)
            except requests.exceptions.SSLError as exc:
                raise HuaweiCloudError(call, service=service, reason=(
                    'TLS connection to %s failed: %s. If the endpoint uses a private CA, set ca_path to its '
                    'CA bundle; validate_certs=false turns the check off (tests only).'
                    % (_host(full_url), _redact(_short(exc)))))
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                # A connect timeout/refusal never reached the server; anything else may have.
                unsent = isinstance(exc, requests.exceptions.ConnectTimeout) or _is_connect_failure(exc)
                what = 'a timeout' if isinstance(exc, requests.exceptions.Timeout) else 'a connection error'
                if attempt < attempts and (idempotent or unsent):
                    self._wait(call, attempt, attempts, '%s (%s)' % (what, exc.__class__.__name__), None)
                    continue
                reason = 'could not reach %s: %s' % (_host(full_url), _redact(_short(exc)))
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
                return self._success(call, response, expect, service)

            error = error_from_response(call, response, service)
            if error.error_code in NEVER_RETRY_CODES:
                if error.error_code == 'APIGW.0301':
                    error.reason = ('Check access_key/secret_key and that the clock of the host running the '
                                    'module is right (not retried: repeated failures lock the access key)')
                raise error
            if (status == 401 and auth is not None and getattr(auth, 'refreshable', False) and not refreshed):
                # Expired token after a password login: log in again and repeat once (not a retry).
                refreshed = True
                auth.refresh()
                attempt -= 1
                continue
            if attempt < attempts and self._retryable(status, error, idempotent):
                self._wait(call, attempt, attempts, 'HTTP %s' % status,
                           _retry_after(response) if status in (429, 503) else None)
                continue
            error.attempts = attempt
            if status >= 500 and not idempotent:
                error.reason = ((error.reason + '. ') if error.reason else '') + (
                    'The request may or may not have been carried out; run the task again '
                    '(it reads the current state first)')
            raise error

    @staticmethod
    def _retryable(status, error, idempotent):
        if status not in RETRY_STATUS:
            return False
        if status == 429:
            return True  # throttled: the server did nothing
        if not idempotent:
            return False
        if status == 500 and error.error_code and str(error.error_code).startswith('KPS.'):
            return error.error_code in RETRYABLE_KPS_CODES
        return True

    def _wait(self, call, attempt, attempts, what, retry_after):
        delay = self._backoff(attempt) if retry_after is None else min(retry_after, self.retry_after_max)
        self.warn("huaweicloud.kps: retrying '%s' after %s (attempt %d of %d)" % (call, what, attempt + 1, attempts))
        self.sleep(delay)

    @staticmethod
    def _success(call, response, expect, service):
        rid = _request_id(response)
        data = None
        if expect == 'json':
            try:
                data = _parse_json(response.content)
            except (ValueError, UnicodeDecodeError):
                raise HuaweiCloudError(call, status=response.status_code, request_id=rid, service=service, reason=(
                    'expected a JSON answer but %s; check that kps_endpoint/iam_endpoint point at the '
                    'Huawei Cloud API' % _describe_body(response)))
        elif expect == 'bytes':
            data = response.content
        return HttpResponse(response.status_code, response.headers, response.content, data, rid)


def _host(url):
    match = re.match(r'^\w+://(?:[^/@]*@)?([^/?#]*)', url)
    return match.group(1) if match else '?'


def _short(exc):
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + '...'


def _is_connect_failure(exc):
    # requests wraps urllib3's NewConnectionError (refused, DNS) in ConnectionError: not sent.
    text = repr(exc.args[0]) if exc.args else ''
    return 'NewConnectionError' in text or 'NameResolutionError' in text or 'ProxyError' in exc.__class__.__name__


def quote_path_segment(value):
    """Quote a value for use as one URL path segment (as the SDK does for path parameters)."""
    return quote(str(value), safe='')
