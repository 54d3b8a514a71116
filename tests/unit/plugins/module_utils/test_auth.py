# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credential resolution (precedence, clear errors without secrets), login, project id lookup."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import (
    ENV_VARS,
    AkSkSigner,
    CredentialError,
    PasswordAuth,
    TokenAuth,
    connect,
    insecure_endpoints,
    resolve_credentials,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import (
    HttpClient,
    HuaweiCloudError,
    forget_secrets,
    scrub,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import COMMON_ARGSPEC
from ansible_collections.huaweicloud.kps.tests.unit.plugins.module_utils.http_stub import reply, stub_session

SECRETS = {'secret_key': 'SK-SECRET-VALUE', 'security_token': 'STS-SECRET-VALUE', 'auth_token': 'TOKEN-SECRET-VALUE',
           'user_password': 'PASSWORD-SECRET-VALUE'}
ALL_ENV = [name for names in ENV_VARS.values() for name in names] + ['HW_INSECURE']


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)


def params_for(task):
    """Run the real argument spec (env fallbacks included) over task options."""
    result = ArgumentSpecValidator(COMMON_ARGSPEC).validate(dict(task))
    assert not result.error_messages
    return result.validated_parameters


def resolve(task):
    return resolve_credentials(params_for(task))


def test_precedence_task_then_hw_then_sdk(monkeypatch):
    monkeypatch.setenv('HUAWEICLOUD_SDK_AK', 'sdk-ak')
    monkeypatch.setenv('HUAWEICLOUD_SDK_SK', 'sdk-sk')
    monkeypatch.setenv('HUAWEICLOUD_SDK_PROJECT_ID', 'sdk-project')
    monkeypatch.setenv('HW_REGION_NAME', 'cn-north-4')
    creds = resolve({})
    assert (creds.access_key, creds.secret_key, creds.project_id) == ('sdk-ak', 'sdk-sk', 'sdk-project')
    monkeypatch.setenv('HW_ACCESS_KEY', 'hw-ak')
    monkeypatch.setenv('HW_SECRET_KEY', 'hw-sk')
    monkeypatch.setenv('HW_PROJECT_ID', 'hw-project')
    creds = resolve({})
    assert (creds.access_key, creds.secret_key, creds.project_id) == ('hw-ak', 'hw-sk', 'hw-project')
    creds = resolve({'access_key': 'task-ak', 'secret_key': 'task-sk', 'project_id': 'task-project'})
    assert (creds.access_key, creds.secret_key, creds.project_id) == ('task-ak', 'task-sk', 'task-project')
    assert creds.method == 'aksk'


def test_env_fallback_values_are_marked_no_log(monkeypatch):
    monkeypatch.setenv('HW_SECRET_KEY', 'hw-sk-value')
    result = ArgumentSpecValidator(COMMON_ARGSPEC).validate({})
    assert 'hw-sk-value' in result._no_log_values


def test_no_log_settings():
    for name in ('secret_key', 'security_token', 'auth_token', 'user_password'):
        assert COMMON_ARGSPEC[name]['no_log'] is True
    assert COMMON_ARGSPEC['access_key']['no_log'] is False


def test_endpoints_default_and_override(monkeypatch):
    creds = resolve({'region': 'eu-west-101', 'cloud': 'myhuaweicloud.eu', 'auth_token': 't'})
    assert creds.kps_endpoint == 'https://kms.eu-west-101.myhuaweicloud.eu'
    assert creds.iam_endpoint == 'https://iam.eu-west-101.myhuaweicloud.eu'
    monkeypatch.setenv('HW_KPS_ENDPOINT', 'http://127.0.0.1:8080/')
    monkeypatch.setenv('HW_IAM_ENDPOINT', 'http://127.0.0.1:8080')
    creds = resolve({'region': 'cn-north-4', 'auth_token': 't'})
    assert (creds.kps_endpoint, creds.iam_endpoint) == ('http://127.0.0.1:8080', 'http://127.0.0.1:8080')
    monkeypatch.delenv('HW_IAM_ENDPOINT')
    creds = resolve({'kps_endpoint': 'https://kms.example', 'project_id': 'p', 'auth_token': 't'})
    assert creds.region is None and creds.iam_endpoint is None


@pytest.mark.parametrize('task, method', [
    ({'access_key': 'a', 'secret_key': 's', 'security_token': 't'}, 'aksk'),
    ({'auth_token': 't'}, 'token'),
    ({'user_name': 'u', 'user_password': 'p', 'domain_name': 'd'}, 'password'),
])
def test_methods(task, method):
    assert resolve(dict(task, region='cn-north-4')).method == method


@pytest.mark.parametrize('task, needles', [
    ({}, ['No Huawei Cloud credentials', 'no credential options']),
    ({'access_key': 'a'}, ['needs secret_key', 'Found: access_key.']),
    ({'secret_key': SECRETS['secret_key']}, ['needs access_key', 'Found: secret_key.']),
    ({'security_token': SECRETS['security_token']}, ['needs access_key and secret_key']),
    ({'user_name': 'u', 'user_password': SECRETS['user_password']}, ['needs domain_name']),
    ({'user_name': 'u'}, ['needs user_password and domain_name']),
    ({'access_key': 'a', 'secret_key': SECRETS['secret_key'], 'auth_token': SECRETS['auth_token']},
     ['more than one authentication method', 'access_key/secret_key and auth_token',
      'Found: access_key, secret_key, auth_token.']),
    ({'auth_token': SECRETS['auth_token'], 'user_name': 'u', 'user_password': SECRETS['user_password'],
      'domain_name': 'd'}, ['auth_token and user_name/user_password']),
])
def test_missing_or_contradictory_credentials(task, needles):
    with pytest.raises(CredentialError) as exc:
        resolve(dict(task, region='cn-north-4'))
    text = str(exc.value)
    for needle in needles:
        assert needle in text
    assert 'HW_ACCESS_KEY' in text and 'HW_AUTH_TOKEN' in text and 'HW_USER_NAME' in text
    for secret in SECRETS.values():
        assert secret not in text


def test_contradiction_from_environment_is_reported(monkeypatch):
    monkeypatch.setenv('HW_ACCESS_KEY', 'a')
    monkeypatch.setenv('HW_SECRET_KEY', SECRETS['secret_key'])
    with pytest.raises(CredentialError) as exc:
        resolve({'region': 'r', 'auth_token': SECRETS['auth_token']})
    assert 'environment variables on the host that runs the module' in str(exc.value)
    assert SECRETS['secret_key'] not in str(exc.value)


def test_region_required_unless_endpoint_and_project():
    with pytest.raises(CredentialError) as exc:
        resolve({'auth_token': 't'})
    assert 'region is required' in str(exc.value) and 'HW_REGION_NAME' in str(exc.value)
    with pytest.raises(CredentialError):
        resolve({'auth_token': 't', 'kps_endpoint': 'https://x'})


@pytest.mark.parametrize('endpoint', ['kms.example.com', 'ftp://x', 'https://x/?a=1', 'https://'])
def test_bad_endpoints(endpoint):
    with pytest.raises(CredentialError) as exc:
        resolve({'region': 'r', 'auth_token': 't', 'kps_endpoint': endpoint})
    assert 'kps_endpoint' in str(exc.value)


def test_reprs_hide_secrets():
    creds = resolve({'region': 'r', 'access_key': 'AKID', 'secret_key': SECRETS['secret_key'],
                     'security_token': SECRETS['security_token']})
    signer = AkSkSigner('AKID', SECRETS['secret_key'], SECRETS['security_token'])
    text = repr(creds) + repr(signer) + repr(TokenAuth(SECRETS['auth_token'])) + repr(
        PasswordAuth(None, 'https://iam', 'u', SECRETS['user_password'], 'd'))
    for secret in SECRETS.values():
        assert secret not in text


# --- connect(): login and project id lookup over the HTTP client -------------------------------------------

IAM = 'https://iam.cn-north-4.myhuaweicloud.com'


def http_with(script):
    session, adapter = stub_session(script)
    return HttpClient(session=session, sleep=lambda s: None), adapter


def test_aksk_project_lookup_is_signed_without_project_header():
    http, adapter = http_with([reply(200, {'projects': [{'id': 'pid-1', 'name': 'cn-north-4'}]})])
    creds = resolve({'region': 'cn-north-4', 'access_key': 'AK', 'secret_key': 'SK'})
    auth, project_id = connect(http, creds)
    assert project_id == 'pid-1' and isinstance(auth, AkSkSigner) and http.auth is auth
    sent = adapter.sent[0]
    assert sent['url'] == IAM + '/v3/projects?name=cn-north-4'
    assert 'X-Project-Id' not in sent['headers'] and 'Authorization' in sent['headers']
    assert auth.sign('GET', 'https://kms/x', {}, b'')['X-Project-Id'] == 'pid-1'


def test_given_project_id_skips_lookup():
    http, adapter = http_with([])
    creds = resolve({'region': 'cn-north-4', 'access_key': 'AK', 'secret_key': 'SK', 'project_id': 'given'})
    assert connect(http, creds)[1] == 'given' and adapter.sent == []


@pytest.mark.parametrize('projects, needle', [
    ([], 'found no projects'),
    ([{'id': '1', 'name': 'cn-north-4'}, {'id': '2', 'name': 'cn-north-4'}], 'found 2 projects'),
    ([{'id': '1', 'name': 'cn-north-4_sub'}], 'found no projects'),
])
def test_project_lookup_needs_exactly_one_match(projects, needle):
    http, _adapter = http_with([reply(200, {'projects': projects})])
    creds = resolve({'region': 'cn-north-4', 'auth_token': 'tok'})
    with pytest.raises(CredentialError) as exc:
        connect(http, creds)
    assert needle in str(exc.value) and 'project_id' in str(exc.value) and 'HW_PROJECT_ID' in str(exc.value)


def test_token_auth_lookup_uses_the_token():
    http, adapter = http_with([reply(200, {'projects': [{'id': 'pid', 'name': 'cn-north-4'}]})])
    auth, project_id = connect(http, resolve({'region': 'cn-north-4', 'auth_token': 'tok'}))
    assert project_id == 'pid' and adapter.sent[0]['headers']['X-Auth-Token'] == 'tok'
    assert 'Authorization' not in adapter.sent[0]['headers']


def test_password_login():
    http, adapter = http_with([reply(201, {'token': {'project': {'id': 'pid-from-token'}}},
                                     headers={'X-Subject-Token': 'subject-token'})])
    creds = resolve({'region': 'cn-north-4', 'user_name': 'u', 'user_password': 'pw', 'domain_name': 'dom'})
    auth, project_id = connect(http, creds)
    assert project_id == 'pid-from-token'
    sent = adapter.sent[0]
    assert sent['url'] == IAM + '/v3/auth/tokens' and sent['method'] == 'POST'
    assert 'X-Auth-Token' not in sent['headers'] and 'Authorization' not in sent['headers']
    assert json.loads(sent['body']) == {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {'domain': {'name': 'dom'}, 'name': 'u',
                                                                    'password': 'pw'}}},
        'scope': {'project': {'name': 'cn-north-4'}}}}
    assert auth.apply('GET', 'https://kms/x', {}, b'')['X-Auth-Token'] == 'subject-token'


def test_password_login_with_project_id_scopes_by_id():
    http, adapter = http_with([reply(201, {'token': {}}, headers={'X-Subject-Token': 't'})])
    creds = resolve({'region': 'cn-north-4', 'project_id': 'p9', 'user_name': 'u', 'user_password': 'pw',
                     'domain_name': 'd'})
    assert connect(http, creds)[1] == 'p9'
    assert json.loads(adapter.sent[0]['body'])['auth']['scope'] == {'project': {'id': 'p9'}}


def test_wrong_password_is_not_retried_nor_leaked():
    http, adapter = http_with([reply(401, {'error': {'code': 401, 'message': 'The username or password is wrong.'}})])
    creds = resolve({'region': 'cn-north-4', 'user_name': 'u', 'user_password': SECRETS['user_password'],
                     'domain_name': 'd'})
    with pytest.raises(HuaweiCloudError) as exc:
        connect(http, creds)
    assert len(adapter.sent) == 1
    assert str(exc.value).startswith("IAM call 'get IAM token' failed: HTTP 401")
    assert SECRETS['user_password'] not in str(exc.value)


def test_login_without_subject_token_header():
    http, _adapter = http_with([reply(201, {'token': {}})])
    creds = resolve({'region': 'cn-north-4', 'user_name': 'u', 'user_password': 'pw', 'domain_name': 'd'})
    with pytest.raises(HuaweiCloudError) as exc:
        connect(http, creds)
    assert 'X-Subject-Token' in str(exc.value)


def test_expired_token_relogin_end_to_end():
    http, adapter = http_with([
        reply(201, {'token': {'project': {'id': 'p'}}}, headers={'X-Subject-Token': 't1'}),
        reply(401, {'error_code': 'APIGW.0307', 'error_msg': 'The token must be updated.'}),
        reply(201, {'token': {'project': {'id': 'p'}}}, headers={'X-Subject-Token': 't2'}),
        reply(200, {'keypair': {'name': 'a'}})])
    connect(http, resolve({'region': 'cn-north-4', 'user_name': 'u', 'user_password': 'pw', 'domain_name': 'd'}))
    assert http.request('show key pair', 'GET', 'https://kms/v3/p/keypairs/a') == {'keypair': {'name': 'a'}}
    assert [s['headers'].get('X-Auth-Token') for s in adapter.sent] == [None, 't1', None, 't2']


# --- region, cloud and endpoints are checked before any URL is built ---------------------------------------

@pytest.mark.parametrize('option, value', [
    ('region', 'x.myhuaweicloud.com@other.host:443/y'), ('region', '-cn-north-4'), ('region', '.cn'),
    ('region', 'cn north 4'), ('region', 'cn-north-4/../x'), ('region', 'cn-north-4?a'), ('region', 'cn_north_4'),
    ('cloud', 'evil.host#'), ('cloud', '.myhuaweicloud.com'), ('cloud', 'myhuaweicloud.com:8443'),
    ('cloud', 'a@b'),
])
def test_bad_region_or_cloud_is_refused_naming_the_option(option, value):
    task = {'region': 'cn-north-4', 'auth_token': 't'}
    task[option] = value
    with pytest.raises(CredentialError) as exc:
        resolve(task)
    assert str(exc.value).startswith('%s %r is not valid: it may only hold letters, digits, dots and dashes, and '
                                     'must not start with a dot or a dash' % (option, value))


@pytest.mark.parametrize('region, cloud', [('cn-north-4', 'myhuaweicloud.com'), ('ap-southeast-1', 'myhuaweicloud.eu'),
                                           ('la-north-2', 'huaweicloud.com'), ('eu-west-101', 'myhuaweicloud.eu')])
def test_real_regions_and_clouds_pass(region, cloud):
    creds = resolve({'region': region, 'cloud': cloud, 'auth_token': 't'})
    assert creds.kps_endpoint == 'https://kms.%s.%s' % (region, cloud)


@pytest.mark.parametrize('endpoint', ['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080',
                                      'http://127.1.2.3', 'https://kms.example.com'])
def test_loopback_http_and_https_need_no_setting(endpoint):
    creds = resolve({'region': 'r', 'auth_token': 't', 'kps_endpoint': endpoint, 'iam_endpoint': endpoint})
    assert creds.kps_endpoint == endpoint and insecure_endpoints(creds) == []


@pytest.mark.parametrize('option', ['kps_endpoint', 'iam_endpoint'])
@pytest.mark.parametrize('endpoint', ['http://kms.cn-north-4.myhuaweicloud.com', 'http://10.0.0.5:8080',
                                      'http://localhost.evil.example', 'http://127.0.0.1.nip.io'])
def test_plain_http_elsewhere_needs_allow_insecure_http(option, endpoint):
    task = {'region': 'r', 'auth_token': 't', option: endpoint}
    with pytest.raises(CredentialError) as exc:
        resolve(task)
    assert str(exc.value) == (
        '%s is plain http:// to %s: credentials and private keys would cross the network unencrypted. Use '
        'https://, or set allow_insecure_http=true if this really is a test endpoint.' % (option, endpoint.split('//')[1].split(':')[0]))
    creds = resolve(dict(task, allow_insecure_http=True))
    assert getattr(creds, option) == endpoint and insecure_endpoints(creds) == [option]


@pytest.mark.parametrize('endpoint', ['http://10.1.2.3:8080\\[::1]', 'http://127.0.0.1:8080\\@10.1.2.3',
                                      'http://127.0.0.1 .evil.example', 'http://127.0.0.1\t:8080'])
def test_endpoint_that_parsers_read_differently_is_refused(endpoint):
    """urlsplit reads ::1 out of the first one, requests connects to 10.1.2.3 (and sends the IAM password there)."""
    for insecure in (False, True):
        with pytest.raises(CredentialError) as exc:
            resolve({'region': 'r', 'auth_token': 't', 'iam_endpoint': endpoint, 'allow_insecure_http': insecure})
        assert str(exc.value) == (
            'iam_endpoint must be a plain URL like https://host[:port]; it holds a backslash, white space or a '
            'control character, which URL parsers read differently: %r.' % endpoint)


@pytest.mark.parametrize('endpoint, hosts', [('http://\uff4cocalhost:8080', 'nothing and \uff4cocalhost')])
def test_endpoint_whose_host_parsers_disagree_on_is_refused(endpoint, hosts):
    with pytest.raises(CredentialError) as exc:
        resolve({'region': 'r', 'auth_token': 't', 'kps_endpoint': endpoint})
    assert str(exc.value) == ('kps_endpoint "%s" does not name one host: URL parsers read it as %s. Give a plain URL '
                              'like https://host[:port].' % (endpoint, hosts))


@pytest.mark.parametrize('endpoint', ['http://127.0.0.1:99999', 'http://127.0.0.1:port', 'http://[::1'])
def test_endpoint_with_a_bad_port_or_address_is_refused(endpoint):
    with pytest.raises(CredentialError) as exc:
        resolve({'region': 'r', 'auth_token': 't', 'kps_endpoint': endpoint})
    assert str(exc.value) == 'kps_endpoint must be a URL like https://host[:port], got "%s".' % endpoint


def test_endpoint_with_user_info_is_refused():
    with pytest.raises(CredentialError) as exc:
        resolve({'region': 'r', 'auth_token': 't', 'kps_endpoint': 'https://user:pw@kms.example.com'})
    assert str(exc.value) == 'kps_endpoint must not contain a user name or password (user@host).'


def test_no_project_for_the_region_says_to_check_the_region():
    http, _adapter = http_with([reply(200, {'projects': []})])
    with pytest.raises(CredentialError) as exc:
        connect(http, resolve({'region': 'cn-nrth-4', 'auth_token': 'tok'}))
    assert str(exc.value) == (
        'Looking up the project id of region "cn-nrth-4" through IAM found no projects with that name. Check that '
        'region [HW_REGION_NAME] is spelt right (for example cn-north-4), or set project_id [HW_PROJECT_ID].')


def test_login_token_becomes_a_secret_of_the_task():
    forget_secrets()
    try:
        http, _adapter = http_with([reply(201, {'token': {'project': {'id': 'p'}}},
                                          headers={'X-Subject-Token': 'MIIsubject-token-value-0123456789'})])
        connect(http, resolve({'region': 'cn-north-4', 'user_name': 'u', 'user_password': 'pw', 'domain_name': 'd'}))
        assert scrub('echo MIIsubject-token-value-0123456789') == 'echo [secret removed]'
    finally:
        forget_secrets()
