# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_keypair_info without a network: one read per run, hosted or not, missing names, never a private key."""
from __future__ import annotations

import json
from unittest import mock

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._info_runner import iso_time
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import KEYPAIR_DETAIL_FIELDS, KEYPAIR_FIELDS
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.modules import kps_keypair_info
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.test_kps_private_key_export import (
    FakeKps,
    pem_body,
)
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args


@pytest.fixture
def kps():
    fake = FakeKps()
    with mock.patch.object(KpsModule, 'kps', new_callable=mock.PropertyMock, return_value=fake):
        yield fake


def run(kps, args, check_mode=False, fail=False):
    args = dict(args)
    args.update(_ansible_check_mode=check_mode)
    with set_module_args(args):
        result = run_module(kps_keypair_info.main, fail=fail)
    text = json.dumps(result)
    for record in kps.keypairs.values():
        assert pem_body(record['_private']) not in text  # metadata only, never key material
    return result


def test_names_in_order_hosted_or_not_one_listing_check_mode_alike(kps):
    kps.add('info-web')
    kps.add('info-cold', hosted=False)
    kps.add('info-other')
    results = [run(kps, {'names': ['info-cold', 'info-web', 'info-cold']}, check_mode=check) for check in (True, False)]
    assert results[0] == results[1]
    result = results[1]
    assert result['changed'] is False and result['missing'] == []
    assert [kp['name'] for kp in result['keypairs']] == ['info-cold', 'info-web']  # order of names, once each
    cold = result['keypairs'][0]
    assert sorted(cold) == sorted(KEYPAIR_DETAIL_FIELDS + ('create_time_iso',))
    assert cold['is_key_protection'] is False
    assert cold['public_key'] == ' '.join(kps.keypairs['info-cold']['public_key'].split()[:2])  # no comment
    assert cold['fingerprint'] == kps.keypairs['info-cold']['fingerprint']
    assert kps.calls == [('list', None), ('list', None)]  # one listing per run, no show, no export


def test_one_name_is_one_show(kps):
    kps.add('info-web')
    result = run(kps, {'names': ['info-web']})
    assert [kp['name'] for kp in result['keypairs']] == ['info-web']
    assert kps.calls == [('show', 'info-web')]


def test_all_key_pairs_sorted_by_name(kps):
    for name in ('info-b', 'info-a', 'info-c'):
        kps.add(name, hosted=name != 'info-b')
    result = run(kps, {})
    assert [kp['name'] for kp in result['keypairs']] == ['info-a', 'info-b', 'info-c']
    assert result['missing'] == [] and kps.calls == [('list', None)]


def test_empty_names_make_no_call(kps):
    assert run(kps, {'names': []}) == {'changed': False, 'keypairs': [], 'missing': [], 'warnings': []}
    assert kps.calls == []


def test_missing_names_are_reported_or_fail(kps):
    kps.add('info-web')
    result = run(kps, {'names': ['info-gone', 'info-web', 'info-lost']})
    assert [kp['name'] for kp in result['keypairs']] == ['info-web']
    assert result['missing'] == ['info-gone', 'info-lost']

    failed = run(kps, {'names': ['info-gone', 'info-web', 'info-lost'], 'fail_on_missing': True}, fail=True)
    assert failed['msg'] == 'Key pairs info-gone, info-lost do not exist in KPS.'
    assert failed['missing'] == ['info-gone', 'info-lost']
    failed = run(kps, {'names': ['info-gone'], 'fail_on_missing': True}, fail=True)
    assert failed['msg'] == 'Key pair info-gone does not exist in KPS.'


def test_invalid_names_fail_before_any_call(kps):
    failed = run(kps, {'names': ['ok', '../etc/passwd', 'a b']}, fail=True)
    assert 'Invalid key pair names' in failed['msg'] and "'../etc/passwd'" in failed['msg']
    assert kps.calls == []


def add_details(kps, name, **extra):
    kps.keypairs[name].update(dict(id=7, user_id='u1', description='d', create_time=1763891234000,
                                   update_time=1763891234000), **extra)


def test_name_is_one_show_with_every_field(kps):
    kps.add('info-web')
    add_details(kps, 'info-web', key_id='k-1', algorithm='RSA_2048')
    result = run(kps, {'name': 'info-web'})
    (keypair,) = result['keypairs']
    assert (keypair['id'], keypair['user_id'], keypair['description']) == (7, 'u1', 'd')
    assert keypair['create_time'] == 1763891234000 and keypair['create_time_iso'] == '2025-11-23T09:47:14Z'
    assert (keypair['key_id'], keypair['algorithm']) == ('k-1', 'RSA_2048')
    assert kps.calls == [('show', 'info-web')]
    assert 'mutually exclusive: name|names' in run(kps, {'name': 'a', 'names': ['b']}, fail=True)['msg']


def test_optional_fields_only_when_present(kps):
    kps.add('info-web')
    add_details(kps, 'info-web')
    keypair = run(kps, {'name': 'info-web'})['keypairs'][0]
    assert 'key_id' not in keypair and 'algorithm' not in keypair


def test_iso_time_takes_milliseconds_or_seconds():
    assert iso_time(1763891234000) == iso_time(1763891234) == '2025-11-23T09:47:14Z'
    assert iso_time(None) is None and iso_time('x') is None and iso_time(True) is None


def test_filters_apply_to_what_was_read(kps):
    kps.add('deploy-a')
    kps.add('deploy-b', hosted=False)
    kps.add('web')
    kps.keypairs['deploy-b']['scope'] = 'domain'

    def names(args):
        return [kp['name'] for kp in run(kps, args)['keypairs']]

    assert names({'name_pattern': 'deploy-*'}) == ['deploy-a', 'deploy-b']
    assert names({'name_pattern': 'DEPLOY-*'}) == []
    assert names({'is_key_protection': False}) == ['deploy-b']
    assert names({'is_key_protection': True}) == ['deploy-a', 'web']
    assert names({'scope': 'domain'}) == ['deploy-b']
    assert names({'fingerprint': kps.keypairs['web']['fingerprint'].upper()}) == ['web']
    assert names({'names': ['web', 'deploy-b', 'ghost'], 'scope': 'user'}) == ['web']
    result = run(kps, {'names': ['web', 'ghost'], 'scope': 'domain'})
    assert result['keypairs'] == [] and result['missing'] == ['ghost']  # filtered out is not missing
    assert all(call == ('list', None) for call in kps.calls)  # one listing per run, filters cost nothing


def test_details_shows_each_listed_key_pair_that_passes_the_filters(kps):
    for name in ('deploy-a', 'deploy-b', 'web'):
        kps.add(name)
        add_details(kps, name)
    listing = kps.list_keypairs
    # As KPS: a listing reports only the list fields.
    kps.list_keypairs = lambda: [dict((f, kp[f]) for f in KEYPAIR_FIELDS) for kp in listing()]
    plain = run(kps, {'name_pattern': 'deploy-*'})
    assert [kp['id'] for kp in plain['keypairs']] == [None, None]
    del kps.calls[:]
    result = run(kps, {'name_pattern': 'deploy-*', 'details': True})
    assert [kp['id'] for kp in result['keypairs']] == [7, 7]
    assert kps.calls == [('list', None), ('show', 'deploy-a'), ('show', 'deploy-b')]
    del kps.calls[:]
    run(kps, {'name': 'web', 'details': True})
    assert kps.calls == [('show', 'web')]  # already read by show: no second call


def test_scope_account_is_terraforms_domain(kps):
    kps.add('deploy-a')
    kps.add('deploy-b')
    kps.keypairs['deploy-b']['scope'] = 'domain'
    result = run(kps, {'scope': 'account'})
    assert [kp['name'] for kp in result['keypairs']] == ['deploy-b'] and result['keypairs'][0]['scope'] == 'domain'


def _sha256(public_key):
    """What ssh-keygen -l prints for an OpenSSH public key line, computed here without the collection's code."""
    import base64
    import hashlib
    digest = hashlib.sha256(base64.b64decode(public_key.split()[1])).digest()
    return 'SHA256:' + base64.b64encode(digest).decode().rstrip('=')


def test_fingerprint_in_the_forms_kps_and_ssh_keygen_print(kps):
    kps.add('deploy-a')
    kps.add('deploy-b', hosted=False)
    md5 = kps.keypairs['deploy-b']['fingerprint']
    sha256 = _sha256(kps.keypairs['deploy-b']['public_key'])
    for form in (md5, md5.upper(), 'MD5:' + md5, 'md5:' + md5.upper(), ' %s ' % md5, sha256, sha256 + '='):
        assert [kp['name'] for kp in run(kps, {'fingerprint': form})['keypairs']] == ['deploy-b'], form
    other = _sha256(kps.keypairs['deploy-a']['public_key'])
    assert sha256 != other and [kp['name'] for kp in run(kps, {'fingerprint': other})['keypairs']] == ['deploy-a']
    assert run(kps, {'fingerprint': 'SHA256:' + sha256[7:].swapcase()})['keypairs'] == []  # base64 is case-sensitive


@pytest.mark.parametrize('form', ['SHA1:aa:bb', 'MD5:3f:0a', 'SHA256:abc', 'sha256:' + 'A' * 43, '3f0a62c19b118d4e275ca0690ef2d841',
                                  'MD5:' + ':'.join(['zz'] * 16), ''])
def test_a_fingerprint_in_no_known_form_fails_before_any_call(kps, form):
    failed = run(kps, {'fingerprint': form, 'names': ['web', 'db']}, fail=True)
    assert failed['msg'] == (
        'fingerprint %s is not a fingerprint this module can compare. Give it as KPS reports it (MD5, 16 colon-separated '
        'hex pairs such as 3f:0a:62:c1:9b:11:8d:4e:27:5c:a0:69:0e:f2:d8:41), as ssh-keygen -E md5 -l prints it '
        '(MD5:3f:0a:...), or as ssh-keygen -l prints it (SHA256: and 43 base64 characters). Nothing was sent.' % form)
    assert kps.calls == []
