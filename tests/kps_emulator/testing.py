# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for tests, the demo and the benchmark: run the emulator as a process and talk to it.

    with EmulatorProcess(tmp_path / 'state.json') as emu:
        client = emu.client()
        client.call('GET', '/v3/%s/keypairs' % emu.project_id)
        emu.add_faults({'call': 'show_keypair', 'status': 500})
        assert emu.requests()[-1]['call'] == 'show_keypair'
"""
from __future__ import annotations

import ctypes
import http.client
import json
import os
import select
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from urllib.parse import quote, urlencode, urlsplit

from . import keys, sigv
from .server import DEFAULTS

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
READY_PREFIX = 'KPS emulator listening on '


class EmulatorError(RuntimeError):
    """The emulator process did not start or stopped unexpectedly."""


class Client:
    """A tiny signed (or token-authenticated) HTTP client using the emulator's own signer.

    ``call()`` returns (status, headers dict with lower-case names, body bytes); ``json()`` decodes the body.
    """

    def __init__(self, url, access_key=DEFAULTS['access_key'], secret_key=DEFAULTS['secret_key'],
                 project_id=DEFAULTS['project_id'], security_token=None, token=None, cafile=None, timeout=30):
        self.url = url.rstrip('/')
        self.access_key, self.secret_key, self.project_id = access_key, secret_key, project_id
        self.security_token, self.token = security_token, token
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=cafile) if self.url.startswith('https') else None

    def call(self, method, path, body=None, query=None, headers=None, sign=True):
        url = self.url + path + ('?' + urlencode(sorted(query.items()), quote_via=quote) if query else '')
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode('utf-8')
        out = {'Content-Type': 'application/json;charset=UTF-8'}
        if path.startswith('/v3/') and '/keypairs' in path:
            out['X-Project-Id'] = self.project_id
        out.update(headers or {})
        if self.token:
            out['X-Auth-Token'] = self.token
        elif sign:
            if self.security_token:
                out['X-Security-Token'] = self.security_token
            out = sigv.sign(method, url, out, data, self.access_key, self.secret_key)
        parts = urlsplit(url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == 'https' else http.client.HTTPConnection
        kwargs = {'context': self._context} if self._context else {}
        conn = conn_cls(parts.hostname, parts.port, timeout=self.timeout, **kwargs)
        try:
            conn.request(method, url[len(parts.scheme) + 3 + len(parts.netloc):], body=data, headers=out)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def json(self, method, path, body=None, query=None, expect=None):
        status, headers, raw = self.call(method, path, body, query)
        if expect is not None and status != expect:
            raise AssertionError('%s %s: HTTP %s %s' % (method, path, status, raw[:300]))
        return status, headers, (json.loads(raw) if raw else None)

    def kps(self, suffix=''):
        return '/v3/%s/keypairs%s' % (self.project_id, suffix)

    def login(self, domain=DEFAULTS['domain'], user=DEFAULTS['user'], password=DEFAULTS['password'],
              region=DEFAULTS['region']):
        """Password login at the emulator's IAM; returns the token (and keeps using it)."""
        body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'domain': {'name': domain}, 'name': user, 'password': password}}},
            'scope': {'project': {'name': region}}}}
        status, headers, raw = self.call('POST', '/v3/auth/tokens', body, sign=False)
        if status != 201:
            raise AssertionError('login failed: HTTP %s %s' % (status, raw[:300]))
        self.token = headers['x-subject-token']
        return self.token


def seed_keypairs(client, count, prefix='seed-', hosted=True, kind='ed25519', encryption=None):
    """Create ``count`` key pairs (names ``<prefix>0000``...) through the API; returns {name: private PEM}.

    Ed25519 keys are the default because generating them is fast; with ``hosted`` the private key is imported.
    """
    created = {}
    for index in range(count):
        name = '%s%04d' % (prefix, index)
        private_key, public_key = keys.generate(kind)
        keypair = {'name': name, 'public_key': public_key}
        if hosted:
            keypair['key_protection'] = {'private_key': private_key, 'encryption': encryption or {'type': 'default'}}
        client.json('POST', client.kps(), {'keypair': keypair}, expect=200)
        created[name] = private_key
    return created


def _tie_to_parent():
    """In the emulator's process, before exec: unblock signals and get SIGKILL when the process that started
    it ends (Linux PR_SET_PDEATHSIG). ansible-test units runs each test in a forked process that leaves with
    os._exit, skipping fixture teardown, and with SIGTERM blocked: without this its emulators would outlive it."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


class EmulatorProcess:
    """Run ``python tests/kps_emulator`` as a subprocess (a context manager).

    ``args`` are extra command line flags, e.g. ``['--kms-key', 'kps/default', '--kms-key', 'other']``.
    The state file defaults to a fresh temporary file. ``stop()`` sends SIGTERM and waits; ``kill()`` sends
    SIGKILL (to prove that state survives); ``start()`` may be called again after either.
    """

    def __init__(self, state_file=None, args=(), port=0, tls_cert=None, tls_key=None, startup_timeout=30,
                 access_key=DEFAULTS['access_key'], secret_key=DEFAULTS['secret_key'],
                 project_id=DEFAULTS['project_id'], region=DEFAULTS['region']):
        self._tmpdir = None
        if state_file is None:
            self._tmpdir = tempfile.mkdtemp(prefix='kps-emulator-')
            state_file = os.path.join(self._tmpdir, 'state.json')
        self.state_file = str(state_file)
        self.args = list(args)
        self.port = port
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.startup_timeout = startup_timeout
        self.access_key, self.secret_key, self.project_id, self.region = access_key, secret_key, project_id, region
        self.url = None
        self.proc = None
        self._stderr = None

    # ----- process ----------------------------------------------------------------------------------------

    def command(self):
        cmd = [sys.executable, PACKAGE_DIR, '--port', str(self.port), '--state', self.state_file,
               '--access-key', self.access_key, '--secret-key', self.secret_key,
               '--project-id', self.project_id, '--region', self.region]
        if self.tls_cert:
            cmd += ['--tls-cert', str(self.tls_cert), '--tls-key', str(self.tls_key)]
        return cmd + self.args

    def start(self):
        if self.proc and self.proc.poll() is None:
            return self
        self._stderr = tempfile.TemporaryFile(mode='w+')
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     preexec_fn=_tie_to_parent)  # pylint: disable=subprocess-popen-preexec-fn
        deadline = time.monotonic() + self.startup_timeout
        line = ''
        while time.monotonic() < deadline and self.proc.poll() is None:
            ready = select.select([self.proc.stdout], [], [], 0.1)[0]
            if ready:
                line = self.proc.stdout.readline()
                break
        if not line.startswith(READY_PREFIX):
            self.kill()
            raise EmulatorError('emulator did not start: %r %s' % (line, self.stderr_text()))
        self.url = line[len(READY_PREFIX):].strip()
        self.port = int(self.url.rsplit(':', 1)[1])  # a restart keeps the same port
        return self

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc.stdout.close()
        return self.proc.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc:
            self.proc.stdout.close()

    def stderr_text(self):
        if not self._stderr:
            return ''
        self._stderr.seek(0)
        return self._stderr.read()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ----- clients and control API ------------------------------------------------------------------------

    def client(self, **kwargs):
        options = {'access_key': self.access_key, 'secret_key': self.secret_key, 'project_id': self.project_id,
                   'cafile': self.tls_cert}
        options.update(kwargs)
        return Client(self.url, **options)

    def module_env(self):
        """Environment for the collection's modules/plugins pointing at this emulator."""
        return {'HW_KPS_ENDPOINT': self.url, 'HW_IAM_ENDPOINT': self.url, 'HW_ECS_ENDPOINT': self.url,
                'HW_ACCESS_KEY': self.access_key,
                'HW_SECRET_KEY': self.secret_key, 'HW_REGION_NAME': self.region, 'HW_PROJECT_ID': self.project_id}

    def control(self, method, path, body=None):
        status, _headers, raw = self.client().call(method, '/_emulator' + path, body, sign=False)
        if status != 200:
            raise EmulatorError('control %s %s: HTTP %s %s' % (method, path, status, raw[:300]))
        return json.loads(raw)

    def health(self):
        return self.control('GET', '/health')

    def requests(self, call=None):
        """The request log (optionally only entries of one call name)."""
        entries = self.control('GET', '/requests')
        return [entry for entry in entries if call is None or entry['call'] == call]

    def clear_requests(self):
        return self.control('DELETE', '/requests')

    def add_faults(self, *faults):
        """Queue faults: add_faults({'call': 'show_keypair', 'status': 500, 'count': 2}, ...)."""
        flat = [fault for item in faults for fault in (item if isinstance(item, list) else [item])]
        return self.control('POST', '/faults', flat)

    def faults(self):
        return self.control('GET', '/faults')

    def clear_faults(self):
        return self.control('DELETE', '/faults')

    def keypair(self, name):
        """The emulator's full record of a key pair (encryption settings, hosted private key), or None."""
        status, _headers, raw = self.client().call('GET', '/_emulator/keypairs/' + quote(name, safe=''), sign=False)
        return json.loads(raw) if status == 200 else None

    def clear_keypairs(self):
        return self.control('DELETE', '/keypairs')

    def switches(self):
        return self.control('GET', '/switches')

    def set_switches(self, **values):
        """Switch behaviours no source settles, e.g. set_switches(not_found={'status': 404, 'error_code': None})."""
        return self.control('POST', '/switches', values)

    def reset_switches(self):
        return self.control('DELETE', '/switches')

    def expire_tokens(self):
        return self.control('POST', '/tokens/expire')

    def release(self):
        """Let the answers held by ``hold`` faults go."""
        return self.control('POST', '/release')

    def add_servers(self, *servers):
        """ECS servers for the key pair tasks: add_servers({'id': 's1', 'name': 'web-1', 'status': 'ACTIVE',
        'key_name': None, 'password': 'pw'}, ...); see docs/emulator.md for every field."""
        return self.control('POST', '/servers', list(servers))

    def servers(self):
        return self.control('GET', '/servers')

    def server(self, server_id):
        """The emulator's record of a server (its key_name, power state, ...), or None."""
        status, _headers, raw = self.client().call('GET', '/_emulator/servers/' + quote(server_id, safe=''), sign=False)
        return json.loads(raw) if status == 200 else None

    def tasks(self):
        """Every key pair task, with its task_status, error code and message (never its auth key)."""
        return self.control('GET', '/tasks')

    def finish_tasks(self):
        """End every running task now (as its time were up); returns how many."""
        return self.control('POST', '/tasks/finish')['finished']

    def set_task_settings(self, **settings):
        """How tasks run: set_task_settings(seconds=0.2, failure={'error_code': ..., 'error_msg': ...})."""
        return self.control('POST', '/tasks/settings', settings)

    def set_clock_skew(self, seconds):
        return self.control('POST', '/clock', {'skew_seconds': seconds})
