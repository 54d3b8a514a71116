# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_keypair: the decision table, and the module run in-process against an in-memory KPS."""
from __future__ import annotations

import json
import os
import pwd
import stat
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ansible_collections.huaweicloud.kps.plugins.module_utils import _keypair_runner as runner
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import Directory, SecretFileError
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import fingerprint, load_private_key, public_key_blob
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import KEYPAIR_DETAIL_FIELDS
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.modules import kps_keypair
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args


def new_key():
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode('ascii')
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode('ascii')
    return private, public


class FakeKps:
    """In-memory KPS with the KpsClient calls kps_keypair makes; ``calls`` lists them in order."""

    def __init__(self):
        self.keypairs = {}
        self.calls = []
        self.generated = []  # every private key this KPS generated, to check none leaks
        self.received = []  # every private key sent to be hosted, to check none leaks
        self.create_errors = []  # raised by the next create calls, after KPS has acted
        self.answer_private_key = None  # what the create answer carries instead of the generated key
        self.next_id = 1

    def add(self, name, public=None, scope='user', hosted=False, description=''):
        public = public or new_key()[1]
        self.keypairs[name] = {'name': name, 'id': self.next_id, 'type': 'ssh', 'scope': scope, 'user_id': 'u1',
                               'public_key': public + ' Generated-by-Nova\n', 'fingerprint': fingerprint(public),
                               'is_key_protection': hosted, 'frozen_state': 0, 'description': description,
                               'create_time': 1763891234000, 'update_time': 1763891234000, 'deleted': False}
        self.next_id += 1
        return self.keypairs[name]

    def show_keypair(self, name):
        self.calls.append(('show', name))
        record = self.keypairs.get(name)
        return dict(record) if record else None

    def create_keypair(self, name, public_key=None, private_key=None, encryption_type=None, kms_key_name=None,
                       kms_key_id=None, user_id=None, scope=None):
        self.calls.append(('create', name, {'public_key': public_key, 'encryption_type': encryption_type,
                                            'kms_key_name': kms_key_name, 'kms_key_id': kms_key_id,
                                            'scope': scope, 'user_id': user_id, 'private_key': private_key}))
        assert name not in self.keypairs
        if private_key:
            self.received.append(private_key)
        generated = None
        if public_key is None:
            generated, public_key = new_key()
            self.generated.append(generated)
        assert private_key is None or load_private_key(private_key).public_key == public_key
        record = self.add(name, public_key, scope=scope or 'user',
                          hosted=bool(private_key or (generated and encryption_type)))
        if self.create_errors:
            raise self.create_errors.pop(0)
        answer = {'name': name, 'type': 'ssh', 'public_key': record['public_key'],
                  'fingerprint': record['fingerprint'], 'user_id': 'u1'}
        if generated:
            answer['private_key'] = self.answer_private_key or generated
        return answer

    def import_private_key(self, name, private_key, encryption_type='default', kms_key_name=None, kms_key_id=None,
                           user_id=None):
        self.calls.append(('import', name, {'encryption_type': encryption_type, 'kms_key_name': kms_key_name,
                                            'kms_key_id': kms_key_id, 'user_id': user_id, 'private_key': private_key}))
        assert load_private_key(private_key).public_key == public_key_blob(self.keypairs[name]['public_key'])
        self.keypairs[name]['is_key_protection'] = True
        return {'name': name}

    def update_keypair_description(self, name, description):
        self.calls.append(('update', name, description))
        self.keypairs[name]['description'] = description

    def delete_keypair(self, name):
        self.calls.append(('delete', name))
        return self.keypairs.pop(name, None) is not None

    @property
    def call_names(self):
        return [call[0] for call in self.calls]


@pytest.fixture
def kps():
    fake = FakeKps()
    with mock.patch.object(KpsModule, 'kps', new_callable=mock.PropertyMock, return_value=fake):
        yield fake


def openssh_text_of(pem):
    """The OpenSSH private key format of ``pem``: what the module writes and returns by default."""
    return load_private_key(pem).private_text('openssh')


def run(kps, args, check_mode=False, diff=False, no_log=False, fail=False):
    args = dict(args)
    args.setdefault('name', 'web')
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_no_log=no_log)
    with set_module_args(args):
        result = run_module(kps_keypair.main, fail=fail)
    # No generated private key in messages, warnings or diffs, ever.
    shown = json.dumps(dict((k, v) for k, v in result.items() if k != 'private_key'))
    for private in kps.generated + kps.received + [PRIV_A, PRIV_B]:
        body = ''.join(line for line in private.splitlines() if not line.startswith('-----'))
        assert body not in shown
    return result


# ----- the decision table ---------------------------------------------------------------------------------------

KEY_A = new_key()
KEY_B = new_key()
PRIV_A = KEY_A[0]
PUB_A = KEY_A[1]
PRIV_B = KEY_B[0]
PUB_B = KEY_B[1]


def kp(public=PUB_A, scope='user', hosted=False, description=''):
    return {'name': 'web', 'public_key': public + ' comment\n', 'fingerprint': fingerprint(public), 'scope': scope,
            'is_key_protection': hosted, 'description': description}


@pytest.mark.parametrize('state, keypair, wanted, force, expected', [
    ('absent', None, {}, False, runner.NO_KEYPAIR),
    ('absent', kp(), {}, False, runner.DELETE),
    ('present', None, {'public_key': PUB_A}, False, runner.CREATE),
    ('present', None, {'encryption_type': 'default'}, False, runner.CREATE),
    ('present', kp(), {'public_key': PUB_A}, False, runner.NONE),
    ('present', kp(), {'public_key': PUB_A, 'description': ''}, False, runner.NONE),
    ('present', kp(), {'public_key': PUB_A, 'description': 'new'}, False, runner.UPDATE),
    ('present', kp(description='old'), {'public_key': PUB_A}, False, runner.NONE),  # not managed
    ('present', kp(), {'public_key': PUB_B}, False, runner.MISMATCH),
    ('present', kp(), {'public_key': PUB_B}, True, runner.RECREATE),
    ('present', kp(), {'public_key': PUB_A, 'scope': 'domain'}, False, runner.MISMATCH),
    ('present', kp(scope='domain'), {'public_key': PUB_A, 'scope': 'domain'}, False, runner.NONE),
    ('present', kp(), {'public_key': PUB_A}, True, runner.NONE),  # force alone re-creates nothing
    ('present', kp(), {'dest': '/x'}, False, runner.NONE),  # a generated key pair has no public key to compare
    ('present', kp(), {'encryption_type': 'default'}, False, runner.MISMATCH),  # exists, hosts nothing
    ('present', kp(), {'encryption_type': 'default'}, True, runner.RECREATE),
    ('present', kp(hosted=True), {'encryption_type': 'kms'}, False, runner.NONE),
])
def test_decide(state, keypair, wanted, force, expected):
    assert runner.decide(state, keypair, runner.Wanted('web', **wanted), force) == expected


def test_public_key_compared_by_fingerprint_when_kps_gives_no_public_key():
    keypair = dict(kp(), public_key=None)
    assert runner.decide('present', keypair, runner.Wanted('web', public_key=PUB_A)) == runner.NONE
    assert runner.decide('present', keypair, runner.Wanted('web', public_key=PUB_B)) == runner.MISMATCH


# ----- refusals before any call -----------------------------------------------------------------------------------

NOWHERE = ('Key pair web %s, and neither public_key nor public_key_path is given, so KPS would generate the key '
           'pair and return its private key once, at creation. Say where that private key goes: encryption_type (KPS '
           'hosts it), dest (a file) and/or return_private_key=true; or give the public key of a key pair you made '
           'yourself. Nothing was changed.')


def test_a_key_pair_to_generate_with_nowhere_for_its_private_key_is_refused_after_the_read(kps):
    failed = run(kps, {'description': 'CI deploy key'}, fail=True)
    assert failed['msg'] == NOWHERE % 'does not exist'
    assert failed['keypair'] is None and kps.call_names == ['show']


def test_a_forced_recreation_with_nowhere_for_the_private_key_is_refused(kps):
    kps.add('web', PUB_A, scope='user')
    failed = run(kps, {'scope': 'domain', 'force': True}, fail=True)
    assert failed['msg'] == NOWHERE % ('would be deleted and re-created (force=true; it differs in scope (user; the '
                                       'task asks for domain))')
    assert kps.call_names == ['show'] and kps.keypairs['web']['scope'] == 'user'


@pytest.mark.parametrize('hosted', [True, False])
def test_an_existing_key_pair_by_name_alone(kps, hosted):
    """As ec2_key, openstack keypair and Terraform users write it: name (and description) of a key pair that exists."""
    kps.add('web', PUB_A, hosted=hosted, description='old')
    args = {'description': 'CI deploy key'}
    checked = run(kps, args, check_mode=True, diff=True)
    assert kps.keypairs['web']['description'] == 'old'
    real = run(kps, args, diff=True)
    assert kps.call_names == ['show'] + ['show', 'update', 'show']
    assert checked['changed'] is real['changed'] is True
    assert checked['msg'] == 'Would update the description of key pair web.'
    assert real['msg'] == 'Updated the description of key pair web.'
    assert checked['keypair'] == real['keypair']
    assert real['keypair']['description'] == 'CI deploy key' and real['keypair']['is_key_protection'] is hosted
    assert checked['diff'] == real['diff'] and real['diff']['before']['description'] == 'old'
    assert kps.keypairs['web']['description'] == 'CI deploy key' and kps.keypairs['web']['id'] == 1
    assert kps.keypairs['web']['is_key_protection'] is hosted
    del kps.calls[:]
    for again in (run(kps, args, check_mode=True), run(kps, args), run(kps, {})):
        assert again['changed'] is False and again['msg'] == 'Key pair web is as requested.'
        assert again['keypair'] == real['keypair']
    assert kps.call_names == ['show'] * 3  # one read each


@pytest.mark.parametrize('args, msg', [
    ({'name': '../etc'}, 'Invalid key pair name'),
    ({'name': 'a' * 256, 'public_key': PUB_A}, 'A key pair name has 1 to 255 letters'),
    ({'public_key': 'ssh-ed25519 not-base64!'}, 'Cannot use the public key for key pair web'),
    ({'public_key': PUB_A, 'description': 'x' * 256}, 'description has 256 characters; KPS allows at most 255.'),
    ({'public_key': PUB_A, 'return_private_key': True}, 'return_private_key applies to a key pair that KPS generates'),
    ({'private_key': PRIV_A, 'return_private_key': True}, 'return_private_key applies to a key pair that KPS generates'),
    ({'private_key': PRIV_A, 'public_key': PUB_B}, 'Key pair web: the public key (fingerprint %s) is not the public key of '
     'the private key (fingerprint %s). Give the matching pair, or the private key alone. Nothing was sent.'
     % (fingerprint(PUB_B), fingerprint(PUB_A))),
    ({'private_key': 'not a key'}, 'Cannot use the private key for key pair web'),
    ({'private_key_path': '/nonexistent/key'}, 'Cannot read private_key_path /nonexistent/key'),
    ({'public_key_path': '/nonexistent/key.pub'}, 'Cannot read public_key_path /nonexistent/key.pub'),
    ({'dest': '/nonexistent/dir/key'}, 'The directory of dest, /nonexistent/dir, does not exist.'),
    ({'dest': '/tmp'}, 'dest /tmp is a directory'),
    ({'public_key': PUB_A, 'encryption_type': 'default'}, 'encryption_type makes KPS host a private key, and with '
     'public_key or public_key_path alone KPS has none.'),
])
def test_bad_options_fail_before_any_call(kps, args, msg):
    failed = run(kps, args, fail=True)
    assert msg in failed['msg']
    assert kps.calls == []


@pytest.mark.parametrize('args, msg', [
    ({'public_key': PUB_A, 'dest': '/tmp/x'}, 'mutually exclusive: public_key|dest'),
    ({'private_key': PRIV_A, 'dest': '/tmp/x'}, 'mutually exclusive: private_key|dest'),
    ({'private_key': PRIV_A, 'private_key_path': '/tmp/x'}, 'mutually exclusive: private_key|private_key_path'),
    ({'encryption_type': 'kms'}, 'encryption_type is kms but any of the following are missing: kms_key_name, kms_key_id'),
    ({'key_protection': 'kms'}, 'encryption_type is kms but any of the following are missing: kms_key_name, kms_key_id'),
    ({'public_key': PUB_A, 'kms_key_id': 'k'}, 'missing parameter(s) required by \'kms_key_id\': encryption_type'),
    ({'scope': 'tenant'}, "value of scope must be one of: user, domain, account, got: tenant"),
    ({'key_type': 'dsa'}, "value of key_type must be one of: rsa, ecdsa, ed25519, got: dsa"),
    ({'key_type': 'ed25519', 'public_key': PUB_A}, 'mutually exclusive: public_key|key_type'),
    ({'key_type': 'ed25519', 'private_key': PRIV_A}, 'mutually exclusive: private_key|key_type'),
    ({'key_type': 'ed25519', 'dest': '/tmp/x', 'format': 'pem'},
     'format=pem (traditional PEM) does not exist for ED25519 keys. Use format=openssh, which every OpenSSH since '
     '6.5 loads, or format=pkcs8. Nothing was sent.'),
])
def test_argument_spec(kps, args, msg):
    assert msg in run(kps, args, fail=True)['msg']
    assert kps.calls == []


# ----- public key only ------------------------------------------------------------------------------------------------

def test_public_key_create_check_mode_then_real_then_unchanged_is_one_read(kps):
    args = {'public_key': PUB_A + ' me@laptop', 'description': 'laptop key', 'scope': 'domain'}
    checked = run(kps, args, check_mode=True, diff=True)
    assert kps.call_names == ['show']
    real = run(kps, args, diff=True)
    assert kps.call_names == ['show'] + ['show', 'create', 'update', 'show']
    create = kps.calls[2][2]
    assert create['public_key'] == PUB_A and create['encryption_type'] is None and create['scope'] == 'domain'
    assert kps.calls[3] == ('update', 'web', 'laptop key')

    assert checked['changed'] is real['changed'] is True
    assert checked['msg'] == 'Would create key pair web from the given public key.'
    assert real['msg'] == 'Created key pair web from the given public key.'
    assert sorted(checked['keypair']) == sorted(real['keypair']) == sorted(KEYPAIR_DETAIL_FIELDS)
    assert checked['keypair']['id'] is None and real['keypair']['id'] == 1
    for result in (checked, real):
        assert result['keypair']['public_key'] == PUB_A and result['keypair']['fingerprint'] == fingerprint(PUB_A)
        assert result['keypair']['scope'] == 'domain' and result['keypair']['description'] == 'laptop key'
    assert checked['diff'] == real['diff']
    assert real['diff']['before'] == {'exists': False}
    assert real['diff']['after'] == {'exists': True, 'fingerprint': fingerprint(PUB_A), 'scope': 'domain',
                                     'description': 'laptop key', 'is_key_protection': False}
    assert 'private_key' not in real and 'dest_written' not in real

    del kps.calls[:]
    again = run(kps, args, check_mode=True)
    repeat = run(kps, args)
    assert again['changed'] is repeat['changed'] is False
    assert repeat['msg'] == 'Key pair web is as requested.'
    assert kps.call_names == ['show', 'show']  # an unchanged present is one read


def test_the_names_of_terraform_and_before_2_2_0(kps):
    """scope=account is Terraform's domain; key_protection is encryption_type's name before 2.2.0."""
    created = run(kps, {'public_key': PUB_A, 'scope': 'account'})
    assert kps.calls[1][2]['scope'] == 'domain' and created['keypair']['scope'] == 'domain'
    assert run(kps, {'public_key': PUB_A, 'scope': 'domain'})['changed'] is False
    assert run(kps, {'public_key': PUB_A, 'scope': 'account'})['changed'] is False
    run(kps, {'name': 'gen', 'key_protection': 'kms', 'kms_key_name': 'kps/default'})
    assert kps.calls[-2][2]['encryption_type'] == 'kms' and kps.keypairs['gen']['is_key_protection'] is True


def test_public_key_from_a_file(kps, tmp_path):
    path = tmp_path / 'id.pub'
    path.write_text(PUB_B + ' me@host\n')
    run(kps, {'public_key_path': str(path)})
    assert kps.calls[1][2]['public_key'] == PUB_B


def test_description_updated_in_place_and_cleared(kps):
    kps.add('web', PUB_A, description='old')
    checked = run(kps, {'public_key': PUB_A, 'description': 'new'}, check_mode=True, diff=True)
    assert checked['changed'] and checked['msg'] == 'Would update the description of key pair web.'
    assert checked['keypair']['description'] == 'new' and kps.keypairs['web']['description'] == 'old'
    real = run(kps, {'public_key': PUB_A, 'description': 'new'}, diff=True)
    assert real['msg'] == 'Updated the description of key pair web.'
    assert real['diff']['before']['description'] == 'old' and real['diff']['after']['description'] == 'new'
    assert kps.keypairs['web']['description'] == 'new' and kps.keypairs['web']['id'] == 1  # same key pair
    assert run(kps, {'public_key': PUB_A, 'description': ''})['changed'] is True
    assert kps.keypairs['web']['description'] == ''
    assert kps.call_names.count('create') == kps.call_names.count('delete') == 0


def test_other_public_key_is_reported_and_left_alone(kps):
    kps.add('web', PUB_A)
    failed = run(kps, {'public_key': PUB_B}, fail=True)
    assert failed['msg'] == (
        'Key pair web exists and differs in what only its creation sets: public key (fingerprint %s; the task asks '
        'for %s). Nothing was changed. Use another name, or set force=true to delete the key pair and create it '
        'again (whoever logs in with its current private key loses access).' % (fingerprint(PUB_A), fingerprint(PUB_B)))
    assert failed['keypair']['fingerprint'] == fingerprint(PUB_A)
    assert kps.call_names == ['show']


def test_other_scope_is_reported(kps):
    kps.add('web', PUB_A, scope='user')
    failed = run(kps, {'public_key': PUB_A, 'scope': 'domain'}, fail=True)
    assert 'scope (user; the task asks for domain)' in failed['msg']
    assert kps.call_names == ['show']


def test_force_deletes_and_recreates(kps):
    kps.add('web', PUB_A, hosted=True)
    args = {'public_key': PUB_B, 'force': True, 'description': 'd'}
    checked = run(kps, args, check_mode=True, diff=True)
    assert kps.call_names == ['show'] and checked['changed']
    assert checked['msg'].startswith('Would delete and re-create key pair web from the given public key (force=true; '
                                     'it differed in public key')
    real = run(kps, args, diff=True)
    assert kps.call_names[1:] == ['show', 'delete', 'create', 'update', 'show']
    assert real['keypair']['public_key'] == PUB_B and real['keypair']['id'] == 2
    assert real['diff']['before']['fingerprint'] == fingerprint(PUB_A)
    assert real['diff']['after']['fingerprint'] == fingerprint(PUB_B)
    assert run(kps, args)['changed'] is False  # now as requested: force does not re-create again


# ----- generated by KPS ---------------------------------------------------------------------------------------------

def test_generate_and_host(kps):
    args = {'encryption_type': 'kms', 'kms_key_name': 'kps/default', 'kms_key_id': 'id-1'}
    checked = run(kps, args, check_mode=True, diff=True)
    assert checked['msg'] == 'Would create key pair web, generated by KPS, its private key hosted by KPS.'
    assert checked['keypair']['is_key_protection'] is True and checked['keypair']['public_key'] is None
    real = run(kps, args, diff=True)
    create = kps.calls[2][2]
    assert create['public_key'] is None
    assert (create['encryption_type'], create['kms_key_name'], create['kms_key_id']) == ('kms', 'kps/default', 'id-1')
    assert real['keypair']['is_key_protection'] is True and real['keypair']['fingerprint']
    assert 'private_key' not in real
    assert checked['diff']['after']['fingerprint'] is None and real['diff']['after']['fingerprint']
    assert run(kps, args)['changed'] is False


def test_generate_to_dest_writes_0600_and_never_overwrites(kps, tmp_path):
    dest = tmp_path / 'web.pem'
    checked = run(kps, {'dest': str(dest)}, check_mode=True)
    assert checked['changed'] and checked['dest_written'] is False and not dest.exists()
    real = run(kps, {'dest': str(dest)})
    assert real['dest_written'] is True
    assert real['msg'] == 'Created key pair web, generated by KPS, its private key written to %s.' % dest
    assert dest.read_text() == openssh_text_of(kps.generated[0])
    assert dest.read_text().startswith('-----BEGIN OPENSSH PRIVATE KEY-----\n')
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert kps.calls[2][2]['encryption_type'] is None  # not hosted
    assert kps.keypairs['web']['is_key_protection'] is False

    repeat = run(kps, {'dest': str(dest)})
    assert repeat['changed'] is False and repeat['dest_written'] is False and repeat['warnings'] == []

    # Deleted elsewhere: a new key would replace the file only with force.
    del kps.keypairs['web']
    del kps.calls[:]
    failed = run(kps, {'dest': str(dest)}, fail=True)
    assert failed['msg'].startswith('dest %s already exists.' % dest) and kps.call_names == ['show']
    assert dest.read_text() == openssh_text_of(kps.generated[0])
    forced = run(kps, {'dest': str(dest), 'force': True})
    assert forced['dest_written'] and dest.read_text() == openssh_text_of(kps.generated[1])


def test_existing_key_pair_and_missing_dest_warns(kps, tmp_path):
    kps.add('web')
    result = run(kps, {'dest': str(tmp_path / 'web.pem')})
    assert result['changed'] is False and not (tmp_path / 'web.pem').exists()
    assert 'kps_private_key_export' in result['warnings'][0]


def test_return_private_key_warns_without_no_log(kps):
    result = run(kps, {'return_private_key': True})
    assert result['private_key'] == openssh_text_of(kps.generated[0])
    assert result['warnings'] == [runner.NO_LOG_WARNING]
    assert run(kps, {'return_private_key': True}, no_log=True)['private_key'] is None  # exists: nothing generated
    del kps.keypairs['web']
    assert run(kps, {'return_private_key': True}, no_log=True)['warnings'] == []


def test_undeliverable_generated_key_is_deleted_again(kps, tmp_path):
    with mock.patch.object(runner, 'write_secret_file', side_effect=SecretFileError('Could not write x: No space')):
        failed = run(kps, {'dest': str(tmp_path / 'web.pem')}, fail=True)
    assert failed['msg'] == ('Key pair web was created, but Could not write x: No space. The new key pair was deleted '
                             'again, since nobody would have its private key.')
    assert kps.call_names == ['show', 'create', 'delete'] and 'web' not in kps.keypairs
    with mock.patch.object(runner, 'write_secret_file', side_effect=SecretFileError('Could not write x: No space.')):
        failed = run(kps, {'dest': str(tmp_path / 'web.pem')}, fail=True)
    assert 'but Could not write x: No space. The new key pair' in failed['msg']  # one full stop


@pytest.mark.parametrize('answer, problem', [
    (new_key()[0], 'KPS returned a private key (fingerprint '),
    ('-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
     'KPS returned something that is not an unencrypted private key'),
])
def test_a_generated_key_that_is_not_the_new_key_pairs_is_never_delivered(kps, tmp_path, answer, problem):
    kps.answer_private_key = answer
    dest = tmp_path / 'web.pem'
    failed = run(kps, {'dest': str(dest), 'return_private_key': True}, no_log=True, fail=True)
    assert failed['msg'].startswith('Key pair web was created, but %s' % problem)
    assert failed['msg'].endswith('The new key pair was deleted again, since nobody would have its private key.')
    assert answer.splitlines()[1] not in failed['msg']
    assert not dest.exists() and not failed.get('private_key')
    assert kps.call_names == ['show', 'create', 'delete'] and 'web' not in kps.keypairs


@pytest.mark.skipif(os.geteuid() != 0, reason='planting a link as another user needs root')
@pytest.mark.parametrize('check_mode', [True, False])
def test_a_dest_directory_another_user_linked_is_refused_before_kps_generates_a_key(kps, tmp_path, check_mode):
    nobody = pwd.getpwnam('nobody').pw_uid
    home, vault = tmp_path / 'home', tmp_path / 'vault'
    home.mkdir()
    vault.mkdir(mode=0o700)
    os.chown(str(home), nobody, nobody)
    os.symlink(str(vault), str(home / 'keys'))
    os.lchown(str(home / 'keys'), nobody, nobody)
    failed = run(kps, {'dest': str(home / 'keys' / 'web.pem')}, check_mode=check_mode, fail=True)
    assert failed['msg'] == ('%s is a symbolic link that another user could have made or can change; it is not '
                             'followed and nothing was written. Make it a real directory, or give the path it '
                             'points to. Nothing was changed.' % (home / 'keys'))
    assert kps.call_names == ['show'] and os.listdir(str(vault)) == [] and os.listdir(str(home)) == ['keys']


def test_an_unwritable_dest_directory_fails_before_kps_generates_a_key(kps, tmp_path, monkeypatch):
    def refuse(self, name):
        raise SecretFileError('Cannot create a temporary file in %s: Read-only file system.' % self.path)
    monkeypatch.setattr(Directory, 'check_writable', refuse)
    failed = run(kps, {'dest': str(tmp_path / 'web.pem')}, fail=True)
    assert failed['msg'] == ('Cannot create a temporary file in %s: Read-only file system. Nothing was changed.'
                             % tmp_path)
    assert kps.call_names == ['show'] and 'web' not in kps.keypairs


def test_undeliverable_hosted_key_is_kept(kps, tmp_path):
    with mock.patch.object(runner, 'write_secret_file', side_effect=SecretFileError('Could not write x: No space')):
        failed = run(kps, {'dest': str(tmp_path / 'web.pem'), 'encryption_type': 'default'}, fail=True)
    assert 'KPS hosts its private key' in failed['msg'] and 'kps_private_key_export' in failed['msg']
    assert 'web' in kps.keypairs and 'delete' not in kps.call_names


def test_lost_create_answer_of_a_generated_key_deletes_it(kps, tmp_path):
    kps.create_errors.append(HuaweiCloudError('create key pair', reason='read timed out'))
    failed = run(kps, {'dest': str(tmp_path / 'web.pem')}, fail=True)
    assert 'the answer to the create call, which holds the only copy of the generated private key, was lost' in \
        failed['msg']
    assert kps.call_names == ['show', 'create', 'show', 'delete'] and 'web' not in kps.keypairs


def test_lost_create_answer_of_a_public_key_is_success_when_it_landed(kps):
    kps.create_errors.append(HuaweiCloudError('create key pair', status=502, error_code='APIGW.0201'))
    result = run(kps, {'public_key': PUB_A})
    assert result['changed'] and 'treating the call as successful' in result['warnings'][0]
    assert result['keypair']['fingerprint'] == fingerprint(PUB_A)


def test_create_refused_by_kps_names_the_key_pair(kps):
    kps.create_errors.append(HuaweiCloudError('create key pair', status=400, error_code='KPS.0002', error_msg='bad',
                                              request_id='r1'))
    failed = run(kps, {'public_key': PUB_A}, fail=True)
    assert failed['msg'].startswith('Key pair web: ') and failed['error_code'] == 'KPS.0002'
    assert failed['request_id'] == 'r1' and kps.call_names == ['show', 'create']


# ----- absent -----------------------------------------------------------------------------------------------------------

def test_absent_deletes_hosted_key_pair_in_one_call(kps):
    kps.add('web', hosted=True)
    checked = run(kps, {'state': 'absent'}, check_mode=True, diff=True)
    assert checked['changed'] and 'web' in kps.keypairs
    assert checked['msg'] == 'Would delete key pair web and the private key KPS hosts for it.'
    real = run(kps, {'state': 'absent'}, diff=True)
    assert real['msg'] == 'Deleted key pair web and the private key KPS hosts for it.'
    assert real['keypair'] is None and 'web' not in kps.keypairs
    assert real['diff']['after'] == {'exists': False} and checked['diff'] == real['diff']
    assert kps.call_names == ['show', 'show', 'delete']
    for check_mode in (True, False):
        again = run(kps, {'state': 'absent'}, check_mode=check_mode)
        assert again['changed'] is False and again['msg'] == 'Key pair web does not exist: nothing to delete.'


def test_absent_deleted_meanwhile_is_unchanged(kps):
    kps.add('web')
    kps.delete_keypair = lambda name: False
    result = run(kps, {'state': 'absent'})
    assert result['changed'] is False and result['msg'] == 'Key pair web does not exist: nothing to delete.'


def test_forced_dest_replaces_a_link_and_never_writes_through_it(kps, tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('not a key\n')
    dest = tmp_path / 'web.pem'
    dest.symlink_to(victim)
    failed = run(kps, {'dest': str(dest)}, fail=True)  # an existing name, even a link, is not replaced unasked
    assert 'already exists' in failed['msg'] and kps.call_names == ['show']
    result = run(kps, {'dest': str(dest), 'force': True})
    assert result['dest_written'] and victim.read_text() == 'not a key\n'
    assert not dest.is_symlink() and stat.S_IMODE(os.lstat(dest).st_mode) == 0o600
    assert dest.read_text() == openssh_text_of(kps.generated[0])


@pytest.mark.parametrize('fmt, header', [('pkcs8', '-----BEGIN PRIVATE KEY-----'), ('kps', '-----BEGIN PRIVATE KEY-----'),
                                         ('openssh', '-----BEGIN OPENSSH PRIVATE KEY-----')])
def test_format_of_dest_and_value(kps, tmp_path, fmt, header):
    dest = tmp_path / 'web.pem'
    result = run(kps, {'dest': str(dest), 'return_private_key': True, 'format': fmt}, no_log=True)
    assert dest.read_text() == result['private_key'] and dest.read_text().startswith(header + '\n')
    assert load_private_key(dest.read_text()).public_key == kps.keypairs['web']['public_key'].split(' Gen')[0]
    if fmt == 'kps':
        assert dest.read_text() == kps.generated[0]  # the encoding KPS returned (PKCS#8 for this fake's ED25519)


def test_a_format_the_key_type_lacks_undoes_the_creation(kps, tmp_path):
    failed = run(kps, {'dest': str(tmp_path / 'web.pem'), 'format': 'pem'}, fail=True)  # ED25519 has no PEM
    assert failed['msg'].startswith('Key pair web was created, but format=pem (traditional PEM) does not exist')
    assert 'The new key pair was deleted again' in failed['msg']
    assert kps.call_names == ['show', 'create', 'delete'] and not (tmp_path / 'web.pem').exists()


# ----- key_type: a key type KPS does not generate, generated by the module in memory ------------------------------

@pytest.mark.parametrize('key_type, openssh_type, name', [
    ('ed25519', 'ssh-ed25519', 'Ed25519'), ('ecdsa', 'ecdsa-sha2-nistp256', 'ECDSA'),
])
def test_key_type_generated_in_memory_and_hosted_through_the_create_call_of_a_given_key(kps, key_type, openssh_type, name):
    args = {'key_type': key_type, 'encryption_type': 'default', 'scope': 'domain'}
    checked = run(kps, args, check_mode=True, diff=True)
    assert kps.call_names == ['show'] and checked['keypair']['public_key'] is None
    real = run(kps, args, diff=True)
    assert kps.call_names == ['show'] + ['show', 'create', 'show']
    create = kps.calls[2][2]
    key = load_private_key(create['private_key'])  # unencrypted PKCS#8 PEM, as for a given key
    assert create['private_key'].startswith('-----BEGIN PRIVATE KEY-----\n')
    assert key.key_type == openssh_type and create['public_key'] == key.public_key
    assert (create['encryption_type'], create['scope']) == ('default', 'domain')
    how = 'an %s key generated by the module in memory (KPS generates RSA 2048 only), its private key hosted by KPS.' % name
    assert checked['msg'] == 'Would create key pair web, ' + how
    assert real['msg'] == 'Created key pair web, ' + how
    assert real['keypair']['public_key'].startswith(openssh_type + ' ') and real['keypair']['is_key_protection']
    assert kps.generated == []  # KPS generated nothing
    del kps.calls[:]
    for again in (run(kps, args, check_mode=True), run(kps, args)):
        assert again['changed'] is False and again['msg'] == 'Key pair web is as requested.'
    assert kps.call_names == ['show', 'show']


def test_key_type_to_dest_and_returned_as_a_generated_key(kps, tmp_path):
    dest = tmp_path / 'web'
    args = {'key_type': 'ed25519', 'dest': str(dest), 'return_private_key': True}
    checked = run(kps, args, check_mode=True, no_log=True)
    assert checked['changed'] and checked['dest_written'] is False and not dest.exists()
    real = run(kps, args, no_log=True)
    create = kps.calls[2][2]
    assert create['private_key'] is None and create['encryption_type'] is None  # not hosted: the public key only
    assert real['dest_written'] is True and dest.read_text() == real['private_key']
    assert dest.read_text().startswith('-----BEGIN OPENSSH PRIVATE KEY-----\n')
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert load_private_key(dest.read_text()).public_key == create['public_key'] == real['keypair']['public_key']
    assert real['msg'] == ('Created key pair web, an Ed25519 key generated by the module in memory (KPS generates '
                           'RSA 2048 only), its private key written to %s, returned in private_key.' % dest)
    assert not kps.keypairs['web']['is_key_protection']
    repeat = run(kps, args, no_log=True)
    assert repeat['changed'] is False and repeat['private_key'] is None and repeat['dest_written'] is False


def test_key_type_rsa_is_generated_by_kps(kps):
    result = run(kps, {'key_type': 'rsa', 'encryption_type': 'default', 'name': 'rsa'})
    assert kps.calls[1][2]['public_key'] is None and len(kps.generated) == 1
    assert result['msg'] == 'Created key pair rsa, generated by KPS, its private key hosted by KPS.'


def test_key_type_differs_from_the_existing_key_pair_reported_or_recreated_with_force(kps):
    kps.add('web', PUB_A, hosted=True)  # Ed25519
    failed = run(kps, {'key_type': 'ecdsa', 'encryption_type': 'default'}, fail=True)
    assert failed['msg'].startswith('Key pair web exists and differs in what only its creation sets: key type '
                                    '(Ed25519; the task asks for ECDSA). Nothing was changed.')
    assert kps.call_names == ['show']
    assert run(kps, {'key_type': 'ed25519', 'encryption_type': 'default'})['changed'] is False
    forced = run(kps, {'key_type': 'ecdsa', 'encryption_type': 'default', 'force': True})
    assert forced['msg'].startswith('Deleted and re-created key pair web, an ECDSA key generated by the module')
    assert forced['msg'].endswith('(force=true; it differed in key type (Ed25519; the task asks for ECDSA)).')
    assert kps.keypairs['web']['public_key'].startswith('ecdsa-sha2-nistp256 ')


def test_lost_create_answer_of_a_key_the_module_generated_is_success_when_it_landed(kps, tmp_path):
    kps.create_errors.append(HuaweiCloudError('create key pair', reason='read timed out'))
    result = run(kps, {'key_type': 'ecdsa', 'dest': str(tmp_path / 'web')})
    assert result['changed'] and 'treating the call as successful' in result['warnings'][0]
    assert load_private_key((tmp_path / 'web').read_text()).public_key == result['keypair']['public_key']


def test_undeliverable_key_the_module_generated_is_deleted_again(kps, tmp_path):
    with mock.patch.object(runner, 'write_secret_file', side_effect=SecretFileError('Could not write x: No space')):
        failed = run(kps, {'key_type': 'ed25519', 'dest': str(tmp_path / 'web')}, fail=True)
    assert failed['msg'].endswith('The new key pair was deleted again, since nobody would have its private key.')
    assert kps.call_names == ['show', 'create', 'delete'] and 'web' not in kps.keypairs


# ----- a private key you have, hosted by KPS (Terraform's public_key + private_key + encryption_type) -------------

def test_private_key_creates_the_key_pair_hosted_in_one_call(kps):
    args = {'private_key': PRIV_A, 'public_key': PUB_A + ' me@laptop', 'encryption_type': 'default', 'scope': 'account',
            'description': 'migrated'}
    checked = run(kps, args, check_mode=True, diff=True)
    assert kps.call_names == ['show'] and 'web' not in kps.keypairs
    real = run(kps, args, diff=True)
    assert kps.call_names == ['show'] + ['show', 'create', 'update', 'show']
    create = kps.calls[2][2]
    assert create['public_key'] == PUB_A and create['scope'] == 'domain' and create['encryption_type'] == 'default'
    assert load_private_key(create['private_key']).public_key == PUB_A  # the unencrypted PEM the import module sends
    assert checked['msg'] == 'Would create key pair web from the given private key, hosted by KPS.'
    assert real['msg'] == 'Created key pair web from the given private key, hosted by KPS.'
    for result in (checked, real):
        assert result['changed'] is True and result['keypair']['is_key_protection'] is True
        assert result['keypair']['fingerprint'] == fingerprint(PUB_A) and result['keypair']['description'] == 'migrated'
    assert checked['diff'] == real['diff'] and real['diff']['after']['is_key_protection'] is True
    assert kps.keypairs['web']['is_key_protection'] is True
    del kps.calls[:]
    for again in (run(kps, args, check_mode=True), run(kps, args), run(kps, {'private_key': PRIV_A})):
        assert again['changed'] is False and again['msg'] == 'Key pair web is as requested.'
    assert kps.call_names == ['show'] * 3


def test_private_key_is_imported_into_a_key_pair_that_hosts_none(kps):
    kps.add('web', PUB_A, description='old')
    args = {'private_key': PRIV_A, 'encryption_type': 'kms', 'kms_key_name': 'kps/default', 'description': 'new'}
    checked = run(kps, args, check_mode=True, diff=True)
    real = run(kps, args, diff=True)
    assert kps.call_names == ['show'] + ['show', 'import', 'update', 'show']
    assert (kps.calls[2][2]['encryption_type'], kps.calls[2][2]['kms_key_name']) == ('kms', 'kps/default')
    assert checked['msg'] == 'Would import the private key into key pair web and update its description.'
    assert real['msg'] == 'Imported the private key into key pair web and updated its description.'
    assert checked['keypair'] == real['keypair'] and real['keypair']['is_key_protection'] is True
    assert real['diff']['before']['is_key_protection'] is False and real['diff']['after']['is_key_protection'] is True
    assert kps.keypairs['web']['id'] == 1 and kps.keypairs['web']['description'] == 'new'
    assert run(kps, args)['changed'] is False
    kps.add('db', PUB_B)
    assert run(kps, {'name': 'db', 'private_key': PRIV_B})['msg'] == 'Imported the private key into key pair db.'
    assert kps.calls[-2][0] == 'import' and kps.calls[-2][2]['encryption_type'] == 'default'


def test_private_key_of_another_key_pair_is_reported_or_recreated_with_force(kps):
    kps.add('web', PUB_A, hosted=True)
    failed = run(kps, {'private_key': PRIV_B}, fail=True)
    assert failed['msg'].startswith('Key pair web exists and differs in what only its creation sets: public key')
    assert kps.call_names == ['show']
    real = run(kps, {'private_key': PRIV_B, 'force': True})
    assert real['msg'].startswith('Deleted and re-created key pair web from the given private key, hosted by KPS')
    assert kps.call_names[1:] == ['show', 'delete', 'create', 'show']
    assert kps.keypairs['web']['public_key'].startswith(PUB_B) and kps.keypairs['web']['is_key_protection'] is True


def test_private_key_from_an_encrypted_file_warns_as_the_import_module_does(kps, tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / 'id_ed25519'
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b'pass-phrase')))
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    result = run(kps, {'private_key_path': str(path), 'private_key_passphrase': 'pass-phrase'})
    assert result['keypair']['public_key'] == public and kps.keypairs['web']['is_key_protection'] is True
    unused = run(kps, {'name': 'other', 'private_key': PRIV_A, 'private_key_passphrase': 'x'})
    assert unused['warnings'] == ['huaweicloud.kps.kps_keypair: private_key_passphrase was given, but the private key '
                                  'is not encrypted; the passphrase was not used.']


def test_lost_create_answer_of_a_private_key_is_success_when_kps_hosts_it(kps):
    kps.create_errors.append(HuaweiCloudError('create key pair', status=None))
    result = run(kps, {'private_key': PRIV_A})
    assert result['changed'] is True and result['keypair']['is_key_protection'] is True
    assert result['warnings'] == ['huaweicloud.kps.kps_keypair: the create call for key pair web got no answer, but '
                                  'KPS now hosts this private key for it; treating the call as successful.']
