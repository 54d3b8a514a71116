# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KPS + IAM emulator: request handling, auth, faults and the control API.

``Emulator.handle()`` turns one request into a ``Response`` without touching sockets, so the rules can be
unit-tested directly; ``Handler`` only moves bytes between the socket and ``Emulator``.
"""
from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from . import ecs, keys, sigv
from .store import Store

DEFAULTS = {
    'host': '127.0.0.1',
    'access_key': 'KPSEMULATORAK0000001',
    'secret_key': 'KPSEmulatorSecretKeyForTestsOnly00000000',
    'security_token': None,
    'temp_access_key': 'KPSEMULATORTEMPAK001',
    'temp_secret_key': 'KPSEmulatorTempSecretKeyForTestsOnly0000',
    'project_id': '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    'region': 'cn-north-4',
    'domain': 'emulator-domain',
    'user': 'emulator-user',
    'password': 'emulator-password',
    'kms_keys': ('kps/default',),
}

CALLS = ('show_keypair', 'list_keypairs', 'create_keypair', 'batch_import_keypairs', 'update_keypair', 'delete_keypair',
         'import_private_key', 'export_private_key', 'batch_export_private_keys', 'clear_private_key', 'iam_token',
         'iam_projects') + ecs.CALLS
CLOCK_WINDOW = 15 * 60  # seconds an X-Sdk-Date may differ from the server clock
TOKEN_LIFETIME = 24 * 3600
NAME_RE = re.compile(r'^[A-Za-z0-9_-]+$')
# CreateKeypair (and so every key pair that exists) takes names of up to 255 characters (SDK
# create_keypair_action); the import-private-key model still says 64 (import_private_key_keypair_bean).
NAME_MAX = 255
IMPORT_NAME_MAX = 64
MAX_DESCRIPTION = 255
# The newest ListKeypairs page: limit 1-1000, default 1000 (older pages and the SDK said default 50).
DEFAULT_PAGE = 1000
MAX_PAGE = 1000
MAX_BATCH = 10
_KPS_ROUTES = (
    ('POST', re.compile(r'^/keypairs/private-key/import$'), 'import_private_key'),
    ('POST', re.compile(r'^/keypairs/private-key/export$'), 'export_private_key'),
    ('POST', re.compile(r'^/keypairs/private-key/batch-export$'), 'batch_export_private_keys'),
    ('POST', re.compile(r'^/keypairs/batch-import$'), 'batch_import_keypairs'),
    ('GET', re.compile(r'^/keypairs$'), 'list_keypairs'),
    ('POST', re.compile(r'^/keypairs$'), 'create_keypair'),
    ('GET', re.compile(r'^/keypairs/(?P<name>[^/]+)$'), 'show_keypair'),
    ('PUT', re.compile(r'^/keypairs/(?P<name>[^/]+)$'), 'update_keypair'),
    ('DELETE', re.compile(r'^/keypairs/(?P<name>[^/]+)$'), 'delete_keypair'),
    ('DELETE', re.compile(r'^/keypairs/(?P<name>[^/]+)/private-key$'), 'clear_private_key'),
)
_KPS_PREFIX = re.compile(r'^/v3/(?P<project>[^/]+)(?P<rest>/keypairs.*)$')
FAULT_EFFECTS = ('status', 'retry_after', 'delay', 'hold', 'drop', 'truncate_zip', 'corrupt_zip', 'extra_zip_entry', 'non_json')
FAULT_KEYS = set(FAULT_EFFECTS) | {'call', 'method', 'path', 'count', 'error_code', 'error_msg'}
# Behaviours no source settles, switched through the control API (/_emulator/switches) so that tests can prove
# the client survives each variant. The defaults are the emulator's best guess (docs/emulator.md).
SWITCH_DEFAULTS = {
    # The answer to any call about a key pair that does not exist: {"status": N, "error_code": "..."}.
    'not_found': {'status': 400, 'error_code': 'KPS.6004'},
    # Batch export archives also hold a readme, a directory and a <name>.pub per key (none a private key).
    'archive_extra_entries': False,
    # Batch export archives lack the entry of the last requested key pair.
    'archive_drop_entry': False,
    # EC private keys in SEC1 form (BEGIN EC PRIVATE KEY) are refused with KPS.0002 on create and import.
    'sec1_refused': False,
    # Listing (ListKeypairs; the sources disagree, docs/emulator.md): at most this many key pairs a page whatever
    # `limit` asks, with next_marker while more follow (null: as many as `limit`).
    'list_page_cap': None,
    # The page size when `limit` is absent (the newest page: 1000; older pages and the SDK: 50).
    'list_default_limit': DEFAULT_PAGE,
    # The largest `limit` taken; a larger one is KPS.0002 naming limit.
    'list_max_limit': MAX_PAGE,
    # next_marker is an opaque token, not the last name; a marker that is no token of the emulator is KPS.0002.
    'list_opaque_marker': False,
}
# Switches whose value is a page size (an integer of at least 1; list_page_cap may be null).
_PAGE_SWITCHES = ('list_page_cap', 'list_default_limit', 'list_max_limit')
_OPAQUE_MARKER = 'kps-page.'  # + urlsafe base64 of the last name of the previous page


class ApiError(Exception):
    def __init__(self, status, code, message, body=None):
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body


def kps_error(status, code, message):
    return ApiError(status, code, message)


def gateway_error(message, code='APIGW.0301', status=401):
    """The API gateway's answer to bad credentials: never retried by clients."""
    return ApiError(status, code, 'Incorrect IAM authentication information: ' + message)


def bad_request(message):
    return kps_error(400, 'KPS.0002', 'parameter error: ' + message)


class NotFound(str):
    """A control API answer: what was not found (HTTP 404)."""


class Response:
    def __init__(self, status, body=b'', content_type='application/json;charset=UTF-8', headers=None, error_code=None):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = dict(headers or {})
        self.error_code = error_code
        self.drop = False
        self.delay = 0.0
        self.hold = 0.0

    @classmethod
    def json(cls, status, data, **kwargs):
        return cls(status, json.dumps(data).encode('utf-8'), **kwargs)


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def _stable_id(*parts):
    return uuid.uuid5(uuid.NAMESPACE_URL, 'kps-emulator:' + ':'.join(parts)).hex


class Emulator:
    """All behaviour of the emulator; thread-safe."""

    def __init__(self, state_file=None, **options):
        cfg = dict(DEFAULTS)
        cfg.update({key: value for key, value in options.items() if value is not None})
        unknown = set(cfg) - set(DEFAULTS)
        if unknown:
            raise TypeError('unknown options: %s' % ', '.join(sorted(unknown)))
        self.cfg = cfg
        self.store = Store(state_file)
        self.kms_keys = {name: _stable_id('kms', name) for name in cfg['kms_keys']}
        self.user_id = _stable_id('user', cfg['domain'], cfg['user'])
        self.domain_id = _stable_id('domain', cfg['domain'])
        self.skew = 0.0
        self.faults = []
        self.released = threading.Event()  # what held answers wait for (POST /_emulator/release)
        self.switches = copy.deepcopy(SWITCH_DEFAULTS)
        self.log = []
        self._lock = threading.Lock()
        self.rate_limit = 0  # API requests per second; 0: no limit (POST /_emulator/rate_limit)
        self._recent = []  # monotonic times of the API requests of the last second, while a limit is set
        self.ecs = ecs.Ecs(self.now, self._keypair_record)  # servers and key pair tasks (ecs.py)

    # ----- clock, faults, log -------------------------------------------------------------------------------

    def now(self):
        return time.time() + self.skew

    def add_faults(self, faults):
        faults = faults if isinstance(faults, list) else [faults]
        checked = [self._check_fault(fault) for fault in faults]
        with self._lock:
            self.faults.extend(checked)
            if any(fault.get('hold') for fault in checked):
                self.released.clear()
        return checked

    @staticmethod
    def _check_fault(fault):
        if not isinstance(fault, dict):
            raise ValueError('a fault is a JSON object')
        unknown = set(fault) - FAULT_KEYS
        if unknown:
            raise ValueError('unknown fault keys: %s' % ', '.join(sorted(unknown)))
        if fault.get('call') is not None and fault['call'] not in CALLS:
            raise ValueError('unknown call %r; one of %s' % (fault['call'], ', '.join(CALLS)))
        if fault.get('call') is None and fault.get('path') is None and fault.get('method') is None:
            raise ValueError('a fault needs "call" or "method"/"path"')
        if not any(fault.get(effect) for effect in FAULT_EFFECTS):
            raise ValueError('a fault needs one effect of %s' % ', '.join(FAULT_EFFECTS))
        if fault.get('path') is not None:
            re.compile(fault['path'])
        checked = dict(fault)
        checked['count'] = int(fault.get('count', 1))
        return checked

    def set_switches(self, values):
        """Set switches from a JSON object; unknown names and bad values are refused."""
        if not isinstance(values, dict):
            raise ValueError('switches are a JSON object, e.g. {"sec1_refused": true}')
        unknown = set(values) - set(SWITCH_DEFAULTS)
        if unknown:
            raise ValueError('unknown switch %s; known: %s' % (', '.join(sorted(unknown)), ', '.join(sorted(SWITCH_DEFAULTS))))
        checked = {}
        for name, value in values.items():
            if name == 'not_found':
                value = SWITCH_DEFAULTS['not_found'] if value is None else value
                if not isinstance(value, dict) or set(value) - {'status', 'error_code'} or \
                        not isinstance(value.get('status'), int) or not 400 <= value['status'] < 500 or \
                        not isinstance(value.get('error_code'), (str, type(None))):
                    raise ValueError('not_found is {"status": 4xx, "error_code": "<code>" or null}')
                value = {'status': value['status'], 'error_code': value.get('error_code')}
            elif name in _PAGE_SWITCHES:
                value = SWITCH_DEFAULTS[name] if value is None and name != 'list_page_cap' else value
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                    raise ValueError('%s is an integer of at least 1%s' % (name, ' or null' * (name == 'list_page_cap')))
            elif not isinstance(value, bool):
                raise ValueError('%s is true or false' % name)
            checked[name] = value
        with self._lock:
            self.switches.update(checked)
            return copy.deepcopy(self.switches)

    def not_found(self, name):
        """The answer for a key pair that does not exist (switch ``not_found``)."""
        answer = self.switches['not_found']
        if answer['error_code'] is None:  # a bare gateway-style 4xx: no KPS code at all
            return ApiError(answer['status'], None, 'Not Found', body={'message': 'Not Found'})
        return kps_error(answer['status'], answer['error_code'], 'No Keypair find: %s' % name)

    def _take_fault(self, call, method, path):
        with self._lock:
            for fault in self.faults:
                if fault.get('call') is not None and fault['call'] != call:
                    continue
                if fault.get('method') is not None and fault['method'].upper() != method:
                    continue
                if fault.get('path') is not None and not re.search(fault['path'], path):
                    continue
                fault['count'] -= 1
                if fault['count'] <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _over_rate_limit(self):
        """Whether one more API request now would exceed ``rate_limit`` requests in the last second."""
        with self._lock:
            if not self.rate_limit:
                return False
            now = time.monotonic()
            self._recent = [moment for moment in self._recent if now - moment < 1.0]
            if len(self._recent) >= self.rate_limit:
                return True
            self._recent.append(now)
            return False

    def _record(self, entry):
        with self._lock:
            entry['seq'] = len(self.log) + 1
            self.log.append(entry)

    # ----- entry point ------------------------------------------------------------------------------------

    def handle(self, method, raw_path, headers, body, client_ip='127.0.0.1'):
        """Answer one request. ``headers`` maps lower-case names to values."""
        request_id = uuid.uuid4().hex
        parts = urlsplit(raw_path)
        path, query = parts.path, parts.query
        if path.startswith('/_emulator/') or path == '/_emulator':
            response = self._control(method, path, body, client_ip)
            response.headers['X-Request-Id'] = request_id
            return response
        call, run, params = self._route(method, path)
        fault = self._take_fault(call, method, path) if call else None
        entry = {'time': self.now(), 'call': call, 'method': method, 'path': path, 'query': query, 'status': None,
                 'error_code': None, 'auth': None, 'request_id': request_id, 'fault': None}
        try:
            if self._over_rate_limit():  # the API gateway's throttling, before anything else
                entry['fault'] = 'rate_limit'
                raise ApiError(429, 'APIGW.0308', 'The throttling threshold has been reached')
            response = self._faulted(fault, entry)
            if response is None:
                if run is None:
                    raise ApiError(404, 'APIGW.0101', 'The API does not exist or has not been published in the environment')
                entry['auth'] = self._authenticate(method, path, query, headers, body, call, params)
                response = run(params, parse_qs(query), body)
        except ApiError as exc:
            response = self._error_response(exc, request_id)
        if fault:
            self._post_fault(fault, response)
            response.delay = float(fault.get('delay') or 0)
            response.hold = float(fault.get('hold') or 0)
        if entry['fault'] == 'rate_limit':
            response.headers['Retry-After'] = '1'
        response.headers['X-Request-Id'] = request_id
        entry['status'] = None if response.drop else response.status
        entry['error_code'] = response.error_code
        self._record(entry)
        return response

    @staticmethod
    def _error_response(exc, request_id):
        if exc.body is not None:
            return Response.json(exc.status, exc.body, error_code=exc.code)
        body = {'error_code': exc.code, 'error_msg': exc.message}
        if exc.code.startswith('APIGW.'):
            body['request_id'] = request_id
        return Response.json(exc.status, body, error_code=exc.code)

    def _route(self, method, path):
        if path == '/v3/auth/tokens':
            return 'iam_token', (self.iam_token if method == 'POST' else None), {}
        if path == '/v3/projects':
            return 'iam_projects', (self.iam_projects if method == 'GET' else None), {}
        match = _KPS_PREFIX.match(path)
        for route_method, pattern, call in _KPS_ROUTES if match else ():
            found = pattern.match(match.group('rest'))
            if found and route_method == method:
                params = {'project': unquote(match.group('project'))}
                params.update({key: unquote(value) for key, value in found.groupdict().items()})
                return call, getattr(self, call), params
        call, handler, params = self.ecs.route(method, path)
        if handler is None:
            return None, None, {}
        return call, self._ecs_answer(handler), {key: unquote(value) for key, value in params.items()}

    @staticmethod
    def _ecs_answer(handler):
        """An ecs.py handler as a KPS one: (status, data) becomes a Response, EcsError an ApiError."""
        def run(params, query, body):
            try:
                status, data = handler(params, query, body)
            except ecs.EcsError as exc:
                body = {'error': {'code': exc.code, 'message': exc.message}} if exc.code.startswith('Ecs.') else None
                raise ApiError(exc.status, exc.code, exc.message, body=body) from None
            return Response(status) if data is None else Response.json(status, data)
        return run

    def _keypair_record(self, name):
        with self.store.lock:
            return dict(self._get(name))

    # ----- faults -----------------------------------------------------------------------------------------

    def _faulted(self, fault, entry):
        """Answer for a fault that replaces the normal response, or None."""
        if not fault:
            return None
        entry['fault'] = ','.join(effect for effect in FAULT_EFFECTS if fault.get(effect))
        if fault.get('drop'):
            response = Response(0)
            response.drop = True
            return response
        status = fault.get('status')
        if fault.get('non_json'):
            return Response(int(status or 200), b'<html><body><h1>emulated non-JSON answer</h1></body></html>',
                            content_type='text/html')
        if not status and not fault.get('retry_after'):
            return None  # delay and zip faults let the normal handler answer
        status = int(status or 429)
        code = fault.get('error_code') or ('APIGW.0308' if status == 429 else 'KPS.0003' if status >= 500 else 'KPS.0002')
        raise ApiError(status, code, fault.get('error_msg') or 'emulated fault')

    @staticmethod
    def _post_fault(fault, response):
        if fault.get('retry_after'):
            response.headers['Retry-After'] = str(fault['retry_after'])
        if response.content_type != 'application/zip':
            return
        data = response.body
        if fault.get('extra_zip_entry'):
            buffer = io.BytesIO(data)
            with zipfile.ZipFile(buffer, 'a', zipfile.ZIP_STORED) as archive:
                archive.writestr('extra-keypair.pem', keys.generate('ed25519')[0])
            data = buffer.getvalue()
        if fault.get('corrupt_zip'):
            # flip a byte inside the first entry's data, so the CRC check fails while the layout still parses
            name_len, extra_len = int.from_bytes(data[26:28], 'little'), int.from_bytes(data[28:30], 'little')
            offset = 30 + name_len + extra_len + 40
            data = data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1:]
        if fault.get('truncate_zip'):
            data = data[:len(data) // 2]
        response.body = data

    # ----- authentication ---------------------------------------------------------------------------------

    def _authenticate(self, method, path, query, headers, body, call, params):
        """Return how the caller authenticated ('aksk', 'temporary', 'token', 'none') or raise ApiError."""
        if call == 'iam_token':
            return 'none'
        token = headers.get('x-auth-token')
        if token:
            kind = self._check_token(token)
        else:
            kind = self._check_signature(method, path, query, headers, body)
        project = params.get('project')
        header_project = headers.get('x-project-id')
        if project is not None and project != self.cfg['project_id']:
            raise gateway_error('the project id in the path is not a project of this account')
        if header_project and project is not None and header_project != project:
            raise gateway_error('X-Project-Id does not match the project id in the path')
        return kind

    def _check_token(self, token):
        digest = hashlib.sha256(token.encode('utf-8')).hexdigest()
        with self.store.lock:
            record = self.store.tokens.get(digest)
        if record is None:
            raise gateway_error('the token is not valid')
        if record['expires_at'] <= self.now():
            raise ApiError(401, 'APIGW.0307', 'The token must be updated.')
        return 'token'

    def _check_signature(self, method, path, query, headers, body):
        parsed = sigv.parse_authorization(headers.get('authorization'))
        if parsed is None:
            raise gateway_error('no AK/SK signature or token in the request')
        access_key, signed, signature = parsed
        if access_key == self.cfg['access_key']:
            secret, kind = self.cfg['secret_key'], 'aksk'
        elif self.cfg['security_token'] and access_key == self.cfg['temp_access_key']:
            secret, kind = self.cfg['temp_secret_key'], 'temporary'
            if headers.get('x-security-token') != self.cfg['security_token']:
                raise gateway_error('the security token is missing or not valid for this access key')
            if 'x-security-token' not in signed:
                raise gateway_error('X-Security-Token must be signed')
        else:
            raise gateway_error('access key %s does not exist' % access_key)
        if 'host' not in signed or 'x-sdk-date' not in signed:
            raise gateway_error('SignedHeaders must include host and x-sdk-date')
        if signed != sorted(signed) or any(name not in headers for name in signed):
            raise gateway_error('SignedHeaders must be sorted and present in the request')
        when = sigv.parse_date(headers.get('x-sdk-date'))
        if when is None:
            raise gateway_error('X-Sdk-Date is not %s' % sigv.DATE_FORMAT)
        if abs(when.timestamp() - self.now()) > CLOCK_WINDOW:
            raise gateway_error('X-Sdk-Date is more than 15 minutes away from the server time')
        canonical = sigv.canonical_request(method, path, query, headers, signed,
                                           sigv.body_hash(body, headers.get('x-sdk-content-sha256')))
        expected = sigv.signature(secret, headers['x-sdk-date'], canonical)
        if not hmac.compare_digest(expected, signature):
            raise gateway_error('verify aksk signature fail')
        return kind

    # ----- IAM --------------------------------------------------------------------------------------------

    @staticmethod
    def _iam_error(status, message):
        titles = {400: 'Bad Request', 401: 'Unauthorized'}
        body = {'error': {'code': status, 'message': message, 'title': titles.get(status, 'Error')}}
        return ApiError(status, None, message, body=body)

    def iam_token(self, _params, _query, body):
        try:
            auth = json.loads(body)['auth']
            identity = auth['identity']
            user = identity['password']['user']
        except (ValueError, KeyError, TypeError):
            raise self._iam_error(400, 'The request body is not a password authentication request.') from None
        if 'password' not in identity.get('methods', []):
            raise self._iam_error(400, 'identity.methods must contain "password".')
        domain = (user.get('domain') or {}).get('name')
        if (user.get('name'), user.get('password'), domain) != (self.cfg['user'], self.cfg['password'], self.cfg['domain']):
            raise self._iam_error(401, 'The username or password is wrong.')
        project = ((auth.get('scope') or {}).get('project') or {})
        if project.get('name') != self.cfg['region'] and project.get('id') != self.cfg['project_id']:
            raise self._iam_error(400, 'The project in scope does not exist.')
        token = 'MIIemulator' + secrets.token_urlsafe(48)
        now = self.now()
        with self.store.lock:
            self.store.tokens = {k: v for k, v in self.store.tokens.items() if v['expires_at'] > now}
            self.store.tokens[hashlib.sha256(token.encode('utf-8')).hexdigest()] = {'expires_at': now + TOKEN_LIFETIME}
            self.store.save()
        domain_ref = {'id': self.domain_id, 'name': self.cfg['domain']}
        data = {'token': {
            'methods': ['password'], 'issued_at': _iso(now), 'expires_at': _iso(now + TOKEN_LIFETIME),
            'user': {'id': self.user_id, 'name': self.cfg['user'], 'domain': domain_ref},
            'project': {'id': self.cfg['project_id'], 'name': self.cfg['region'], 'domain': domain_ref},
            'roles': [{'id': _stable_id('role', 'te_admin'), 'name': 'te_admin'}], 'catalog': []}}
        return Response.json(201, data, headers={'X-Subject-Token': token})

    def iam_projects(self, _params, query, _body):
        project = {'id': self.cfg['project_id'], 'name': self.cfg['region'], 'domain_id': self.domain_id,
                   'parent_id': self.domain_id, 'is_domain': False, 'enabled': True, 'description': ''}
        names = query.get('name')
        projects = [project] if not names or names[0] == project['name'] else []
        return Response.json(200, {'projects': projects, 'links': {'self': '/v3/projects'}})

    # ----- KPS --------------------------------------------------------------------------------------------

    @staticmethod
    def _body(body, kind=dict):
        try:
            data = json.loads(body or b'null')
        except ValueError:
            raise bad_request('the body is not JSON') from None
        if not isinstance(data, kind):
            raise bad_request('the body must be a JSON %s' % ('object' if kind is dict else 'array'))
        return data

    @staticmethod
    def _keypair_of(data):
        keypair = data.get('keypair') if isinstance(data, dict) else None
        if not isinstance(keypair, dict):
            raise bad_request('"keypair" must be an object')
        return keypair

    @staticmethod
    def _check_name(name, limit=NAME_MAX):
        if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > limit:
            raise bad_request('name must be 1 to %d letters, digits, "_" or "-"' % limit)
        return name

    def _get(self, name):
        record = self.store.keypairs.get(name)
        if record is None:
            raise self.not_found(name)
        return record

    def _check_user(self, user_id):
        if user_id not in (None, '', self.user_id):
            raise kps_error(400, 'KPS.0006', 'User not found')

    def _encryption(self, encryption):
        """Validate an Encryption object and return it with both KMS name and id resolved."""
        if not isinstance(encryption, dict) or encryption.get('type') not in ('default', 'kms'):
            raise bad_request('encryption.type must be "default" or "kms"')
        if encryption['type'] == 'default':
            return {'type': 'default'}
        name, key_id = encryption.get('kms_key_name'), encryption.get('kms_key_id')
        if not name and not key_id:
            raise bad_request('encryption type "kms" needs kms_key_name or kms_key_id')
        by_id = {value: key for key, value in self.kms_keys.items()}
        if (name and name not in self.kms_keys) or (key_id and key_id not in by_id) or \
                (name and key_id and self.kms_keys[name] != key_id):
            raise kps_error(400, 'KPS.6008', 'Encrypt private key failed: the KMS key does not exist or is disabled')
        name = name or by_id[key_id]
        return {'type': 'kms', 'kms_key_name': name, 'kms_key_id': self.kms_keys[name]}

    def _derive_public(self, private_key):
        if not isinstance(private_key, str) or not private_key.strip():
            raise bad_request('key_protection.private_key is required')
        if self.switches['sec1_refused'] and private_key.strip().startswith('-----BEGIN EC PRIVATE KEY-----'):
            raise bad_request('the private key format is not supported')
        try:
            return keys.public_key_of(private_key)
        except keys.KeyFormatError as exc:
            raise bad_request(str(exc)) from None

    def _host(self, record, private_key, encryption):
        record['encryption'] = encryption
        record['sealed_private_key'] = self.store.vault.seal(record['name'], encryption, private_key)

    def hosted_private_key(self, record):
        if not record.get('sealed_private_key'):
            return None
        return self.store.vault.open(record['name'], record['encryption'], record['sealed_private_key'])

    def create_keypair(self, _params, _query, body):
        keypair = self._keypair_of(self._body(body))
        name = self._check_name(keypair.get('name'))
        kp_type, scope = keypair.get('type') or 'ssh', keypair.get('scope') or 'user'
        if kp_type not in ('ssh', 'x509') or scope not in ('user', 'domain'):
            raise bad_request('type must be ssh or x509 and scope user or domain')
        self._check_user(keypair.get('user_id'))
        public_key = keypair.get('public_key')
        if public_key is not None:
            try:
                keys.parse_public_key(public_key)
            except keys.KeyFormatError as exc:
                raise bad_request(str(exc)) from None
        protection = keypair.get('key_protection')
        private_key = encryption = generated = None
        if protection is not None and not isinstance(protection, dict):
            raise bad_request('key_protection must be an object')
        if protection is not None and (protection.get('private_key') is not None or public_key is not None):
            # Quirk of the real service (Terraform issue 7049): public_key with a key_protection that lacks
            # private_key is a parameter error.
            private_key = protection.get('private_key')
            derived = self._derive_public(private_key)
            encryption = self._encryption(protection.get('encryption'))
            if public_key is not None and not keys.same_public_key(public_key, derived):
                raise kps_error(400, 'KPS.6011', 'The imported private key not match public key')
            public_key = public_key or derived
        elif public_key is None:
            # KPS generates the pair; with key_protection it also hosts the private key (Terraform's acceptance
            # tests create such key pairs and check is_managed). Either way the private key is returned once.
            if protection is not None:
                encryption = self._encryption(protection.get('encryption'))
            generated, public_key = keys.generate('rsa')
            private_key = generated if protection is not None else None
            public_key += ' Generated-by-Nova\n'  # the real service appends a comment: clients must ignore it
        now_ms = int(self.now() * 1000)
        record = {'name': name, 'id': None, 'type': kp_type, 'scope': scope, 'user_id': self.user_id,
                  'public_key': public_key, 'fingerprint': keys.fingerprint(public_key), 'description': '',
                  'create_time': now_ms, 'update_time': now_ms, 'encryption': None, 'sealed_private_key': None}
        if private_key:
            self._host(record, private_key, encryption)
        with self.store.lock:
            if name in self.store.keypairs:
                raise bad_request('key pair %s already exists' % name)
            record['id'] = self.store.take_id()
            self.store.put(record)
        out = {'name': name, 'type': kp_type, 'public_key': public_key, 'fingerprint': record['fingerprint'],
               'user_id': self.user_id}
        if generated:
            out['private_key'] = generated
        return Response.json(200, {'keypair': out})

    def batch_import_keypairs(self, params, query, body):
        """Create each item of a JSON array as create_keypair would: partial success (SDK BatchImportKeypairResponse)."""
        items = self._body(body, kind=list)
        if not 1 <= len(items) <= MAX_BATCH:
            raise bad_request('import 1 to %d key pairs at a time' % MAX_BATCH)
        succeeded, failed = [], []
        with self.store.deferred_save():
            for item in items:
                try:
                    created = json.loads(self.create_keypair(params, query, json.dumps(item).encode('utf-8')).body)
                    succeeded.append(created)
                except ApiError as exc:
                    keypair = item.get('keypair') if isinstance(item, dict) else None
                    failed.append({'keypair_name': keypair.get('name') if isinstance(keypair, dict) else None,
                                   'failed_reason': '%s: %s' % (exc.code, exc.message)})
        return Response.json(200, {'succeeded_keypairs': succeeded, 'failed_keypairs': failed})

    @staticmethod
    def _summary(record):
        # frozen_state is a string in list answers (SDK keypair.py) and an integer in show (keypair_detail.py).
        return {'name': record['name'], 'type': record['type'], 'scope': record['scope'],
                'public_key': record['public_key'], 'fingerprint': record['fingerprint'],
                'is_key_protection': bool(record.get('sealed_private_key')), 'frozen_state': '0'}

    def show_keypair(self, params, _query, _body):
        with self.store.lock:
            record = dict(self._get(params['name']))
        detail = self._summary(record)
        detail.update({'frozen_state': 0, 'id': record['id'], 'deleted': False, 'description': record['description'],
                       'user_id': record['user_id'], 'create_time': record['create_time'], 'delete_time': None,
                       'update_time': record['update_time']})
        return Response.json(200, {'keypair': detail})

    def list_keypairs(self, _params, query, _body):
        switches = self.switches
        limit = (query.get('limit') or [None])[0]
        if limit is None:
            limit = switches['list_default_limit']
        elif not limit.isdigit() or not 1 <= int(limit) <= switches['list_max_limit']:
            raise bad_request('limit must be an integer from 1 to %d' % switches['list_max_limit'])
        limit = min(int(limit), switches['list_page_cap'] or int(limit))
        marker = (query.get('marker') or [''])[0]
        after = self._marker_name(marker) if marker and switches['list_opaque_marker'] else marker
        with self.store.lock:
            names = sorted(name for name in self.store.keypairs if name > after)
            page = [self._summary(self.store.keypairs[name]) for name in names[:limit]]
        next_marker = page[-1]['name'] if len(names) > limit else None
        if next_marker and switches['list_opaque_marker']:
            next_marker = _OPAQUE_MARKER + base64.urlsafe_b64encode(next_marker.encode('utf-8')).decode('ascii')
        page_info = {'next_marker': next_marker, 'previous_marker': marker or None, 'current_count': len(page)}
        return Response.json(200, {'keypairs': [{'keypair': item} for item in page], 'page_info': page_info})

    @staticmethod
    def _marker_name(marker):
        """The last name of the previous page, from an opaque marker (switch list_opaque_marker)."""
        try:
            if not marker.startswith(_OPAQUE_MARKER):
                raise ValueError(marker)
            return base64.urlsafe_b64decode(marker[len(_OPAQUE_MARKER):].encode('ascii')).decode('utf-8')
        except (ValueError, UnicodeError):
            raise bad_request('marker %r is no marker this listing gave' % marker[:80]) from None

    def update_keypair(self, params, _query, body):
        description = self._keypair_of(self._body(body)).get('description')
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise bad_request('description must be a string of at most %d characters' % MAX_DESCRIPTION)
        with self.store.lock:
            record = dict(self._get(params['name']))
            record.update(description=description, update_time=int(self.now() * 1000))
            self.store.put(record)
        return Response(200)

    def delete_keypair(self, params, _query, _body):
        with self.store.lock:
            self._get(params['name'])
            self.store.delete(params['name'])
        return Response(204, content_type=None)

    def import_private_key(self, _params, _query, body):
        keypair = self._keypair_of(self._body(body))
        name = self._check_name(keypair.get('name'), IMPORT_NAME_MAX)
        self._check_user(keypair.get('user_id'))
        protection = keypair.get('key_protection')
        if not isinstance(protection, dict):
            raise bad_request('key_protection is required')
        derived = self._derive_public(protection.get('private_key'))
        encryption = self._encryption(protection.get('encryption'))
        with self.store.lock:
            record = dict(self._get(name))
            if not keys.same_public_key(record['public_key'], derived):
                raise kps_error(400, 'KPS.6011', 'The imported private key not match public key')
            self._host(record, protection['private_key'], encryption)  # re-import overwrites, as on the real service
            record['update_time'] = int(self.now() * 1000)
            self.store.put(record)
        return Response.json(200, {'keypair': {'name': name}})

    def _hosted(self, name):
        record = self._get(name)
        private_key = self.hosted_private_key(record)
        if private_key is None:
            raise kps_error(400, 'KPS.6005', 'No private key managed: %s' % name)
        return record, private_key

    def export_private_key(self, _params, _query, body):
        name = self._keypair_of(self._body(body)).get('name')
        if not isinstance(name, str):
            raise bad_request('keypair.name is required')
        with self.store.lock:
            private_key = self._hosted(name)[1]
        return Response.json(200, {'keypair': {'name': name, 'private_key': private_key}})

    def batch_export_private_keys(self, _params, _query, body):
        items = self._body(body, kind=list)
        if not 1 <= len(items) <= MAX_BATCH:
            raise bad_request('export 1 to %d key pairs at a time' % MAX_BATCH)
        names = [self._keypair_of(item).get('name') for item in items]
        if not all(isinstance(name, str) for name in names):
            raise bad_request('keypair.name is required')
        with self.store.lock:
            exported = [self._hosted(name)[1] for name in names]
        entries = list(zip(names, exported))
        if self.switches['archive_drop_entry']:
            entries = entries[:-1]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_STORED) as archive:
            if self.switches['archive_extra_entries']:
                archive.writestr('keypairs/', b'')
                archive.writestr('README.txt', 'Private keys exported from KPS.\n')
            for name, private_key in entries:
                archive.writestr('%s.pem' % name, private_key)
                if self.switches['archive_extra_entries']:
                    archive.writestr('%s.pub' % name, keys.public_key_of(private_key) + '\n')
        return Response(200, buffer.getvalue(), content_type='application/zip',
                        headers={'Content-Disposition': 'attachment; filename="keypairs.zip"'})

    def clear_private_key(self, params, _query, _body):
        with self.store.lock:
            record = dict(self._get(params['name']))
            if not record.get('sealed_private_key'):
                raise kps_error(404, 'KPS.6005', 'No private key managed: %s' % params['name'])
            record.update(sealed_private_key=None, encryption=None, update_time=int(self.now() * 1000))
            self.store.put(record)
        return Response(200)

    # ----- control API ------------------------------------------------------------------------------------

    def _control(self, method, path, body, client_ip):
        if not (client_ip.startswith('127.') or client_ip in ('::1', '::ffff:127.0.0.1')):
            return Response.json(403, {'error_code': 'EMULATOR.0403', 'error_msg': 'control API is loopback only'})
        try:
            data = json.loads(body) if body else None
            result = self._control_action(method, path[len('/_emulator'):], data)
        except (ValueError, TypeError, re.error) as exc:
            return Response.json(400, {'error_code': 'EMULATOR.0400', 'error_msg': str(exc)})
        if isinstance(result, NotFound):
            return Response.json(404, {'error_code': 'EMULATOR.0404', 'error_msg': str(result)})
        return Response.json(200, result)

    def _control_action(self, method, path, data):
        if (method, path) == ('GET', '/health'):
            return {'status': 'ok', 'keypairs': len(self.store.keypairs), 'project_id': self.cfg['project_id'],
                    'region': self.cfg['region'], 'kms_keys': self.kms_keys, 'skew_seconds': self.skew,
                    'switches': copy.deepcopy(self.switches)}
        if path == '/requests' and method in ('GET', 'DELETE'):
            with self._lock:
                entries = list(self.log)
                if method == 'DELETE':
                    self.log = []
            return entries if method == 'GET' else {'cleared': len(entries)}
        if path == '/faults' and method in ('GET', 'POST', 'DELETE'):
            if method == 'POST':
                return {'added': self.add_faults(data)}
            with self._lock:
                faults = [dict(fault) for fault in self.faults]
                if method == 'DELETE':
                    self.faults = []
            return faults if method == 'GET' else {'cleared': len(faults)}
        if (method, path) == ('POST', '/release'):
            self.released.set()
            return {'released': True}
        if (method, path) == ('POST', '/tokens/expire'):
            with self.store.lock:
                for record in self.store.tokens.values():
                    record['expires_at'] = 0
                self.store.save()
            return {'expired': len(self.store.tokens)}
        if (method, path) == ('POST', '/rate_limit'):
            with self._lock:
                self.rate_limit = max(0, int((data or {}).get('per_second') or 0))
                self._recent = []
            return {'per_second': self.rate_limit}
        if (method, path) == ('POST', '/clock'):
            self.skew = float((data or {}).get('skew_seconds', 0))
            return {'skew_seconds': self.skew}
        if path == '/switches' and method in ('GET', 'POST', 'DELETE'):
            if method == 'POST':
                return self.set_switches(data)
            if method == 'DELETE':
                return self.set_switches(copy.deepcopy(SWITCH_DEFAULTS))
            with self._lock:
                return copy.deepcopy(self.switches)
        answer = self.ecs.control(method, path, data)
        if answer is not None:
            return NotFound('no such server: %s' % path[len('/servers/'):]) if answer is False else answer
        if (method, path) == ('DELETE', '/keypairs'):
            self.store.clear()
            return {'cleared': True}
        if method == 'GET' and path.startswith('/keypairs/'):
            name = unquote(path[len('/keypairs/'):])
            with self.store.lock:
                record = self.store.keypairs.get(name)
                if record is None:
                    return NotFound('no such key pair: %s' % name)
                full = {key: value for key, value in record.items() if key != 'sealed_private_key'}
                full['is_key_protection'] = bool(record.get('sealed_private_key'))
                full['private_key'] = self.hosted_private_key(record)
            return full
        return NotFound('no such control endpoint: %s %s' % (method, '/_emulator' + path))


class Handler(BaseHTTPRequestHandler):
    """Moves bytes between the socket and the Emulator (set as ``server.emulator``)."""

    protocol_version = 'HTTP/1.1'  # keep-alive: clients reuse connections
    disable_nagle_algorithm = True  # headers and body go out as separate writes: avoid the 40 ms delayed-ACK stall

    def version_string(self):
        return 'KPSEmulator'

    def _serve(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.emulator.handle(self.command, self.path, headers, body, self.client_address[0])
        if response.delay:
            time.sleep(response.delay)
        if response.hold:
            self.server.emulator.released.wait(response.hold)
        if response.drop:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.content_type and response.status != 204:
            self.send_header('Content-Type', response.content_type)
        if response.status != 204:
            self.send_header('Content-Length', str(len(response.body)))
        self.end_headers()
        if response.status != 204:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if getattr(self.server, 'log_requests', False):
            super().log_message(format, *args)
