# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KpsModule and KpsRunner: merged argspec, missing libraries, lazy client, one error path without secrets."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic

from ansible_collections.huaweicloud.kps.plugins.module_utils import _module
from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import CredentialError
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError, scrub
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import WrongPassphraseError
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import COMMON_ARGSPEC, KpsModule, KpsRunner
from ansible_collections.huaweicloud.kps.tests.unit.plugins.module_utils.http_stub import reply, stub_session
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import set_module_args


class Exit(Exception):
    pass


class Fail(Exception):
    pass


@pytest.fixture(autouse=True)
def exits(monkeypatch):
    def exit_json(self, **kwargs):
        raise Exit(kwargs)

    def fail_json(self, **kwargs):
        raise Fail(kwargs)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    for names in _module.ENV_VARS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)


def make_module(args, **spec):
    with set_module_args(args):  # the ansible-core version's own way (patch_module_args on 2.19+)
        return KpsModule(argument_spec=KpsModule.generate_argspec(**spec), supports_check_mode=True)


def run(module, work):
    """Run ``work`` as a KpsRunner's _execute: its result as exit_json got it (Exit), or Fail from fail_json."""
    class Work(KpsRunner):
        def _execute(self):
            return work()
    try:
        Work(module).execute()
    except Exit as done:
        return done.args[0]


def test_generate_argspec_merges_without_touching_the_common_spec():
    spec = KpsModule.generate_argspec(name=dict(type='str', required=True), timeout=dict(type='int', default=5))
    assert spec['name']['required'] and spec['timeout']['default'] == 5
    assert COMMON_ARGSPEC['timeout']['default'] == 30 and 'name' not in COMMON_ARGSPEC
    assert set(COMMON_ARGSPEC) == {
        'region', 'project_id', 'access_key', 'secret_key', 'security_token', 'auth_token', 'user_name',
        'user_password', 'domain_name', 'cloud', 'kps_endpoint', 'iam_endpoint', 'validate_certs', 'ca_path',
        'timeout', 'retries', 'allow_insecure_http'}


def test_defaults():
    module = make_module({'name': 'x'}, name=dict(type='str'))
    assert module.params['validate_certs'] is True and module.params['retries'] == 3
    assert module.params['timeout'] == 30 and module.params['cloud'] == 'myhuaweicloud.com'


@pytest.mark.parametrize('lib, flag', [('requests', 'HAS_REQUESTS'), ('cryptography', 'HAS_CRYPTOGRAPHY')])
def test_missing_libraries(monkeypatch, lib, flag):
    monkeypatch.setattr(_module, flag, False)
    with pytest.raises(Fail) as exc:
        make_module({})
    assert 'Failed to import the required Python library (%s)' % lib in exc.value.args[0]['msg']


@pytest.mark.parametrize('args, needle', [({'timeout': 0}, 'timeout'), ({'retries': -1}, 'retries')])
def test_bad_numbers(args, needle):
    with pytest.raises(Fail) as exc:
        make_module(args)
    assert needle in exc.value.args[0]['msg']


def test_an_api_error_fails_with_its_details():
    module = make_module({})
    err = HuaweiCloudError('show key pair', status=400, error_code='KPS.6004', error_msg='No Keypair find',
                           request_id='rid-1')

    def boom():
        raise err
    with pytest.raises(Fail) as exc:
        run(module, boom)
    result = exc.value.args[0]
    assert result == {'msg': str(err), 'error_code': 'KPS.6004', 'request_id': 'rid-1', 'status': 400,
                      'call': 'show key pair'}


@pytest.mark.parametrize('error', [CredentialError('no credentials'), WrongPassphraseError('bad passphrase')])
def test_run_catches_other_known_errors(error):
    module = make_module({})

    def boom():
        raise error
    with pytest.raises(Fail) as exc:
        run(module, boom)
    assert exc.value.args[0] == {'msg': str(error)}


def test_run_returns_value_and_lets_bugs_through():
    module = make_module({})
    assert run(module, lambda: {'sum': 3}) == {'sum': 3}
    with pytest.raises(ZeroDivisionError):
        run(module, lambda: 1 / 0)


def test_kps_client_is_built_lazily_and_once(monkeypatch):
    module = make_module({'region': 'cn-north-4', 'access_key': 'AK', 'secret_key': 'SK-SECRET-VALUE',
                          'retries': 1, 'validate_certs': False})
    session, adapter = stub_session([
        reply(200, {'projects': [{'id': 'pid', 'name': 'cn-north-4'}]}),
        reply(503, None), reply(200, {'keypair': {'name': 'a'}})])
    warnings = []
    monkeypatch.setattr(module, 'warn', warnings.append)
    module._http = None
    real = _module.HttpClient

    def client(**kwargs):
        kwargs['session'] = session
        kwargs['sleep'] = lambda s: None
        return real(**kwargs)
    monkeypatch.setattr(_module, 'HttpClient', client)
    assert adapter.sent == []
    kps = module.kps
    assert kps is module.kps and module.project_id == 'pid'
    assert kps.base == 'https://kms.cn-north-4.myhuaweicloud.com/v3/pid'
    assert run(module, lambda: {'keypair': kps.show_keypair('a')}) == {'keypair': {'name': 'a'}}
    assert warnings[0].startswith('huaweicloud.kps: validate_certs is false')
    assert warnings[1] == "huaweicloud.kps: retrying 'show key pair' after HTTP 503 (attempt 2 of 2)"
    assert adapter.sent[-1]['headers']['X-Project-Id'] == 'pid'
    assert adapter.sent[-1]['kwargs']['verify'] is False


def test_credential_failure_through_run_has_no_secrets():
    module = make_module({'region': 'cn-north-4', 'secret_key': 'SK-SECRET-VALUE'})
    with pytest.raises(Fail) as exc:
        run(module, lambda: module.kps)
    text = json.dumps(exc.value.args[0])
    assert 'needs access_key' in text and 'SK-SECRET-VALUE' not in text


def test_no_log_values_are_registered_for_scrubbing():
    make_module({'region': 'cn-north-4', 'access_key': 'AK', 'secret_key': 'SK-SECRET-VALUE',
                 'user_password': 'pässwörd'}, private_key=dict(type='str', no_log=True))
    assert scrub('a SK-SECRET-VALUE b p\\u00e4ssw\\u00f6rd c p%C3%A4ssw%C3%B6rd') == (
        'a [secret removed] b [secret removed] c [secret removed]')


def test_insecure_http_warns_once_per_endpoint(monkeypatch):
    module = make_module({'region': 'cn-north-4', 'auth_token': 'tok', 'project_id': 'p',
                          'kps_endpoint': 'http://kps-emulator:8080', 'allow_insecure_http': True})
    warnings = []
    monkeypatch.setattr(module, 'warn', warnings.append)
    assert module.kps.base == 'http://kps-emulator:8080/v3/p'
    assert warnings == ['huaweicloud.kps: allow_insecure_http is true and kps_endpoint is plain http:// to another '
                        'host: credentials and private keys cross the network unencrypted.']


def test_insecure_http_without_the_option_fails_before_any_call():
    module = make_module({'region': 'cn-north-4', 'auth_token': 'tok', 'project_id': 'p',
                          'kps_endpoint': 'http://kps-emulator:8080'})
    with pytest.raises(Fail) as exc:
        run(module, lambda: module.kps)
    assert exc.value.args[0]['msg'].startswith('kps_endpoint is plain http:// to kps-emulator: ')
    assert module._http is None  # no client was even built


@pytest.mark.parametrize('name, content, needle', [
    ('missing.pem', None, 'ca_path {} does not exist.'),
    ('junk.pem', 'not a certificate', 'ca_path {} holds no usable PEM CA certificate'),
])
def test_bad_ca_path_is_a_clear_failure(tmp_path, name, content, needle):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    module = make_module({'ca_path': str(path), 'region': 'cn-north-4', 'auth_token': 'tok'})
    with pytest.raises(Fail) as exc:
        run(module, lambda: module.kps)
    assert exc.value.args[0]['msg'].startswith(needle.format(path)) and 'exception' not in exc.value.args[0]


def test_the_ca_bundle_is_loaded_only_when_an_endpoint_uses_tls(tmp_path, monkeypatch):
    """Loading a CA bundle costs about 15 ms per run. With plain http:// endpoints (loopback here) it is never used:
    a missing bundle, or one without a PEM block, still fails at once, but one that only breaks when loaded does
    not; with an https:// endpoint it fails the task before any call."""
    bundle = tmp_path / 'broken.pem'
    bundle.write_text('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n')
    args = {'kps_endpoint': 'http://127.0.0.1:9', 'iam_endpoint': 'http://127.0.0.1:9', 'project_id': 'p',
            'access_key': 'ak', 'secret_key': 'sk', 'ca_path': str(bundle)}
    module = make_module(args)
    assert run(module, lambda: dict(changed=False, base=module.kps.base))['base'] == 'http://127.0.0.1:9/v3/p'
    for changed, needle in (({'iam_endpoint': 'https://127.0.0.1:9'}, 'ca_path {} holds no usable PEM CA certificate'),
                            ({'ca_path': str(tmp_path / 'junk.pem')}, 'ca_path {} holds no usable PEM CA certificate'),
                            ({'ca_path': str(tmp_path / 'missing.pem')}, 'ca_path {} does not exist.')):
        (tmp_path / 'junk.pem').write_text('not a certificate\n')
        module = make_module(dict(args, **changed))
        with pytest.raises(Fail) as exc:
            run(module, lambda: module.kps)
        assert exc.value.args[0]['msg'] == needle.format(changed.get('ca_path', bundle)) + (
            ' Give the path of a PEM file of CA certificates.' if 'exist' in needle else
            ' (SSLError). Give the path of a PEM file of CA certificates.'), changed
