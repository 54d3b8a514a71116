# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""Credentials, AK/SK request signing (SDK-HMAC-SHA256), IAM tokens and the project id lookup.

Environment fallbacks live in the argument spec (``_module.COMMON_ARGSPEC``, ``env_fallback`` with
the HW_* name first and the HUAWEICLOUD_SDK_* name second), so by the time ``resolve_credentials``
runs, each option holds "task option, else HW_*, else HUAWEICLOUD_SDK_*". This file then decides
which authentication method the options describe, and refuses missing or contradictory sets with
one message that lists option names only, never values.

The signer reproduces huaweicloudsdkcore's ``Signer`` byte for byte (the unit tests compare the two);
no Huawei SDK is needed at run time.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from typing import Any, Callable, Mapping, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import (
    Auth,
    HttpClient,
    HuaweiCloudError,
    canonical_query,
    is_loopback,
    register_secrets,
    url_host,
)


class CredentialError(KpsError):
    """Missing, incomplete or contradictory credentials / connection options. Holds no secret values."""


DEFAULT_CLOUD = 'myhuaweicloud.com'
# In an endpoint URL: what URL parsers read differently (urlsplit vs requests/urllib3).
_UNCLEAR_URL_CHARS = re.compile(r'[\\\s\x00-\x1f\x7f]')
# region and cloud become part of host names: letters, digits, dots and dashes, not starting with . or -.
HOST_PART_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9.-]{0,252}')

# Option name -> environment variables, in precedence order (used by the argspec and in messages).
ENV_VARS = {
    'region': ['HW_REGION_NAME'],
    'project_id': ['HW_PROJECT_ID', 'HUAWEICLOUD_SDK_PROJECT_ID'],
    'access_key': ['HW_ACCESS_KEY', 'HUAWEICLOUD_SDK_AK'],
    'secret_key': ['HW_SECRET_KEY', 'HUAWEICLOUD_SDK_SK'],
    'security_token': ['HW_SECURITY_TOKEN', 'HUAWEICLOUD_SDK_SECURITY_TOKEN'],
    'auth_token': ['HW_AUTH_TOKEN'],
    'user_name': ['HW_USER_NAME'],
    'user_password': ['HW_USER_PASSWORD'],
    'domain_name': ['HW_DOMAIN_NAME'],
    'cloud': ['HW_CLOUD'],
    'kps_endpoint': ['HW_KPS_ENDPOINT'],
    'iam_endpoint': ['HW_IAM_ENDPOINT'],
}

METHOD_AKSK = 'aksk'
METHOD_TOKEN = 'token'
METHOD_PASSWORD = 'password'

_METHOD_HELP = (
    'Give exactly one of: access_key + secret_key (+ security_token for temporary credentials) '
    '[HW_ACCESS_KEY, HW_SECRET_KEY, HW_SECURITY_TOKEN]; auth_token [HW_AUTH_TOKEN]; '
    'user_name + user_password + domain_name [HW_USER_NAME, HW_USER_PASSWORD, HW_DOMAIN_NAME]. '
    'Options not set on the task are read from these environment variables on the host that runs the module.'
)


class Credentials:
    """The resolved connection settings. ``method`` is 'aksk', 'token' or 'password'."""

    _SECRETS = ('secret_key', 'security_token', 'auth_token', 'user_password')

    def __init__(self, method: str, region: str | None = None, project_id: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None, security_token: str | None = None,
                 auth_token: str | None = None, user_name: str | None = None, user_password: str | None = None,
                 domain_name: str | None = None, kps_endpoint: str | None = None,
                 iam_endpoint: str | None = None) -> None:
        self.method = method
        self.region = region
        self.project_id = project_id
        self.access_key = access_key
        self.secret_key = secret_key
        self.security_token = security_token
        self.auth_token = auth_token
        self.user_name = user_name
        self.user_password = user_password
        self.domain_name = domain_name
        self.kps_endpoint = kps_endpoint
        self.iam_endpoint = iam_endpoint

    def __repr__(self) -> str:
        # Never show secret values, even in a traceback or debugger.
        return '<Credentials method=%s region=%s project_id=%s kps_endpoint=%s>' % (
            self.method, self.region, self.project_id, self.kps_endpoint)


def _clean(value: object) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _host_part(option: str, value: str | None, example: str) -> str | None:
    if value is not None and not HOST_PART_RE.fullmatch(value):
        raise CredentialError(
            '%s %r is not valid: it may only hold letters, digits, dots and dashes, and must not start with a dot '
            'or a dash (for example %s).' % (option, value[:80], example))
    return value


def _endpoint(option: str, value: str, allow_insecure_http: bool = False) -> str:
    """``value`` as the endpoint URL, or CredentialError.

    Where requests will connect is what ``url_host`` (requests' own URL parser) reads; a URL that ``urlsplit``
    reads another host from, or that holds a backslash, white space or a control character (which parsers
    disagree about), is refused, so no check here can judge another host than the one the request goes to.
    """
    value = value.rstrip('/')
    if _UNCLEAR_URL_CHARS.search(value):
        raise CredentialError(
            '%s must be a plain URL like https://host[:port]; it holds a backslash, white space or a control '
            'character, which URL parsers read differently: %r.' % (option, value[:200]))
    try:
        parts = urlsplit(value)
        hostname, _port = parts.hostname, parts.port  # a port that is no number or out of range: ValueError
    except ValueError:
        parts = hostname = None
    if parts is None or parts.scheme not in ('http', 'https') or not parts.netloc:
        raise CredentialError(
            '%s must be a URL like https://host[:port], got "%s".' % (option, value))
    if parts.query or parts.fragment:
        raise CredentialError('%s must not contain a query string or fragment.' % option)
    if '@' in parts.netloc:
        raise CredentialError('%s must not contain a user name or password (user@host).' % option)
    host = url_host(value)
    if not host or host != (hostname or '').lower():
        raise CredentialError(
            '%s "%s" does not name one host: URL parsers read it as %s and %s. Give a plain URL like '
            'https://host[:port].' % (option, value, host or 'nothing', hostname or 'nothing'))
    if parts.scheme == 'http' and not allow_insecure_http and not is_loopback(host):
        raise CredentialError(
            '%s is plain http:// to %s: credentials and private keys would cross the network unencrypted. Use '
            'https://, or set allow_insecure_http=true if this really is a test endpoint.' % (option, host))
    return value


def insecure_endpoints(creds: Credentials) -> list[str]:
    """The option names of the endpoints of ``creds`` that are plain http:// to a host other than loopback."""
    found = []
    for option in ('kps_endpoint', 'iam_endpoint'):
        url = getattr(creds, option) or ''
        if urlsplit(url).scheme == 'http' and not is_loopback(url_host(url)):
            found.append(option)
    return found


def resolve_credentials(params: Mapping[str, Any]) -> Credentials:
    """Turn the module parameters (after env fallbacks) into Credentials, or raise CredentialError."""
    p = dict((name, _clean(params.get(name))) for name in ENV_VARS)
    # Checked before anything else: both become part of host names that credentials are sent to.
    _host_part('region', p['region'], 'cn-north-4')
    cloud = _host_part('cloud', p['cloud'], 'myhuaweicloud.com') or DEFAULT_CLOUD
    found = [name for name in ('access_key', 'secret_key', 'security_token', 'auth_token',
                               'user_name', 'user_password', 'domain_name') if p[name]]

    def fail(problem: str) -> NoReturn:
        raise CredentialError('%s Found: %s. %s' % (
            problem, ', '.join(found) if found else 'no credential options', _METHOD_HELP))

    aksk = p['access_key'] or p['secret_key'] or p['security_token']
    token = p['auth_token']
    password = p['user_name'] or p['user_password']
    methods = [label for label, present in (('access_key/secret_key', aksk), ('auth_token', token),
                                            ('user_name/user_password', password)) if present]
    if not methods:
        fail('No Huawei Cloud credentials were given.')
    if len(methods) > 1:
        fail('Credentials for more than one authentication method were given (%s); '
             'the module cannot tell which one to use.' % ' and '.join(methods))

    if aksk:
        method = METHOD_AKSK
        missing = [n for n in ('access_key', 'secret_key') if not p[n]]
        if missing:
            fail('AK/SK authentication needs %s.' % ' and '.join(missing))
    elif token:
        method = METHOD_TOKEN
    else:
        method = METHOD_PASSWORD
        missing = [n for n in ('user_name', 'user_password', 'domain_name') if not p[n]]
        if missing:
            fail('Password (token) login needs %s.' % ' and '.join(missing))

    kps_endpoint = p['kps_endpoint']
    iam_endpoint = p['iam_endpoint']
    region = p['region']
    if not region:
        # The region builds the default endpoints, scopes a token and finds the project id.
        if not (kps_endpoint and p['project_id']):
            raise CredentialError(
                'region is required [HW_REGION_NAME] (it may only be left out when both kps_endpoint '
                'and project_id are given).')
    if not kps_endpoint:
        kps_endpoint = 'https://kms.%s.%s' % (region, cloud)
    if not iam_endpoint:
        iam_endpoint = 'https://iam.%s.%s' % (region, cloud) if region else None
    insecure = bool(params.get('allow_insecure_http'))
    return Credentials(
        method, region=region, project_id=p['project_id'], access_key=p['access_key'],
        secret_key=p['secret_key'], security_token=p['security_token'], auth_token=p['auth_token'],
        user_name=p['user_name'], user_password=p['user_password'], domain_name=p['domain_name'],
        kps_endpoint=_endpoint('kps_endpoint', kps_endpoint, insecure),
        iam_endpoint=_endpoint('iam_endpoint', iam_endpoint, insecure) if iam_endpoint else None,
    )


# ---------------------------------------------------------------------------------------------
# AK/SK signing, the same algorithm as huaweicloudsdkcore.signer.signer.Signer.

_ALGORITHM = 'SDK-HMAC-SHA256'
_DATE_FORMAT = '%Y%m%dT%H%M%SZ'
_EMPTY_HASH = hashlib.sha256(b'').hexdigest()
_CONTENT_SHA_HEADER = 'X-Sdk-Content-Sha256'


def _quote(value: str) -> str:
    return quote(value, safe='~')


def _canonical_uri(path: str) -> str:
    # As the SDK: unquote the whole path, quote each segment (safe '~'), end with '/'.
    path = '/'.join(_quote(segment) for segment in unquote(path or '/').split('/'))
    return path if path.endswith('/') else path + '/'


class AkSkSigner:
    """Signs requests with an access key / secret key (SDK-HMAC-SHA256).

    ``project_id`` (may be set later, after the lookup) adds ``X-Project-Id``; ``security_token``
    (temporary credentials) adds ``X-Security-Token``; both are added before signing, as the SDK does.
    """

    # What to check when the API gateway refuses the request (APIGW.0301), for HttpClient.
    rejected_hint = ('Check access_key/secret_key (and security_token for temporary credentials) and that the clock '
                     'of the host running the module is right (not retried: repeated failures lock the access key)')

    def __init__(self, ak: str, sk: str, security_token: str | None = None, project_id: str | None = None,
                 clock: Callable[[], datetime.datetime] | None = None) -> None:
        self.ak = ak
        self._sk = sk
        self.security_token = security_token
        self.project_id = project_id
        # clock() -> aware UTC datetime; injectable so tests can tell attempts apart.
        self.clock = clock or (lambda: datetime.datetime.now(datetime.timezone.utc))

    def __repr__(self) -> str:
        return '<AkSkSigner ak=%s>' % self.ak

    def sign(self, method: str, url: str, headers: Mapping[str, object] | None = None, body: bytes | str | None = b'',
             sdk_date: str | datetime.datetime | None = None) -> dict[str, str]:
        """Return a new header dict for the request, including Host, X-Sdk-Date and Authorization.

        ``url`` is the exact URL that will be sent (query string included, already in canonical
        order: see ``canonical_query``). ``body`` must be the exact bytes that will be sent.
        ``sdk_date``: a '%Y%m%dT%H%M%SZ' string or a datetime; default now (UTC).
        """
        if body is None:
            body = b''
        elif not isinstance(body, bytes):
            body = body.encode('utf-8')
        parts = urlsplit(url)
        out = {}
        for name, value in (headers or {}).items():
            # A previous attempt's date and signature must not survive into this one.
            if name.lower() not in ('x-sdk-date', 'authorization'):
                out[name] = str(value).strip()
        if self.project_id and not _has_header(out, 'X-Project-Id'):
            out['X-Project-Id'] = self.project_id
        if self.security_token and not _has_header(out, 'X-Security-Token'):
            out['X-Security-Token'] = self.security_token
        content_type = _get_header(out, 'Content-Type')
        if content_type and not content_type.startswith(('application/json', 'application/bson')):
            out[_CONTENT_SHA_HEADER] = 'UNSIGNED-PAYLOAD'
        if sdk_date is None:
            sdk_date = self.clock()
        if isinstance(sdk_date, datetime.datetime):
            sdk_date = sdk_date.strftime(_DATE_FORMAT)
        out['X-Sdk-Date'] = sdk_date
        if not _has_header(out, 'Host'):
            out['Host'] = parts.netloc

        signed = sorted(name.lower() for name in out if '_' not in name)
        lower = dict((name.lower(), value) for name, value in out.items())
        canonical_headers = ''.join('%s:%s\n' % (name, lower[name]) for name in signed)
        if not body:
            payload_hash = _EMPTY_HASH
        else:
            payload_hash = _get_header(out, _CONTENT_SHA_HEADER) or hashlib.sha256(body).hexdigest()
        query = canonical_query(parse_qsl(parts.query, keep_blank_values=True))
        canonical_request = '\n'.join((
            method.upper(), _canonical_uri(parts.path), query, canonical_headers,
            ';'.join(signed), payload_hash))
        string_to_sign = '\n'.join((
            _ALGORITHM, sdk_date, hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()))
        signature = hmac.new(self._sk.encode('utf-8'), string_to_sign.encode('utf-8'), hashlib.sha256).hexdigest()
        out['Authorization'] = '%s Access=%s, SignedHeaders=%s, Signature=%s' % (
            _ALGORITHM, self.ak, ';'.join(signed), signature)
        return out

    # The HttpClient calls apply() on every attempt, so each attempt carries a fresh X-Sdk-Date.
    def apply(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        return self.sign(method, url, headers, body)


def _get_header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return _get_header(headers, name) is not None


class TokenAuth:
    """Sends a given IAM token as X-Auth-Token (no signing)."""

    refreshable = False
    rejected_hint = ('Check auth_token: it must be a valid IAM token (the X-Subject-Token of a login, valid for 24 '
                     'hours) scoped to the project of region; get a new one')

    def __init__(self, token: str | None, project_id: str | None = None) -> None:
        self._token = token
        self.project_id = project_id

    def __repr__(self) -> str:
        return '<TokenAuth>'

    def apply(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        out = dict(headers or {})
        out['X-Auth-Token'] = self._token
        return out

    def refresh(self) -> bool:
        return False


class PasswordAuth(TokenAuth):
    """Logs in to IAM with user name / password / domain and sends the token as X-Auth-Token.

    ``refresh()`` logs in again; the HttpClient calls it once when a call answers 401 (expired token).
    """

    refreshable = True
    rejected_hint = ('The API gateway refused the IAM token of the password login (user_name, domain_name): check '
                     'that region (or project_id) names the project the token should be scoped to')

    def __init__(self, http: HttpClient, iam_endpoint: str, user_name: str, password: str, domain_name: str,
                 region: str | None = None, project_id: str | None = None) -> None:
        super().__init__(None, project_id)
        self._http = http
        self._iam = iam_endpoint
        self._user = user_name
        self._password = password
        self._domain = domain_name
        self._region = region
        self.token_project_id: str | None = None

    def __repr__(self) -> str:
        return '<PasswordAuth user=%s domain=%s>' % (self._user, self._domain)

    def login(self) -> str:
        if self.project_id:
            scope = {'project': {'id': self.project_id}}
        else:
            scope = {'project': {'name': self._region}}
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'domain': {'name': self._domain}, 'name': self._user, 'password': self._password}}},
            'scope': scope,
        }}
        # auth=None: this call carries the password in its body and no other credential.
        response = self._http.send('get IAM token', 'POST', self._iam + '/v3/auth/tokens', json=body,
                                   auth=None, service='IAM', idempotent=True)
        token = response.headers.get('X-Subject-Token')
        register_secrets(token)  # a secret of the task from now on, like the password
        if not token:
            raise HuaweiCloudError('get IAM token', status=response.status, request_id=response.request_id,
                                   error_msg='IAM answered without an X-Subject-Token header', service='IAM')
        self._token = token
        data = response.data if isinstance(response.data, dict) else {}
        project = (data.get('token') or {}).get('project') or {}
        self.token_project_id = project.get('id')
        return token

    def apply(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        if self._token is None:
            self.login()
        return super().apply(method, url, headers, body)

    def refresh(self) -> bool:
        self.login()
        return True


def lookup_project_id(http: HttpClient, iam_endpoint: str | None, region: str | None, auth: Auth) -> str:
    """Find the project id of ``region`` (GET {iam}/v3/projects?name=<region>). Exactly one must match."""
    if not iam_endpoint or not region:
        raise CredentialError('project_id is needed (or region, to look it up through IAM).')
    data = http.request('list IAM projects', 'GET', iam_endpoint + '/v3/projects', params={'name': region},
                        auth=auth, service='IAM')
    projects = [p for p in (data or {}).get('projects') or [] if isinstance(p, dict) and p.get('name') == region]
    if not projects:
        raise CredentialError(
            'Looking up the project id of region "%s" through IAM found no projects with that name. Check that '
            'region [HW_REGION_NAME] is spelt right (for example cn-north-4), or set project_id [HW_PROJECT_ID].'
            % region)
    if len(projects) != 1:
        raise CredentialError(
            'Looking up the project id of region "%s" through IAM found %s projects with that name; '
            'exactly one is needed. Set project_id [HW_PROJECT_ID] to choose.' % (region, len(projects)))
    if not projects[0].get('id'):
        raise CredentialError('IAM returned the project of region "%s" without an id. Set project_id.' % region)
    return projects[0]['id']


def connect(http: HttpClient, creds: Credentials) -> tuple[Auth, str]:
    """Build the auth object for ``creds`` and find the project id. Returns (auth, project_id).

    The returned auth is also set as ``http.auth`` (the default for later calls).
    """
    if creds.method == METHOD_AKSK:
        auth = AkSkSigner(creds.access_key, creds.secret_key, creds.security_token)
        # The project lookup is signed without X-Project-Id (IAM calls are not project scoped).
        project_id = creds.project_id or lookup_project_id(http, creds.iam_endpoint, creds.region, auth)
        auth.project_id = project_id
    elif creds.method == METHOD_TOKEN:
        auth = TokenAuth(creds.auth_token, creds.project_id)
        project_id = creds.project_id or lookup_project_id(http, creds.iam_endpoint, creds.region, auth)
    else:
        if not creds.iam_endpoint:
            raise CredentialError('Password login needs region or iam_endpoint [HW_IAM_ENDPOINT].')
        auth = PasswordAuth(http, creds.iam_endpoint, creds.user_name, creds.user_password,
                            creds.domain_name, region=creds.region, project_id=creds.project_id)
        auth.login()
        project_id = creds.project_id or auth.token_project_id or lookup_project_id(
            http, creds.iam_endpoint, creds.region, auth)
    http.auth = auth
    return auth, project_id
