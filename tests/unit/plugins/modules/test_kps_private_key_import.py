# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_private_key_import: the decision table, and the module run in-process against a mocked KpsClient."""
from __future__ import annotations

import json
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.huaweicloud.kps.plugins.module_utils import _import_runner as runner
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import fingerprint, load_private_key
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.modules import kps_private_key_import
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args

_KEYS = {}


def _key(kind):
    if kind not in _KEYS:
        _KEYS[kind] = {
            'rsa': lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
            'rsa2': lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
            'ec': lambda: ec.generate_private_key(ec.SECP256R1()),
            'ed25519': ed25519.Ed25519PrivateKey.generate,
        }[kind]()
    return _KEYS[kind]


def pem(kind='rsa', fmt=serialization.PrivateFormat.PKCS8, passphrase=None):
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    return _key(kind).private_bytes(serialization.Encoding.PEM, fmt, encryption).decode('ascii')


def public(kind='rsa'):
    return _key(kind).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode('ascii')


def server_keypair(kind='rsa', hosted=False, name='web'):
    """A show-key-pair answer as KPS gives it (public key with a comment and a newline)."""
    line = public(kind)
    return {'name': name, 'id': 1234, 'type': 'ssh', 'scope': 'user', 'user_id': 'u1',
            'public_key': line + ' Generated-by-Nova\n', 'fingerprint': fingerprint(line),
            'is_key_protection': hosted, 'frozen_state': 0, 'description': '', 'create_time': 1763891234000,
            'update_time': 1763891234000, 'deleted': False}


def body_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith('-----')]


# ----- the decision table ---------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def rsa_key():
    return load_private_key(pem('rsa'))


@pytest.mark.parametrize('state, keypair, force, create, expected', [
    ('present', None, False, True, runner.CREATE),
    ('present', None, True, True, runner.CREATE),
    ('present', None, False, False, runner.MISSING),
    ('present', 'rsa-clear', False, True, runner.IMPORT),
    ('present', 'rsa-clear', True, True, runner.IMPORT),
    ('present', 'rsa-hosted', False, True, runner.HOSTED),
    ('present', 'rsa-hosted', True, True, runner.REIMPORT),
    ('present', 'rsa-hosted', False, False, runner.HOSTED),
    ('present', 'ec-clear', False, True, runner.MISMATCH),
    ('present', 'ec-hosted', True, True, runner.MISMATCH),
    ('absent', None, False, True, runner.NO_KEYPAIR),
    ('absent', 'rsa-clear', False, True, runner.ALREADY_CLEAR),
    ('absent', 'rsa-hosted', False, True, runner.CLEAR),
    ('absent', 'ec-hosted', True, True, runner.CLEAR),
])
def test_decide(rsa_key, state, keypair, force, create, expected):
    if keypair is not None:
        kind, hosting = keypair.split('-')
        keypair = server_keypair(kind, hosted=hosting == 'hosted')
    key = rsa_key if state == 'present' else None
    assert runner.decide(state, keypair, key, force=force, create=create) == expected


def test_key_matches_falls_back_to_fingerprint_without_public_key(rsa_key):
    keypair = server_keypair('rsa')
    keypair['public_key'] = ''
    assert runner.key_matches(keypair, rsa_key)
    keypair['fingerprint'] = fingerprint(public('ec'))
    assert not runner.key_matches(keypair, rsa_key)
    assert not runner.key_matches({'public_key': None, 'fingerprint': None}, rsa_key)


def test_keypair_summary_has_every_field_and_drops_the_comment():
    summary = runner.keypair_summary(server_keypair('ed25519', hosted=True))
    assert sorted(summary) == sorted(runner.KEYPAIR_DETAIL_FIELDS)
    assert summary['public_key'] == public('ed25519')
    assert 'deleted' not in summary


def test_predicted_create_has_the_same_shape_with_server_fields_none(rsa_key):
    after = runner.predicted(runner.CREATE, None, rsa_key, 'web', user_id='u9')
    assert sorted(after) == sorted(runner.KEYPAIR_DETAIL_FIELDS)
    assert after['public_key'] == public('rsa') and after['fingerprint'] == rsa_key.fingerprint
    assert after['is_key_protection'] is True and after['user_id'] == 'u9'
    assert after['id'] is None and after['create_time'] is None


# ----- the module, in-process -----------------------------------------------------------------------------------

@pytest.fixture
def kps():
    """A mocked KpsClient handed out by KpsModule.kps; ``kps.shows`` scripts successive show answers."""
    client = mock.Mock(name='KpsClient')
    client.create_keypair.return_value = {'name': 'web'}
    client.import_private_key.return_value = {'name': 'web'}
    client.clear_private_key.return_value = True
    with mock.patch.object(KpsModule, 'kps', new_callable=mock.PropertyMock, return_value=client):
        yield client


def run(args, check_mode=False, diff=False, fail=False):
    args = dict(args)
    args.setdefault('name', 'web')
    args['_ansible_check_mode'] = check_mode
    args['_ansible_diff'] = diff
    with set_module_args(args):
        return run_module(kps_private_key_import.main, fail=fail)


def writes(kps):
    return kps.create_keypair.call_count + kps.import_private_key.call_count + kps.clear_private_key.call_count


# Each write path: the server state before, the args, the write method, the state the re-read sees after.
WRITE_PATHS = {
    'create': (None, {}, 'create_keypair', server_keypair('rsa', hosted=True)),
    'import': (server_keypair('rsa'), {}, 'import_private_key', server_keypair('rsa', hosted=True)),
    'reimport': (server_keypair('rsa', hosted=True), {'force': True}, 'import_private_key',
                 server_keypair('rsa', hosted=True)),
    'clear': (server_keypair('rsa', hosted=True), {'state': 'absent'}, 'clear_private_key', server_keypair('rsa')),
}


@pytest.mark.parametrize('path', sorted(WRITE_PATHS))
def test_write_path_check_mode_then_real(kps, path):
    before, extra, method, after = WRITE_PATHS[path]
    args = dict(extra, private_key=pem('rsa'))

    kps.show_keypair.side_effect = [before]
    checked = run(args, check_mode=True, diff=True)
    assert writes(kps) == 0
    assert kps.show_keypair.call_count == 1

    kps.show_keypair.reset_mock()
    kps.show_keypair.side_effect = [before, after]
    real = run(args, diff=True)
    assert getattr(kps, method).call_count == 1
    assert writes(kps) == 1

    assert checked['changed'] is real['changed'] is True
    assert sorted(checked['keypair']) == sorted(real['keypair']) == sorted(runner.KEYPAIR_DETAIL_FIELDS)
    assert checked['msg'].startswith('Would ') and not real['msg'].startswith('Would ')
    assert checked['diff'] == real['diff']
    # A re-import changes what KPS cannot report (the encryption), so its diff shows no difference.
    assert (checked['diff']['before'] == checked['diff']['after']) is (path == 'reimport')
    assert real['keypair']['is_key_protection'] is (path != 'clear')


def test_create_sends_the_derived_public_key_and_unencrypted_pem(kps):
    kps.show_keypair.side_effect = [None, server_keypair('rsa', hosted=True)]
    result = run({'private_key': pem('rsa', passphrase='s3cret-pass'), 'private_key_passphrase': 's3cret-pass',
                  'encryption_type': 'kms', 'kms_key_name': 'kps/default', 'user_id': 'u1'})
    assert result['changed'] and result['msg'] == 'Created key pair web with its private key hosted by KPS.'
    (name,), kwargs = kps.create_keypair.call_args
    assert name == 'web' and kwargs['public_key'] == public('rsa')
    assert kwargs['private_key'].startswith('-----BEGIN RSA PRIVATE KEY-----')
    assert load_private_key(kwargs['private_key']).public_key == public('rsa')
    assert (kwargs['encryption_type'], kwargs['kms_key_name'], kwargs['kms_key_id'], kwargs['user_id']) == (
        'kms', 'kps/default', None, 'u1')
    assert result['keypair']['id'] == 1234


def test_import_passes_the_kms_key_id(kps):
    kps.show_keypair.side_effect = [server_keypair('ec'), server_keypair('ec', hosted=True)]
    result = run({'private_key': pem('ec', serialization.PrivateFormat.OpenSSH), 'encryption_type': 'kms',
                  'kms_key_id': 'k-123'})
    assert result['msg'] == 'Imported the private key into key pair web.'
    (name, private_key), kwargs = kps.import_private_key.call_args
    assert name == 'web' and private_key.startswith('-----BEGIN PRIVATE KEY-----')  # PKCS#8 (issue 16.4)
    assert load_private_key(private_key).public_key == public('ec')
    assert (kwargs['encryption_type'], kwargs['kms_key_name'], kwargs['kms_key_id']) == ('kms', None, 'k-123')


@pytest.mark.parametrize('check_mode', [False, True])
def test_hosted_and_matching_costs_exactly_one_read(kps, check_mode):
    kps.show_keypair.side_effect = [server_keypair('ed25519', hosted=True)]
    result = run({'private_key': pem('ed25519', serialization.PrivateFormat.OpenSSH)}, check_mode=check_mode,
                 diff=True)
    assert result['changed'] is False
    assert result['msg'] == 'KPS already hosts this private key for key pair web.'
    assert kps.show_keypair.call_count == 1 and writes(kps) == 0
    assert kps.method_calls == [mock.call.show_keypair('web')]
    assert result['diff']['before'] == result['diff']['after'] == {
        'exists': True, 'is_key_protection': True, 'fingerprint': fingerprint(public('ed25519'))}
    assert result['keypair']['public_key'] == public('ed25519')


@pytest.mark.parametrize('hosted', [False, True])
@pytest.mark.parametrize('force', [False, True])
def test_mismatch_fails_before_any_write_naming_both_fingerprints(kps, hosted, force):
    kps.show_keypair.side_effect = [server_keypair('ec', hosted=hosted)]
    result = run({'private_key': pem('rsa'), 'force': force}, fail=True)
    assert writes(kps) == 0
    assert 'key pair web' in result['msg']
    assert fingerprint(public('ec')) in result['msg'] and fingerprint(public('rsa')) in result['msg']
    assert result['keypair']['name'] == 'web'


@pytest.mark.parametrize('check_mode', [False, True])
def test_missing_key_pair_with_create_false_fails(kps, check_mode):
    kps.show_keypair.side_effect = [None]
    result = run({'private_key': pem('rsa'), 'create': False}, check_mode=check_mode, fail=True)
    assert 'Key pair web does not exist' in result['msg'] and 'create=false' in result['msg']
    assert writes(kps) == 0


@pytest.mark.parametrize('before, msg', [
    (None, 'Key pair web does not exist: nothing to clear.'),
    (server_keypair('rsa'), 'Key pair web hosts no private key: nothing to clear.'),
])
def test_absent_unchanged_says_which(kps, before, msg):
    kps.show_keypair.side_effect = [before]
    result = run({'state': 'absent'}, diff=True)
    assert result['changed'] is False and result['msg'] == msg and writes(kps) == 0
    assert result['keypair'] == runner.keypair_summary(before)
    assert result['diff']['before'] == result['diff']['after']


def test_absent_ignores_the_private_key(kps):
    kps.show_keypair.side_effect = [server_keypair('ec', hosted=True), server_keypair('ec')]
    result = run({'state': 'absent', 'private_key': 'not even a key'})
    assert result['changed'] is True and kps.clear_private_key.call_count == 1


def test_absent_cleared_meanwhile_is_unchanged(kps):
    kps.show_keypair.side_effect = [server_keypair('rsa', hosted=True), server_keypair('rsa')]
    kps.clear_private_key.return_value = False
    result = run({'state': 'absent'})
    assert result['changed'] is False and 'nothing to clear' in result['msg']


@pytest.mark.parametrize('name', ['web server', 'x' * 256, ''])
def test_invalid_name_fails_before_any_call(kps, name):
    result = run({'name': name, 'private_key': pem('rsa')}, fail=True)
    assert '1 to 255 letters' in result['msg']
    assert kps.method_calls == []


def test_a_new_key_pair_may_have_255_characters(kps):
    name = 'x' * 255
    kps.show_keypair.side_effect = [None, server_keypair('rsa', hosted=True, name=name)]
    result = run({'name': name, 'private_key': pem('rsa')})
    assert result['changed'] is True and kps.create_keypair.call_args.args[0] == name


@pytest.mark.parametrize('force, hosted', [(False, False), (True, True)])
def test_import_into_a_key_pair_named_over_64_characters_fails_before_any_write(kps, force, hosted):
    name = 'x' * 65
    kps.show_keypair.return_value = server_keypair('rsa', hosted=hosted, name=name)
    result = run({'name': name, 'private_key': pem('rsa'), 'force': force}, fail=True)
    assert result['msg'] == (
        "Key pair %s exists, but its name has 65 characters and KPS's import call takes names of at most 64 (its "
        "SDK model), so no private key can be imported into it. Nothing was changed. A new key pair created by "
        "this module (create=true) may have up to 255 characters." % name)
    assert [call[0] for call in kps.method_calls] == ['show_keypair']


def test_clear_takes_255_characters(kps):
    name = 'x' * 255
    kps.show_keypair.side_effect = [server_keypair('rsa', hosted=True, name=name), server_keypair('rsa', name=name)]
    assert run({'name': name, 'state': 'absent'})['changed'] is True
    kps.clear_private_key.assert_called_once_with(name)


def test_both_kms_identifiers_are_sent_together(kps):
    kps.show_keypair.side_effect = [server_keypair('rsa'), server_keypair('rsa', hosted=True)]
    result = run({'private_key': pem('rsa'), 'encryption_type': 'kms', 'kms_key_name': 'kps/default',
                  'kms_key_id': 'id-1'})
    assert result['changed'] is True and not result.get('warnings')
    call = kps.import_private_key.call_args
    assert (call.kwargs['kms_key_name'], call.kwargs['kms_key_id']) == ('kps/default', 'id-1')


def test_kms_without_a_key_fails_in_the_argument_spec(kps):
    result = run({'private_key': pem('rsa'), 'encryption_type': 'kms'}, fail=True)
    assert 'encryption_type is kms' in result['msg'] and 'kms_key_name' in result['msg']
    assert kps.method_calls == []


@pytest.mark.parametrize('args, msg', [
    ({}, 'state is present but any of the following are missing: private_key, private_key_path'),
    ({'private_key': 'x', 'private_key_path': '/k'}, 'mutually exclusive: private_key|private_key_path'),
])
def test_argument_spec(kps, args, msg):
    assert msg in run(args, fail=True)['msg']


def test_encrypted_key_without_passphrase_says_to_give_it(kps):
    result = run({'private_key': pem('rsa', passphrase='s3cret-pass')}, fail=True)
    assert 'key pair web' in result['msg'] and 'private_key_passphrase' in result['msg']
    assert kps.method_calls == []


def test_wrong_passphrase(kps):
    result = run({'private_key': pem('ec', passphrase='right-one'), 'private_key_passphrase': 'wrong-one'},
                 fail=True)
    assert 'passphrase is wrong' in result['msg']
    assert 'wrong-one' not in json.dumps(result)
    assert kps.method_calls == []


def test_passphrase_for_an_unencrypted_key_warns(kps):
    kps.show_keypair.side_effect = [server_keypair('rsa', hosted=True)]
    result = run({'private_key': pem('rsa'), 'private_key_passphrase': 'unused-pass'})
    assert any('not encrypted' in text for text in result['warnings'])


def test_kms_options_without_kms_warn(kps):
    kps.show_keypair.side_effect = [server_keypair('rsa', hosted=True)]
    result = run({'private_key': pem('rsa'), 'kms_key_name': 'kps/default'})
    assert any('kms_key_name only applies with encryption_type=kms' in text for text in result['warnings'])


def test_private_key_path(kps, tmp_path):
    path = tmp_path / 'id_rsa'
    path.write_text(pem('rsa', serialization.PrivateFormat.TraditionalOpenSSL))
    kps.show_keypair.side_effect = [server_keypair('rsa')]
    result = run({'private_key_path': str(path)}, check_mode=True)
    assert result['changed'] is True and result['keypair']['is_key_protection'] is True


def test_private_key_path_missing(kps, tmp_path):
    result = run({'private_key_path': str(tmp_path / 'nope')}, fail=True)
    assert 'Cannot read private_key_path' in result['msg'] and 'No such file' in result['msg']
    assert kps.method_calls == []


def test_not_a_private_key(kps):
    result = run({'private_key': public('rsa')}, fail=True)
    assert 'OpenSSH public key' in result['msg']


def test_api_error_names_the_key_pair_and_keeps_code_and_request_id(kps):
    kps.show_keypair.side_effect = [server_keypair('rsa')]
    kps.import_private_key.side_effect = HuaweiCloudError(
        'import private key', status=400, error_code='KPS.6010', error_msg='KMS key not found', request_id='r-1')
    result = run({'private_key': pem('rsa'), 'encryption_type': 'kms', 'kms_key_name': 'nope'}, fail=True)
    assert result['msg'].startswith("Key pair web: KPS call 'import private key' failed: HTTP 400 KPS.6010")
    assert 'exists in this region and is enabled' in result['msg']
    assert (result['error_code'], result['request_id'], result['status']) == ('KPS.6010', 'r-1', 400)


@pytest.mark.parametrize('action, before', [('create', None), ('import', server_keypair('rsa'))])
def test_write_without_answer_that_landed_is_success(kps, action, before):
    kps.show_keypair.side_effect = [before, server_keypair('rsa', hosted=True), server_keypair('rsa', hosted=True)]
    error = HuaweiCloudError('%s' % action, reason='could not reach host: ReadTimeout')
    getattr(kps, 'create_keypair' if action == 'create' else 'import_private_key').side_effect = error
    result = run({'private_key': pem('rsa')})
    assert result['changed'] is True and result['keypair']['is_key_protection'] is True
    assert any('treating the call as successful' in text for text in result['warnings'])


@pytest.mark.parametrize('action, before, reread', [
    ('create', None, None),
    ('import', server_keypair('rsa'), server_keypair('rsa')),
    ('reimport', server_keypair('rsa', hosted=True), server_keypair('rsa', hosted=True)),
])
def test_write_without_answer_that_did_not_land_fails(kps, action, before, reread):
    kps.show_keypair.side_effect = [before, reread]
    error = HuaweiCloudError('write', status=None if action != 'import' else 503, reason='no answer')
    getattr(kps, 'create_keypair' if action == 'create' else 'import_private_key').side_effect = error
    result = run({'private_key': pem('rsa'), 'force': action == 'reimport'}, fail=True)
    assert result['msg'].startswith("Key pair web: KPS call 'write' failed")
    # A forced re-import cannot be verified by a read: no second read then.
    assert kps.show_keypair.call_count == (1 if action == 'reimport' else 2)


@pytest.mark.parametrize('action, before', [('create', None), ('import', server_keypair('rsa'))])
@pytest.mark.parametrize('other', ['another-key-hosted', 'another-key-by-fingerprint'])
def test_write_without_answer_is_not_success_when_another_key_of_that_name_is_hosted(kps, action, before, other):
    """The write got no answer; meanwhile a key pair of that name hosting ANOTHER key appeared (deleted and
    created again by someone else): that is not this write landing, the task fails and claims nothing."""
    landed = server_keypair('ec', hosted=True)
    if other == 'another-key-by-fingerprint':  # KPS gave no public key: the fingerprint decides
        landed['public_key'] = None
    kps.show_keypair.side_effect = [before, landed]
    error = HuaweiCloudError('create key pair' if action == 'create' else 'import private key',
                             reason='could not reach host: ReadTimeout')
    getattr(kps, 'create_keypair' if action == 'create' else 'import_private_key').side_effect = error
    result = run({'private_key': pem('rsa')}, fail=True)
    assert result['msg'].startswith("Key pair web: KPS call '%s' failed: could not reach host: ReadTimeout"
                                    % ('create key pair' if action == 'create' else 'import private key'))
    assert not any('treating the call as successful' in text for text in result.get('warnings', []))
    assert kps.show_keypair.call_count == 2


def test_a_client_error_is_not_second_guessed(kps):
    kps.show_keypair.side_effect = [None]
    kps.create_keypair.side_effect = HuaweiCloudError('create key pair', status=400, error_code='KPS.0002')
    run({'private_key': pem('rsa')}, fail=True)
    assert kps.show_keypair.call_count == 1


@pytest.mark.parametrize('fail', [False, True])
def test_no_key_material_or_passphrase_in_any_result(kps, fail):
    private_key = pem('rsa', passphrase='pass-phrase-1234')
    kps.show_keypair.side_effect = [server_keypair('ec' if fail else 'rsa'), server_keypair('rsa', hosted=True)]
    result = run({'private_key': private_key, 'private_key_passphrase': 'pass-phrase-1234'}, diff=True, fail=fail)
    text = json.dumps(result)
    assert 'pass-phrase-1234' not in text
    plain = load_private_key(private_key, 'pass-phrase-1234').pem
    for line in body_lines(private_key) + body_lines(plain):
        assert line not in text
    assert 'PRIVATE KEY' not in text


@pytest.mark.parametrize('bits, warns', [(1024, True), (2048, False)])
def test_short_rsa_key_warns(kps, bits, warns):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    text = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    kps.show_keypair.side_effect = [dict(server_keypair(), public_key=line, fingerprint=fingerprint(line),
                                         is_key_protection=True)]
    result = run({'private_key': text})
    short = [w for w in result['warnings'] if 'under 2048 bits' in w]
    assert short == ([
        'huaweicloud.kps.kps_private_key_import: the RSA key of key pair web has only 1024 bits; RSA keys under '
        '2048 bits are weak, replace it with a longer one.'] if warns else [])
