# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_private_key_import with ``keys`` (many keys in one task), in-process against a mocked KpsClient."""
from __future__ import annotations

import json
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import fingerprint
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import KpsClient
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.modules import kps_private_key_import
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args

KEYS = [ed25519.Ed25519PrivateKey.generate() for _index in range(25)]


def pem(index, passphrase=None):
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    return KEYS[index].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     encryption).decode('ascii')


def public(index):
    return KEYS[index].public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                 serialization.PublicFormat.OpenSSH).decode('ascii')


def listed(index, name=None, hosted=False):
    """A key pair as a listing reports it."""
    return {'name': name or 'k%02d' % index, 'type': 'ssh', 'scope': 'user', 'public_key': public(index) + ' x\n',
            'fingerprint': fingerprint(public(index)), 'is_key_protection': hosted, 'frozen_state': 0}


class FakeKps:
    """KPS as a dict of listed key pairs; records the calls; ``batch`` may script answers of batch_import_keypairs."""

    keypair_body = staticmethod(KpsClient.keypair_body)

    def __init__(self, *keypairs):
        self.keypairs = dict((item['name'], item) for item in keypairs)
        self.calls = []
        self.batch = []
        self.imports = []

    def find_keypairs(self, names):
        self.calls.append(('find', list(names)))
        return dict((name, dict(self.keypairs[name])) for name in names if name in self.keypairs)

    def batch_import_keypairs(self, bodies):
        self.calls.append(('batch', [body['name'] for body in bodies]))
        if self.batch and isinstance(self.batch[0], HuaweiCloudError):
            raise self.batch.pop(0)
        answer = self.batch.pop(0) if self.batch else None  # None: KPS creates every one
        created = set()
        for body in bodies:
            if answer is None or body['name'] in answer[0]:
                index = int(body['name'][-2:])
                self.keypairs[body['name']] = listed(index, body['name'], hosted=True)
                created.add(body['name'])
        return (created, {}) if answer is None else answer

    def import_private_key(self, name, private_key, **protection):
        self.calls.append(('import', name))
        self.imports.append((name, private_key, protection))
        self.keypairs[name]['is_key_protection'] = True
        return {'name': name}

    def writes(self):
        return [call for call in self.calls if call[0] != 'find']


@pytest.fixture
def kps():
    fake = FakeKps()
    with mock.patch.object(KpsModule, 'kps', new_callable=mock.PropertyMock, return_value=fake):
        yield fake


def run(args, check_mode=False, diff=False, fail=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with set_module_args(args):
        return run_module(kps_private_key_import.main, fail=fail)


def items(count, start=0):
    return [{'name': 'k%02d' % index, 'private_key': pem(index)} for index in range(start, start + count)]


def test_creates_in_batches_of_10_imports_one_by_one_and_leaves_hosted_alone(kps):
    kps.keypairs.update({'k00': listed(0), 'k01': listed(1, hosted=True)})
    checked = run({'keys': items(25)}, check_mode=True, diff=True)
    assert kps.calls == [('find', ['k%02d' % index for index in range(25)])]
    real = run({'keys': items(25)}, diff=True)
    created = ['k%02d' % index for index in range(2, 25)]
    assert [call for call in kps.calls if call[0] != 'find'] == [
        ('batch', created[:10]), ('batch', created[10:20]), ('batch', created[20:]), ('import', 'k00')]
    assert kps.calls[-1] == ('find', ['k00'] + created)  # one re-read of the key pairs written
    for result in (checked, real):
        assert result['changed'] is True
        assert (result['created'], result['imported'], result['unchanged'], result['failed_keys']) == (
            created, ['k00'], ['k01'], [])
        assert [entry['action'] for entry in result['key_results'][:3]] == ['import', 'none', 'create']
        assert result['diff']['before']['k02'] == {'exists': False, 'is_key_protection': False, 'fingerprint': None}
        assert result['diff']['after']['k02']['is_key_protection'] is True and 'k01' not in result['diff']['after']
    assert checked['diff'] == real['diff']
    assert checked['msg'].startswith('25 keys: would create 23 key pairs')
    assert real['msg'] == ('25 keys: created 23 key pairs with the private keys hosted by KPS, imported the private '
                           'keys of 1 existing key pair, 1 already hosted.')
    assert real['key_results'][2]['keypair']['is_key_protection'] is True

    kps.calls.clear()
    again = run({'keys': items(25)})
    assert again['changed'] is False and len(again['unchanged']) == 25 and kps.writes() == []


def test_a_key_that_fails_does_not_stop_the_others(kps, tmp_path):
    """Local failures (unreadable, another key pair's key) and KPS's refusal: named, the rest done, task failed."""
    kps.keypairs['k03'] = listed(9)  # k03 exists with another public key
    args = items(6)
    args[1] = {'name': 'k01', 'private_key_path': str(tmp_path / 'missing')}
    kps.batch = [({'k00', 'k04', 'k05'}, {'k02': 'KPS.6008: the KMS key does not exist'})]
    failed = run({'keys': args}, fail=True)
    assert failed['failed_keys'] == ['k01', 'k02', 'k03'] and failed['created'] == ['k00', 'k04', 'k05']
    assert failed['changed'] is True
    by_name = dict((entry['name'], entry) for entry in failed['key_results'])
    assert by_name['k01']['msg'].startswith('Cannot read private_key_path %s' % (tmp_path / 'missing'))
    assert by_name['k01']['action'] is None
    assert by_name['k02']['msg'] == 'KPS did not create key pair k02: KPS.6008: the KMS key does not exist'
    assert by_name['k02']['keypair'] is None and by_name['k02']['changed'] is False
    assert by_name['k03']['msg'].startswith('The private key does not belong to key pair k03')
    assert failed['msg'].startswith('6 keys: created 3 key pairs with the private keys hosted by KPS, 3 failed. '
                                    'Failed: k01: Cannot read private_key_path')


def test_unreported_or_unanswered_creates_are_decided_by_the_re_read(kps):
    """A name the answer does not report, or a call without an answer: hosted now means created, else failed."""
    kps.batch = [(set(), {}), HuaweiCloudError('batch import', status=None, reason='read timed out')]
    failed = run({'keys': items(12)}, fail=True)
    assert failed['failed_keys'] == ['k%02d' % index for index in range(12)] and failed['changed'] is False
    assert failed['key_results'][0]['msg'] == ('The create call for key pair k00 got no answer KPS reported on, and '
                                               'KPS does not host its private key now; run the task again.')

    def landed(bodies):  # KPS creates the key pairs, then the answer is lost
        for body in bodies:
            kps.keypairs[body['name']] = listed(int(body['name'][-2:]), body['name'], hosted=True)
        raise HuaweiCloudError('batch import', status=503)
    with mock.patch.object(kps, 'batch_import_keypairs', side_effect=landed):
        done = run({'keys': items(3)})
    assert done['changed'] is True and done['created'] == ['k00', 'k01', 'k02'] and done['failed_keys'] == []


def test_a_refused_batch_call_fails_its_keys_and_the_next_batch_goes_on(kps):
    kps.batch = [HuaweiCloudError('batch import', status=400, error_code='KPS.0002', error_msg='parameter error')]
    failed = run({'keys': items(15)}, fail=True)
    assert failed['failed_keys'] == ['k%02d' % index for index in range(10)]
    assert failed['created'] == ['k%02d' % index for index in range(10, 15)]
    assert failed['key_results'][0]['msg'] == ("Key pair k00: KPS call 'batch import' failed: HTTP 400 KPS.0002: "
                                               "parameter error")


def test_check_mode_reports_the_failures_it_can_see(kps):
    kps.keypairs['k01'] = listed(5)
    failed = run({'keys': items(3)}, check_mode=True, diff=True, fail=True)
    assert failed['failed_keys'] == ['k01'] and failed['created'] == ['k00', 'k02'] and failed['changed'] is True
    assert failed['key_results'][0]['msg'] == 'Would create key pair k00 with its private key hosted by KPS.'
    assert sorted(failed['diff']['after']) == ['k00', 'k02'] and kps.writes() == []


def test_shared_options_apply_unless_a_key_sets_its_own(kps):
    kps.keypairs['k01'] = listed(1)
    args = [{'name': 'k00', 'private_key': pem(0, 'pass-one'), 'scope': 'domain'},
            {'name': 'k01', 'private_key': pem(1, 'pass-two'), 'private_key_passphrase': 'pass-two',
             'encryption_type': 'default'}]
    bodies = []
    original = kps.batch_import_keypairs
    with mock.patch.object(kps, 'batch_import_keypairs', side_effect=lambda items: bodies.extend(items) or original(items)):
        run({'keys': args, 'private_key_passphrase': 'pass-one', 'encryption_type': 'kms', 'kms_key_id': 'kid-1',
             'user_id': 'u1'})
    assert bodies[0]['scope'] == 'domain' and bodies[0]['user_id'] == 'u1'
    assert bodies[0]['key_protection']['encryption'] == {'type': 'kms', 'kms_key_id': 'kid-1'}
    assert bodies[0]['public_key'] == public(0)
    assert kps.imports[0][0] == 'k01'
    assert kps.imports[0][2] == dict(encryption_type='default', kms_key_name=None, kms_key_id='kid-1', user_id='u1')


@pytest.mark.parametrize('args, msg', [
    ({'keys': [{'name': 'a b', 'private_key': 'x'}]}, "Invalid key pair name: 'a b'."),
    ({'keys': [{'name': 'a', 'private_key': 'x'}, {'name': 'a', 'private_key': 'y'}]}, 'keys names key pair a more '
     'than once; give each key pair once. Nothing was read or sent.'),
    ({'keys': [{'name': 'a', 'private_key': 'x', 'encryption_type': 'kms'}]}, 'encryption_type is kms but no '
     'kms_key_name or kms_key_id is given for key pair a; set one for the task or for each of those keys.'),
    ({'keys': [{'name': 'a', 'private_key': 'x'}], 'state': 'absent'}, 'keys takes state=present only.'),
    ({'keys': []}, 'keys is empty: give at least one key'),
    ({'keys': [{'name': 'a', 'private_key': 'x'}], 'name': 'a'}, 'parameters are mutually exclusive: name|keys'),
    ({'keys': [{'name': 'a', 'private_key': 'x'}], 'private_key': 'x'}, 'parameters are mutually exclusive: keys|private_key'),
    ({'keys': [{'name': 'a'}]}, 'one of the following is required: private_key, private_key_path found in keys'),
    ({'keys': [{'name': 'a', 'private_key': 'x', 'private_key_path': '/x'}]}, 'parameters are mutually exclusive: '
     'private_key|private_key_path found in keys'),
])
def test_mistakes_in_keys_fail_before_anything_is_read_or_sent(kps, args, msg):
    failed = run(args, fail=True)
    assert msg in failed['msg'] and kps.calls == []


def test_warnings_name_the_keys_once(kps):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode('ascii')
    args = [{'name': 'k00', 'private_key': weak}, {'name': 'k01', 'private_key': pem(1)},
            {'name': 'k02', 'private_key': pem(2), 'kms_key_name': 'kps/default'}]
    with mock.patch.object(KpsModule, 'warn') as warn:
        run({'keys': args, 'private_key_passphrase': 'unused-passphrase'}, check_mode=True)
    texts = [call.args[0] for call in warn.call_args_list]
    assert texts == [
        'huaweicloud.kps.kps_private_key_import: the RSA keys of key pair k00 have under 2048 bits; they are weak, '
        'replace them with longer ones.',
        'huaweicloud.kps.kps_private_key_import: private_key_passphrase was given, but the private key of key pair '
        'k00, k01, k02 is not encrypted; the passphrase was not used.',
        'huaweicloud.kps.kps_private_key_import: kms_key_name and kms_key_id only apply with encryption_type=kms; '
        'they were not used for key pair k02.']


@pytest.mark.parametrize('fail', [False, True])
def test_no_key_material_or_passphrase_in_any_result(kps, fail):
    if fail:
        kps.keypairs['k01'] = listed(7)
    args = [{'name': 'k%02d' % index, 'private_key': pem(index, 'secret-passphrase')} for index in range(3)]
    result = run({'keys': args, 'private_key_passphrase': 'secret-passphrase'}, diff=True, fail=fail)
    text = json.dumps(result)
    for index in range(3):
        for line in pem(index).splitlines()[1:-1] + pem(index, 'secret-passphrase').splitlines()[1:-1]:
            assert line not in text
    assert 'secret-passphrase' not in text
