# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AK/SK signing: the official vectors, and byte-identity with huaweicloudsdkcore's Signer."""
from __future__ import annotations

import datetime
import json
from urllib.parse import quote

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import AkSkSigner
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import canonical_query

HOST = 'service.endpoint.myhuaweicloud.com'
DATE = '20200608T023900Z'


@pytest.mark.parametrize('method, body, signature', [
    ('GET', b'', 'cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842'),
    ('POST', b'{"name":"test","id":1}', '436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f'),
])
def test_official_vectors(method, body, signature):
    headers = AkSkSigner('AccessKey', 'SecretKey').sign(
        method, 'https://%s/resources?size=1' % HOST, {'TEST_UNDERSCORE': 'TEST_VALUE'}, body, sdk_date=DATE)
    assert headers['Authorization'] == (
        'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=%s' % signature)
    assert headers['X-Sdk-Date'] == DATE
    assert headers['Host'] == HOST
    assert headers['TEST_UNDERSCORE'] == 'TEST_VALUE'


def test_wrong_secret_changes_signature():
    good = AkSkSigner('AccessKey', 'SecretKey').sign('GET', 'https://%s/resources' % HOST, {}, b'', sdk_date=DATE)
    bad = AkSkSigner('AccessKey', 'SecretKez').sign('GET', 'https://%s/resources' % HOST, {}, b'', sdk_date=DATE)
    assert good['Authorization'] != bad['Authorization']


def _sdk_authorization(method, netloc, resource_path, query_params, headers, body, ak, sk,
                       project_id=None, security_token=None):
    credentials = BasicCredentials(ak, sk, project_id)
    if security_token:
        credentials = credentials.with_security_token(security_token)
    request = SdkRequest(method=method, schema='https', host=netloc, resource_path=resource_path,
                         query_params=list(query_params), header_params=dict(headers), body=body)
    signed = credentials.sign_request(request)
    return signed.header_params['Authorization'], signed.uri


def test_security_token_and_project_id_match_sdk():
    headers = {'X-Sdk-Date': DATE, 'Content-Type': 'application/json'}
    body = b'{"keypair":{"name":"k"}}'
    ours = AkSkSigner('AK', 'SK', security_token='tok', project_id='p1').sign(
        'POST', 'https://%s/v3/p1/keypairs' % HOST, {'Content-Type': 'application/json'}, body, sdk_date=DATE)
    sdk, _uri = _sdk_authorization('POST', HOST, '/v3/p1/keypairs', [], headers, body, 'AK', 'SK',
                                   project_id='p1', security_token='tok')
    assert ours['Authorization'] == sdk
    assert 'x-project-id' in sdk and 'x-security-token' in sdk
    assert ours['X-Project-Id'] == 'p1' and ours['X-Security-Token'] == 'tok'


def test_stale_date_and_authorization_are_replaced():
    clock = iter([datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)])
    signer = AkSkSigner('AK', 'SK', clock=lambda: next(clock))
    out = signer.sign('GET', 'https://%s/x' % HOST, {'x-sdk-date': '20000101T000000Z', 'authorization': 'old'}, b'')
    assert out['X-Sdk-Date'] == '20240102T030405Z'
    assert 'x-sdk-date' not in out and 'authorization' not in out
    assert out['Authorization'].startswith('SDK-HMAC-SHA256 Access=AK, ')


# --- property test against the SDK -------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec='utf-8', exclude_categories=('Cs', 'Cc')), max_size=12)
_segment = st.one_of(
    st.sampled_from(['keypairs', 'v3', 'a b', 'x~y', 'a+b', 'pct%41', 'e\u00e9', '\u4e2d\u6587', 'semi;colon',
                     'q?x', 'hash#', 'amp&', 'eq=', '@', "'quote'", '*star*', '!']),
    _text.filter(lambda s: s not in ('.', '..')),
)
_header_name = st.from_regex(r'\A[A-Za-z][A-Za-z0-9_-]{0,15}\Z').filter(
    lambda n: n.lower() not in ('host', 'x-sdk-date', 'authorization', 'content-type', 'x-sdk-content-sha256'))
_header_value = st.text(alphabet=st.characters(codec='utf-8', exclude_categories=('Cs', 'Cc')), max_size=20)
_body = st.one_of(
    st.just(b''),
    st.binary(max_size=64),
    st.dictionaries(_text, st.one_of(_text, st.integers()), max_size=3).map(
        lambda d: json.dumps(d, ensure_ascii=False).encode('utf-8')),
    st.sampled_from([b'[{"keypair":{"name":"a"}}]', '{"n":"\u00e9\u4e2d"}'.encode('utf-8')]),
)


@st.composite
def requests_(draw):
    method = draw(st.sampled_from(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'get', 'post']))
    segments = draw(st.lists(_segment, min_size=0, max_size=4))
    resource_path = '/' + '/'.join(quote(s, safe='') for s in segments)
    if draw(st.booleans()) and not resource_path.endswith('/'):
        resource_path += '/'
    keys = st.one_of(st.sampled_from(['limit', 'marker', 'name', 'a b', 'x~y', 'k']), _text.filter(bool))
    query = draw(st.lists(st.tuples(keys, st.one_of(_text, st.sampled_from(['a b', '~x', '1', ''])).filter(
        lambda v: True)), max_size=5))
    headers = {}
    for name, value in draw(st.lists(st.tuples(_header_name, _header_value), max_size=5)):
        if name.lower() not in {n.lower() for n in headers}:
            headers[name] = value
    if draw(st.booleans()):
        content_types = ['application/json', 'application/json;charset=UTF-8', 'application/octet-stream', 'text/plain']
        headers['Content-Type'] = draw(st.sampled_from(content_types))
    port = draw(st.sampled_from(['', ':8443', ':443']))
    body = draw(_body)
    ak = draw(st.from_regex(r'\A[A-Z0-9]{4,20}\Z'))
    sk = draw(st.text(alphabet=st.characters(codec='utf-8', exclude_categories=('Cs',)), min_size=1, max_size=40))
    return method, HOST + port, resource_path, query, headers, body, ak, sk


@settings(max_examples=600, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(requests_())
def test_signature_matches_sdk(case):
    method, netloc, resource_path, query, headers, body, ak, sk = case
    sdk_headers = dict(headers, **{'X-Sdk-Date': DATE})
    expected, sdk_uri = _sdk_authorization(method, netloc, resource_path, query, sdk_headers, body, ak, sk)

    # The URL we send: the path as built, the query in canonical form (what the SDK sends too).
    url = 'https://%s%s' % (netloc, resource_path)
    qs = canonical_query(query)
    if qs:
        url += '?' + qs
    assert sdk_uri == resource_path + ('?' + qs if qs else '')
    ours = AkSkSigner(ak, sk).sign(method, url, headers, body, sdk_date=DATE)
    assert ours['Authorization'] == expected
