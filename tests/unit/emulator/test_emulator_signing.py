# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's own SDK-HMAC-SHA256 code against the official test vectors and the official SDK signer."""
from __future__ import annotations

import datetime

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import given, settings
from hypothesis import strategies as st

from kps_emulator import sigv
from kps_emulator.server import ApiError, Emulator

HOST = 'service.endpoint.myhuaweicloud.com'
DATE = '20200608T023900Z'
GET_SIGNATURE = 'cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842'
POST_SIGNATURE = '436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f'
POST_BODY = b'{"name":"test","id":1}'


@pytest.mark.parametrize('method, body, expected', [('GET', b'', GET_SIGNATURE), ('POST', POST_BODY, POST_SIGNATURE)])
def test_official_vectors_client_side(method, body, expected):
    headers = sigv.sign(method, 'https://%s/resources?size=1' % HOST, {'X-Sdk-Date': DATE, 'TEST_UNDERSCORE': 'TEST_VALUE'},
                        body, 'AccessKey', 'SecretKey')
    assert headers['Authorization'] == 'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=' + expected


def _emulator_at(date, **options):
    emulator = Emulator(state_file=None, **options)
    emulator.skew = sigv.parse_date(date).timestamp() - datetime.datetime.now(datetime.timezone.utc).timestamp()
    return emulator


@pytest.mark.parametrize('method, body, expected', [('GET', b'', GET_SIGNATURE), ('POST', POST_BODY, POST_SIGNATURE)])
def test_official_vectors_verified(method, body, expected):
    emulator = _emulator_at(DATE, access_key='AccessKey', secret_key='SecretKey')
    headers = {'host': HOST, 'x-sdk-date': DATE, 'test_underscore': 'TEST_VALUE',
               'authorization': 'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=' + expected}
    assert emulator._check_signature(method, '/resources', 'size=1', headers, body) == 'aksk'
    headers['authorization'] = headers['authorization'][:-1] + ('0' if expected[-1] != '0' else '1')
    with pytest.raises(ApiError) as err:
        emulator._check_signature(method, '/resources', 'size=1', headers, body)
    assert (err.value.status, err.value.code) == (401, 'APIGW.0301')


def _sdk_sign(method, path, query, headers, body):
    request = SdkRequest(method=method, schema='http', host='127.0.0.1:8080', resource_path=path,
                         query_params=list(query), header_params=dict(headers), body=body)
    return Signer(BasicCredentials('AK', 'SK')).sign(request)


segment = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters='/?#%'), min_size=1,
                  max_size=12)
params = st.lists(st.tuples(st.text(alphabet='abcxyz_-.~ ', min_size=1, max_size=5),
                            st.text(alphabet='ab=&+ /~é', max_size=6)), max_size=4, unique_by=lambda kv: kv[0])


@settings(max_examples=60, deadline=None)
@given(method=st.sampled_from(['GET', 'POST', 'PUT', 'DELETE']), segments=st.lists(segment, min_size=1, max_size=4),
       query=params, body=st.binary(max_size=40))
def test_verifier_accepts_what_the_sdk_signs(method, segments, query, body):
    from urllib.parse import quote, urlencode
    path = '/' + '/'.join(quote(part, safe='') for part in segments)
    signed = _sdk_sign(method, path, query, {'X-Sdk-Date': DATE, 'Content-Type': 'application/json'}, body)
    raw_query = urlencode(query, quote_via=quote)
    headers = {name.lower(): value for name, value in signed.header_params.items()}
    emulator = _emulator_at(DATE, access_key='AK', secret_key='SK')
    assert emulator._check_signature(method, path, raw_query, headers, body) == 'aksk'


def test_clock_window():
    emulator = _emulator_at(DATE, access_key='AK', secret_key='SK')
    for offset, ok in ((-14 * 60, True), (14 * 60, True), (-16 * 60, False), (16 * 60, False)):
        when = sigv.parse_date(DATE) + datetime.timedelta(seconds=offset)
        signed = _sdk_sign('GET', '/x', [], {'X-Sdk-Date': sigv.format_date(when)}, b'')
        headers = {name.lower(): value for name, value in signed.header_params.items()}
        if ok:
            assert emulator._check_signature('GET', '/x', '', headers, b'') == 'aksk'
        else:
            with pytest.raises(ApiError, match='15 minutes'):
                emulator._check_signature('GET', '/x', '', headers, b'')


def test_host_and_date_must_be_signed():
    emulator = _emulator_at(DATE, access_key='AK', secret_key='SK')
    headers = {'host': '127.0.0.1', 'x-sdk-date': DATE}
    canonical = sigv.canonical_request('GET', '/x', '', headers, ['x-sdk-date'], sigv.body_hash(b''))
    headers['authorization'] = 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=' + sigv.signature(
        'SK', DATE, canonical)
    with pytest.raises(ApiError, match='host and x-sdk-date'):
        emulator._check_signature('GET', '/x', '', headers, b'')
