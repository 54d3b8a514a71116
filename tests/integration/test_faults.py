# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix: every call the modules make, under every fault the emulator can inject.

Calls: show, list, create, import, export, batch export, IAM token, IAM projects. Faults: 429 with and
without Retry-After, 500/502/503/504, a retryable and a non-retryable KPS 500 code, read timeout, dropped
connection, non-JSON bodies, a truncated zip, APIGW.0301, a fault that outlasts the retries, an expired
token, and clock skew (its own group). The rule for each case: the task succeeds after its retries when
the fault is transient, or fails with a message naming the call, the status, the error code and the request
id; after a failed task the emulator's records of the case's key pairs and every local file of the case are
exactly as before.

Speed: one ansible-playbook run does all cases. Each group of cases (one per call, plus the clock/token
group) has its own emulator and its own inventory host, so the groups run in parallel (``strategy: free``,
one fork per group) while the cases of a group run one after the other. The test action plugin
``kps_case`` (tests/integration/plugins/action) frames each case on the controller: queue the faults and
snapshot before, record the result, the request log and the snapshot after. Tasks use ``retries: 1`` and
``timeout: 2``, so a retry costs at most a second. test_export_faults.py covers the batch-export archive
faults (corrupt, extra entry) and a retry in the middle of a multi-batch export; the real expiry of a token
during a run is ``test_token_expiring_during_the_run_gets_one_fresh_login`` below.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import resource
import threading
import time

import pytest
import yaml

from integration.harness import REPORTS, exported_text, start_emulator
from kps_emulator import keys
from kps_emulator.testing import DEFAULTS

TIMEOUT = 2
RETRIES = 1


class Call:
    def __init__(self, group, call, label, shape, auth='aksk', idempotent=True):
        self.group, self.call, self.label, self.shape, self.auth, self.idempotent = (
            group, call, label, shape, auth, idempotent)


# shape: import_existing (show, import, show), import_new (show, create, show), export_one (show, export),
# export_many (list, batch export). The faulted call is the first request of that call in the case.
CALLS = [
    Call('show', 'show_keypair', 'show key pair', 'import_existing'),
    Call('list', 'list_keypairs', 'list key pairs', 'export_many'),
    Call('create', 'create_keypair', 'create key pair', 'import_new', idempotent=False),
    Call('import', 'import_private_key', 'import private key', 'import_existing'),
    Call('export', 'export_private_key', 'export private key', 'export_one'),
    Call('batch', 'batch_export_private_keys', 'batch export', 'export_many'),
    Call('token', 'iam_token', 'get IAM token', 'export_one', auth='password'),
    Call('projects', 'iam_projects', 'list IAM projects', 'export_one', auth='aksk_lookup'),
]

# (label, fault effects, kind). Kinds: transient (always retried), server (5xx: retried unless the call is
# not idempotent), timeout, drop, once (never retried), persistent (outlasts the retries), expired (token).
FAULTS = [
    ('429 + Retry-After: 1', {'status': 429, 'retry_after': 1}, 'transient'),
    ('429, no Retry-After', {'status': 429}, 'transient'),
    ('500 KPS.0003', {'status': 500}, 'server'),
    ('502', {'status': 502}, 'server'),
    ('503', {'status': 503}, 'server'),
    ('504', {'status': 504}, 'server'),
    ('500 KPS.5001 (retryable code)', {'status': 500, 'error_code': 'KPS.5001'}, 'server'),
    ('500 KPS.6009 (code not retryable)', {'status': 500, 'error_code': 'KPS.6009'}, 'once'),
    # The module gives up after 2 s whatever the delay: 3 s more leave room for a module slow to wake up.
    ('read timeout (delay 5 s > timeout 2 s)', {'delay': 5}, 'timeout'),
    ('dropped connection', {'drop': True}, 'drop'),
    ('non-JSON body, HTTP 200', {'non_json': True}, 'once'),
    ('non-JSON body, HTTP 502', {'non_json': True, 'status': 502}, 'server'),
    ('truncated zip', {'truncate_zip': True}, 'once'),
    ('401 APIGW.0301 (never retried)', {'status': 401, 'error_code': 'APIGW.0301'}, 'once'),
    ('503 outlasting the retries', {'status': 503, 'count': RETRIES + 1}, 'persistent'),
    ('expired token (401 APIGW.0307)', {'status': 401, 'error_code': 'APIGW.0307'}, 'expired'),
]


def applies(call, fault_label, kind):
    if fault_label == 'truncated zip':
        return call.group == 'batch'
    if kind == 'expired':
        return call.auth == 'aksk'  # the case then logs in with a password; IAM calls have no token to expire
    return True


# Requests of each call in an undisturbed run of each shape of case.
NORMAL = {
    'import_existing': {'show_keypair': 2, 'import_private_key': 1},
    'import_new': {'show_keypair': 2, 'create_keypair': 1},
    'export_one': {'show_keypair': 1, 'export_private_key': 1, 'iam_token': 1, 'iam_projects': 1},
    'export_many': {'list_keypairs': 1, 'batch_export_private_keys': 1},
}


def expected_outcome(call, kind):
    """('ok', retried) when the task must succeed, ('fail', attempts) when it must fail cleanly."""
    if kind in ('transient', 'expired'):
        return 'ok', 1
    if kind in ('server', 'drop'):
        return ('ok', 1) if call.idempotent else ('fail', 1)
    if kind == 'timeout':
        # create is not repeated: the module reads the key pair and finds that the create did land
        return ('ok', 1) if call.idempotent else ('ok', 0)
    if kind == 'persistent':
        return ('fail', RETRIES + 1) if call.idempotent else ('fail', 1)
    return 'fail', 1


def child_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


class Matrix:
    """Builds the cases: key pairs in each group's emulator, local files, the inventory of one host per group."""

    def __init__(self, ansible, workdir, emulators):
        self.ansible = ansible
        self.workdir = workdir
        self.emulators = emulators
        self.cases = {}          # id -> case dict (what the playbook gets)
        self.expect = {}         # id -> expectations (what Python checks)
        self.hosts = {}
        self.token = None

    def conn(self, emulator, auth):
        conn = {'kps_endpoint': emulator.url, 'iam_endpoint': emulator.url, 'region': emulator.region,
                'timeout': TIMEOUT, 'retries': RETRIES}
        if auth in ('aksk', 'aksk_lookup'):
            conn.update(access_key=emulator.access_key, secret_key=emulator.secret_key)
            if auth == 'aksk':
                conn['project_id'] = emulator.project_id
        elif auth == 'password':
            conn.update(user_name=DEFAULTS['user'], user_password=DEFAULTS['password'], domain_name=DEFAULTS['domain'])
        elif auth == 'token':
            conn.update(auth_token=self.token, project_id=emulator.project_id)
        return conn

    def _seed(self, emulator, name, hosted):
        private, public = keys.generate('ed25519')
        self.ansible.add_secret(private)
        keypair = {'name': name, 'public_key': public}
        if hosted:
            keypair['key_protection'] = {'private_key': private, 'encryption': {'type': 'default'}}
        client = emulator.client()
        client.json('POST', client.kps(), {'keypair': keypair}, expect=200)
        return private

    def _key_file(self, case_id):
        private, _public = keys.generate('ed25519')
        self.ansible.add_secret(private)
        path = os.path.join(self.workdir, 'keys', case_id + '.pem')
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, 'w') as handle:
            handle.write(private)
        os.chmod(path, 0o600)
        return path, private

    def add(self, group, emulator, shape, auth, label, kind, faults, outcome, calls_expected, target_call,
            call_label, clock_skew=0, expire_tokens=False, retried=False):
        case_id = '%s-%02d' % (group, len([c for c in self.cases if c.startswith(group + '-')]))
        # The case names its credentials; their values are host vars, so that no loop item shows a secret.
        case = {'id': case_id, 'auth': auth, 'faults': faults, 'clock_skew': clock_skew,
                'expire_tokens': expire_tokens}
        expect = {'group': group, 'fault': label, 'kind': kind, 'outcome': outcome, 'calls': calls_expected,
                  'call': target_call, 'label': call_label, 'shape': shape, 'retried': retried}
        if shape in ('import_existing', 'import_new'):
            path, private = self._key_file(case_id)
            if shape == 'import_existing':
                public = keys.public_key_of(private)
                client = emulator.client()
                client.json('POST', client.kps(), {'keypair': {'name': case_id, 'public_key': public}}, expect=200)
            case.update(module='import', args={'name': case_id, 'private_key_path': path},
                        keypairs=[case_id], paths=[path])
            expect['hosted'] = {case_id: private}
        elif shape == 'export_one':
            private = self._seed(emulator, case_id, hosted=True)
            dest = os.path.join(self.workdir, 'out', case_id + '.pem')
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
            old, _public = keys.generate('ed25519')  # another key: the file must be replaced
            self.ansible.add_secret(old)
            with open(dest, 'w') as handle:
                handle.write(old)
            os.chmod(dest, 0o600)
            case.update(module='export', args={'name': case_id, 'dest': dest}, keypairs=[case_id], paths=[dest])
            expect['files'] = {dest: private}
        else:
            names = [case_id + '-a', case_id + '-b']
            privates = dict((name, self._seed(emulator, name, hosted=True)) for name in names)
            dest = os.path.join(self.workdir, 'out', case_id)
            os.makedirs(dest, mode=0o700)
            with open(os.path.join(dest, names[0] + '.pem'), 'w') as handle:
                handle.write('not a key\n')  # to be replaced; names[1] is missing
            os.chmod(os.path.join(dest, names[0] + '.pem'), 0o600)
            case.update(module='export', args={'names': names, 'dest': dest}, keypairs=names, paths=[dest])
            expect['files'] = dict((os.path.join(dest, name + '.pem'), privates[name]) for name in names)
        self.cases[case_id] = case
        self.expect[case_id] = expect
        self.hosts.setdefault(group, {'emulator': emulator, 'cases': []})['cases'].append(case)

    def build(self):
        for call in CALLS:
            emulator = self.emulators[call.group]
            for label, effects, kind in FAULTS:
                if not applies(call, label, kind):
                    continue
                outcome, count = expected_outcome(call, kind)
                retried = outcome == 'ok' and count == 1
                if outcome == 'ok':
                    count += NORMAL[call.shape][call.call]  # the extra attempt on top of the normal requests
                fault = dict(effects, call=call.call)
                auth = 'password' if kind == 'expired' else call.auth
                self.add(call.group, emulator, call.shape, auth, label, kind, [fault], outcome, count, call.call,
                         call.label, retried=retried and kind != 'expired')
        # Clock skew and tokens: AK/SK signatures are checked against the server clock (15 minutes either way).
        emulator = self.emulators['clock']
        self.token = emulator.client().login()
        self.ansible.add_secret(self.token)
        for skew, outcome in ((300, 'ok'), (-300, 'ok'), (1200, 'fail'), (-1200, 'fail')):
            self.add('clock', emulator, 'export_one', 'aksk', 'clock skew %+d s' % skew, 'skew', [], outcome, 1,
                     'show_keypair', 'show key pair', clock_skew=skew)
        self.add('clock', emulator, 'export_one', 'token', 'auth_token, valid', 'token', [], 'ok', 1,
                 'show_keypair', 'show key pair')
        self.add('clock', emulator, 'export_one', 'token', 'auth_token, expired (not refreshable)', 'token', [],
                 'fail', 1, 'show_keypair', 'show key pair', expire_tokens=True)
        self.add('clock', emulator, 'export_one', 'password', 'password login, clock skew +1200 s', 'skew', [],
                 'ok', 1, 'show_keypair', 'show key pair', clock_skew=1200)

    def inventory(self):
        hosts = {}
        for group, host in self.hosts.items():
            auths = set(case['auth'] for case in host['cases'])
            hosts['faults-' + group] = {'ansible_connection': 'local', 'emu_url': host['emulator'].url,
                                        'cases': host['cases'],
                                        'conns': dict((auth, self.conn(host['emulator'], auth)) for auth in auths)}
        path = os.path.join(self.workdir, 'inventory.yml')
        with open(path, 'w') as handle:
            yaml.safe_dump({'all': {'hosts': hosts}}, handle)
        return path


CONN_OPTIONS = ('kps_endpoint', 'iam_endpoint', 'region', 'project_id', 'access_key', 'secret_key', 'auth_token',
                'user_name', 'user_password', 'domain_name', 'timeout', 'retries')


def case_tasks(record_dir):
    conn = dict((option, '{{ conns[case.auth].%s | default(omit) }}' % option) for option in CONN_OPTIONS)
    frame = {'emulator': '{{ emu_url }}', 'case': '{{ case.id }}', 'keypairs': '{{ case.keypairs }}',
             'paths': '{{ case.paths }}'}
    return [
        {'name': 'before {{ case.id }}', 'kps_case': dict(frame, phase='before', faults='{{ case.faults }}',
                                                          clock_skew='{{ case.clock_skew }}',
                                                          expire_tokens='{{ case.expire_tokens }}'),
         'register': 'case_before'},
        {'name': 'import {{ case.id }}', 'when': "case.module == 'import'", 'register': 'case_import',
         'ignore_errors': True,
         'huaweicloud.kps.kps_private_key_import': dict(conn, name='{{ case.args.name }}',
                                                        private_key_path='{{ case.args.private_key_path }}')},
        {'name': 'export {{ case.id }}', 'when': "case.module == 'export'", 'register': 'case_export',
         'ignore_errors': True,
         'huaweicloud.kps.kps_private_key_export': dict(conn, name='{{ case.args.name | default(omit) }}',
                                                        names='{{ case.args.names | default(omit) }}',
                                                        dest='{{ case.args.dest }}')},
        {'name': 'after {{ case.id }}', 'kps_case': dict(
            frame, phase='after', record_dir=record_dir, before='{{ case_before.snapshot }}',
            result="{{ case_import if case.module == 'import' else case_export }}")},
    ]


def check_case(expect, record):
    """Problems with one case (an empty list when it behaved)."""
    problems = []
    result = record['result']
    requests = record['requests']
    target = [entry for entry in requests if entry['call'] == expect['call']]
    failed = bool(result.get('failed'))
    msg = result.get('msg') or ''
    if failed != (expect['outcome'] == 'fail'):
        problems.append('expected %s, got %s: %s' % (expect['outcome'], 'fail' if failed else 'ok', msg[:300]))
    if len(target) != expect['calls']:
        problems.append('%d %s requests, expected %d' % (len(target), expect['call'], expect['calls']))
    # ansible-core 2.19 adds exception: '(traceback unavailable)' to every fail_json: look for a real one.
    if 'Traceback (most recent call last)' in json.dumps(result) or result.get('module_stderr'):
        problems.append('traceback in the result')
    if failed:
        # The last answer is the one the message reports.
        faulted = ([entry for entry in target if entry['fault'] or entry['status'] not in (200, 201)] or target
                   or [None])[-1]
        if "'%s'" % expect['label'] not in msg:
            problems.append('the message does not name the call %r: %s' % (expect['label'], msg))
        if faulted is not None:
            if faulted['status'] not in (None, 200) and 'HTTP %s' % faulted['status'] not in msg:
                problems.append('the message does not name HTTP %s: %s' % (faulted['status'], msg))
            if faulted['error_code'] and faulted['error_code'] not in msg:
                problems.append('the message does not name %s: %s' % (faulted['error_code'], msg))
            if faulted['status'] is not None and 'request id %s' % faulted['request_id'] not in msg:
                problems.append('the message does not name the request id: %s' % msg)
            if faulted['status'] is None and 'could not reach' not in msg:
                problems.append('a dropped connection should say so: %s' % msg)
        if record['before'] != record['after']:
            problems.append('a failed task changed the server state or a local file')
    else:
        problems.extend(check_success(expect, record))
    if expect['retried']:
        warnings = ' '.join(result.get('warnings') or [])
        if "retrying '%s'" % expect['label'] not in warnings:
            problems.append('no retry warning naming the call: %s' % warnings[:300])
    if expect['kind'] == 'expired':
        logins = [entry['call'] for entry in requests].count('iam_token')
        if logins != 2:
            problems.append('%d logins, expected the first and one fresh login' % logins)
    return problems


def check_success(expect, record):
    problems = []
    after = record['after']
    for name, private in (expect.get('hosted') or {}).items():
        keypair = after['keypairs'].get(name) or {}
        if keypair.get('private_key_sha256') != sha256(private) and not keypair.get('is_key_protection'):
            problems.append('%s does not host the private key' % name)
        elif keypair.get('fingerprint') != keys.fingerprint(keys.public_key_of(private)):
            problems.append('%s has the wrong fingerprint' % name)
    for path, private in (expect.get('files') or {}).items():
        directory, name = os.path.split(path)
        entry = after['paths'][path] if path in after['paths'] else after['paths'][directory]['entries'].get(name)
        if not entry or entry.get('sha256') != sha256(exported_text(private)) or entry.get('mode') != 0o600:
            problems.append('%s does not hold the exported key with mode 0600' % path)
    for snap in after['paths'].values():
        if snap and snap.get('type') == 'dir':
            temps = [name for name in snap['entries'] if name.startswith('.')]
            if temps:
                problems.append('temp files left: %s' % temps)
    return problems


def table(matrix, records, problems):
    groups = [call.group for call in CALLS]
    width = 40
    lines = ['%-*s %s' % (width, 'fault \\ call', ' '.join('%-8s' % group for group in groups))]
    for label, _effects, _kind in FAULTS:
        cells = []
        for group in groups:
            ids = [cid for cid, exp in matrix.expect.items() if exp['group'] == group and exp['fault'] == label]
            if not ids:
                cells.append('%-8s' % '-')
                continue
            cid = ids[0]
            result = records.get(cid, {}).get('result') or {}
            state = 'fail' if result.get('failed') else 'ok'
            cells.append('%-8s' % ('%s%s' % (state, '' if cid not in problems else '!')))
        lines.append('%-*s %s' % (width, label[:width], ' '.join(cells)))
    lines.append('')
    for cid, exp in matrix.expect.items():
        if exp['group'] == 'clock':
            result = records.get(cid, {}).get('result') or {}
            lines.append('%-*s %s%s' % (width, exp['fault'][:width], 'fail' if result.get('failed') else 'ok',
                                        '!' if cid in problems else ''))
    tried = len(matrix.expect)
    survived = sum(1 for cid in matrix.expect if not (records.get(cid, {}).get('result') or {}).get('failed'))
    clean = sum(1 for cid in matrix.expect if (records.get(cid, {}).get('result') or {}).get('failed')
                and cid not in problems)
    lines.append('')
    lines.append('ok = the task succeeded (after retries where the fault was transient); fail = it failed with a '
                 'message naming the call, status, code and request id, and changed nothing; ! = wrong behaviour')
    lines.append('faults tried: %d, survived (task succeeded): %d, failed cleanly: %d, wrong: %d'
                 % (tried, survived, clean, len(problems)))
    return lines


@pytest.fixture
def group_emulators(tmp_path_factory, emulator):
    """One emulator per group of cases (the test's own emulator serves the 'show' group)."""
    with contextlib.ExitStack() as stack:
        emulators = {'show': emulator}
        for group in [call.group for call in CALLS[1:]] + ['clock']:
            emulators[group] = stack.enter_context(start_emulator(tmp_path_factory.mktemp('emulator-' + group)))
        yield emulators


def test_fault_matrix(ansible, group_emulators, tmp_path):
    matrix = Matrix(ansible, str(tmp_path), group_emulators)
    matrix.build()
    record_dir = tmp_path / 'records'
    record_dir.mkdir()
    inventory = matrix.inventory()
    play = [{'name': 'fault matrix', 'hosts': 'all', 'gather_facts': False, 'strategy': 'free', 'tasks': [
        {'name': 'run the cases of this group', 'ansible.builtin.include_tasks': 'cases.yml',
         'loop': '{{ cases }}', 'loop_control': {'loop_var': 'case', 'label': '{{ case.id }}'}}]}]
    with open(tmp_path / 'cases.yml', 'w') as handle:
        yaml.safe_dump(case_tasks(str(record_dir)), handle)
    started, cpu = time.monotonic(), child_cpu()
    ansible.playbook(play, '-f', str(len(matrix.hosts)), inventory=inventory)
    elapsed, cpu = time.monotonic() - started, child_cpu() - cpu

    records = {}
    for name in os.listdir(record_dir):
        with open(record_dir / name) as handle:
            record = json.load(handle)
        records[record['case']] = record
    problems = {}
    for cid, expect in matrix.expect.items():
        if cid not in records:
            problems[cid] = ['the case did not run']
            continue
        found = check_case(expect, records[cid])
        if expect['kind'] == 'skew' and expect['outcome'] == 'fail':
            msg = records[cid]['result'].get('msg', '')
            if 'APIGW.0301' not in msg or 'clock' not in msg or len(records[cid]['requests']) != 1:
                found.append('clock skew must fail once with APIGW.0301 and a hint about the clock: %s' % msg)
        if expect['fault'].startswith('auth_token, expired') and 'APIGW.0307' not in records[cid]['result'].get('msg', ''):
            found.append('an expired auth_token must fail naming APIGW.0307')
        if found:
            problems[cid] = found
    lines = table(matrix, records, problems)
    lines.append('%d cases in one ansible-playbook run: %.0f s wall, %.0f s CPU (%d groups in parallel)'
                 % (len(matrix.expect), elapsed, cpu, len(matrix.hosts)))
    REPORTS.append(('huaweicloud.kps fault matrix (tests/integration/test_faults.py)', lines))
    assert not problems, '\n'.join(
        '%s (%s / %s): %s' % (cid, matrix.expect[cid]['group'], matrix.expect[cid]['fault'], '; '.join(found))
        for cid, found in sorted(problems.items()))


def test_token_expiring_during_the_run_gets_one_fresh_login(ansible, emulator, tmp_path):
    """A real expiry between two calls of a run: the module logs in once more and repeats the call, once."""
    private = keys.generate('ed25519')[0]
    ansible.add_secret(private)
    client = emulator.client()
    client.json('POST', client.kps(), {'keypair': {'name': 'expiring', 'public_key': keys.public_key_of(private),
                                                   'key_protection': {'private_key': private,
                                                                      'encryption': {'type': 'default'}}}},
                expect=200)
    emulator.clear_requests()
    # The show's answer is held (after it was authenticated) until the token has expired: a fixed delay could end
    # first on a loaded machine. At most 20 s, less than the task's timeout of 30 s: never read as a timeout.
    emulator.add_faults({'call': 'show_keypair', 'hold': 20})
    expired = threading.Event()

    def expire_when_shown():
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                if emulator.requests('show_keypair'):
                    emulator.expire_tokens()
                    expired.set()
                    return
                time.sleep(0.05)
        finally:
            emulator.release()

    watcher = threading.Thread(target=expire_when_shown, daemon=True)
    watcher.start()
    dest = tmp_path / 'expiring.pem'
    ansible.playbook([{'name': 'token expiry', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'export with a password login', 'huaweicloud.kps.kps_private_key_export': {
            'name': 'expiring', 'dest': str(dest), 'kps_endpoint': '{{ kps_emulator_url }}',
            'iam_endpoint': '{{ kps_emulator_url }}', 'region': '{{ kps_region }}',
            'user_name': '{{ kps_user_name }}', 'user_password': '{{ kps_user_password }}',
            'domain_name': '{{ kps_domain_name }}', 'timeout': 30}}]}])
    watcher.join(5)
    assert expired.is_set()
    log = [(entry['call'], entry['status'], entry['error_code']) for entry in emulator.requests()]
    assert log == [('iam_token', 201, None), ('show_keypair', 200, None),
                   ('export_private_key', 401, 'APIGW.0307'), ('iam_token', 201, None),
                   ('export_private_key', 200, None)], log
    assert dest.read_text() == exported_text(private)


def test_matrix_covers_the_issue():
    """Every call the modules make and every fault kind of the issue is in the matrix."""
    assert sorted(call.call for call in CALLS) == sorted([
        'show_keypair', 'list_keypairs', 'create_keypair', 'import_private_key', 'export_private_key',
        'batch_export_private_keys', 'iam_token', 'iam_projects'])
    labels = ' '.join(label for label, _effects, _kind in FAULTS)
    for needle in ('Retry-After', 'no Retry-After', '500', '502', '503', '504', 'retryable code', 'timeout',
                   'dropped', 'non-JSON', 'truncated zip', 'APIGW.0301', 'expired token'):
        assert re.search(re.escape(needle), labels), needle
