# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookups kps_public_key and kps_private_key without a network, on the export tests' in-memory KPS.

Ansible's option handling (keyword arguments, HW_* variables through the doc fragment's ``lookup`` variant) is
replaced by a dict here; tests/integration/test_lookups.py and the target lookup_kps_keys run the real thing.
"""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.huaweicloud.kps.plugins.lookup import kps_private_key, kps_public_key
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError, scrub
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import load_private_key
from ansible_collections.huaweicloud.kps.plugins.plugin_utils import _lookup
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.test_kps_private_key_export import (
    FakeKps,
    build_zip,
    make_keypair,
)

DEFAULTS = dict((name, spec.get('default')) for name, spec in _lookup.COMMON_ARGSPEC.items())
DEFAULTS['format'] = 'openssh'


@pytest.fixture
def kps(monkeypatch):
    fake = FakeKps()
    connected = []

    def kps_client(params, get_http, warn):
        connected.append(params)
        return None, 'pid', fake
    monkeypatch.setattr(_lookup, 'kps_client', kps_client)
    fake.connected = connected
    return fake


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(_lookup.display, 'warning', seen.append)
    return seen


def run(plugin, *terms, **options):
    """The plugin's run() with ``options`` as Ansible would resolve them (defaults for the rest)."""
    lookup = plugin.LookupModule()
    values = dict(DEFAULTS, **options)
    lookup.set_options = lambda var_options=None, direct=None: None
    lookup.get_option = values.get
    return lookup.run(list(terms), variables={}, **options)


def failure(plugin, *terms, **options):
    with pytest.raises(AnsibleLookupError) as exc:
        run(plugin, *terms, **options)
    assert exc.value.__cause__ is None  # the KpsError's message is all; no chained cause in the output
    return str(exc.value)


def public(name, kind='ed25519'):
    return make_keypair(name, kind)[1]


# ----- kps_public_key ----------------------------------------------------------------------------------------

def test_public_keys_in_the_order_of_the_terms_with_one_listing(kps):
    kps.add('a')
    kps.add('b', kind='rsa')
    kps.add('cold', hosted=False, kind='ec')
    assert run(kps_public_key, 'cold', ['a', 'b'], 'a') == [public('cold', 'ec'), public('a'), public('b', 'rsa'),
                                                            public('a')]
    assert kps.calls == [('list', None)]  # not hosted is fine; comments (" Generated-by-Nova") dropped


def test_one_name_is_one_show(kps):
    kps.add('a')
    assert run(kps_public_key, 'a') == [public('a')]
    assert kps.calls == [('show', 'a')]


def test_missing_key_pairs_fail_naming_each(kps):
    kps.add('a')
    assert failure(kps_public_key, 'ghost', 'a', 'phantom') == (
        'Key pairs ghost, phantom do not exist in KPS.')
    assert failure(kps_public_key, 'ghost') == 'Key pair ghost does not exist in KPS.'


def test_no_terms_no_call(kps):
    assert run(kps_public_key) == []
    assert kps.calls == [] and kps.connected == []


@pytest.mark.parametrize('terms, options, message', [
    (['a', '../etc/passwd'], {}, "Invalid key pair name: '../etc/passwd'."),
    (['a'], {'timeout': 0}, 'timeout must be a positive number of seconds.'),
    (['a'], {'retries': -1}, 'retries must be 0 (no retries) or more.'),
])
def test_bad_input_fails_before_connecting(kps, terms, options, message):
    assert failure(kps_public_key, *terms, **options).startswith(message)
    assert kps.calls == [] and kps.connected == []


def test_connection_options_reach_the_modules_connection_code(kps):
    kps.add('a')
    run(kps_public_key, 'a', region='cn-north-4', access_key='AK', secret_key='SK-SECRET-VALUE', timeout=5)
    params = kps.connected[0]
    assert (params['region'], params['access_key'], params['timeout'], params['cloud']) == (
        'cn-north-4', 'AK', 5, 'myhuaweicloud.com')
    assert set(params) == set(_lookup.COMMON_ARGSPEC)


def test_secret_options_are_scrubbed_from_messages(kps):
    kps.add('a')
    run(kps_public_key, 'a', secret_key='SK-SECRET-VALUE', user_password='pässwörd', access_key='AK-NOT-SECRET')
    assert scrub('x SK-SECRET-VALUE p%C3%A4ssw%C3%B6rd AK-NOT-SECRET') == (
        'x [secret removed] [secret removed] AK-NOT-SECRET')


def test_a_server_error_is_the_lookup_error_without_the_secrets_it_echoes(kps):
    def fail(names):
        raise HuaweiCloudError('list key pairs', status=403, error_code='KPS.0403',
                               error_msg='Forbidden: bad signature with SK-SECRET-VALUE')
    kps.find_keypairs = fail
    message = failure(kps_public_key, 'a', 'b', secret_key='SK-SECRET-VALUE')
    assert message.startswith("KPS call 'list key pairs' failed: HTTP 403 KPS.0403: Forbidden: bad signature with "
                              "[secret removed]")
    assert 'SK-SECRET-VALUE' not in message


# ----- kps_private_key ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('fmt, header', [
    ('openssh', '-----BEGIN OPENSSH PRIVATE KEY-----'),
    ('pkcs8', '-----BEGIN PRIVATE KEY-----'),
    ('pem', '-----BEGIN RSA PRIVATE KEY-----'),
    ('kps', '-----BEGIN RSA PRIVATE KEY-----'),  # as KPS returned it (PKCS#1)
])
def test_private_key_in_each_format(kps, fmt, header):
    private = kps.add('r', kind='rsa')
    [text] = run(kps_private_key, 'r', format=fmt)
    assert text.startswith(header + '\n') and text.endswith('\n')
    assert load_private_key(text).public_key == load_private_key(private).public_key
    assert kps.calls == [('show', 'r'), ('export', 'r')]


def test_many_private_keys_in_batches_of_ten_in_the_order_of_the_terms(kps, warnings):
    names = ['k%02d' % index for index in range(11)]
    privates = dict((name, kps.add(name)) for name in names)
    terms = list(reversed(names)) + ['k03']
    texts = run(kps_private_key, terms)
    assert [load_private_key(text).public_key for text in texts] == [
        load_private_key(privates[name]).public_key for name in terms]
    # one listing, then each name once, in batches of at most 10
    assert kps.calls == [('list', None), ('batch', terms[:10]), ('batch', terms[10:11])]
    assert warnings == []


def test_a_batch_archive_that_does_not_match_is_exported_singly_with_a_warning(kps, warnings):
    kps.add('a')
    kps.add('b')
    kps.zip_hook = lambda entries: build_zip(entries[:1])  # lacks b's key
    assert len(run(kps_private_key, 'a', 'b')) == 2
    assert [call[0] for call in kps.calls] == ['list', 'batch', 'export', 'export']
    assert len(warnings) == 1 and warnings[0].startswith('huaweicloud.kps.kps_private_key: ')
    assert 'one call each instead' in warnings[0]


def test_missing_and_not_hosted_fail_before_any_export(kps):
    kps.add('a')
    kps.add('cold', hosted=False)
    assert failure(kps_private_key, 'a', 'ghost', 'cold') == (
        'Cannot export: key pair ghost does not exist in KPS; KPS hosts no private '
        'key for key pair cold (import one with huaweicloud.kps.kps_private_key_import).')
    assert kps.exports == 0


def test_traditional_pem_of_ed25519_fails_before_any_export(kps):
    kps.add('e')
    kps.add('r', kind='rsa')
    assert failure(kps_private_key, 'r', 'e', format='pem') == (
        'format=pem (traditional PEM) does not exist for ED25519 keys (key pair e). '
        'Use format=openssh, which every OpenSSH since 6.5 loads, or format=pkcs8.')
    assert kps.exports == 0


def test_a_key_that_is_not_the_key_pairs_is_never_returned(kps):
    kps.add('a')
    kps.keypairs['a']['_private'] = make_keypair('other')[0]
    message = failure(kps_private_key, 'a')
    assert "is not the key pair's" in message and 'PRIVATE KEY' not in message
