# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KpsClient calls and the batch-export archive parser (hostile archives included)."""
from __future__ import annotations

import io
import warnings
import zipfile

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HttpResponse, HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import fingerprint
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    MAX_KEY_BYTES,
    KpsClient,
    KpsZipError,
    parse_batch_export_zip,
)

from kps_test_keys import pem, public_line

ENDPOINT = 'https://kms.cn-north-4.myhuaweicloud.com'


class FakeHttp(object):
    """Records calls; answers with scripted values (an exception is raised)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def _next(self):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def request(self, call, method, url, json=None, params=None, expect='json', **kwargs):
        self.calls.append(dict(call=call, method=method, url=url, json=json, params=params, expect=expect, **kwargs))
        return self._next()

    def send(self, call, method, url, json=None, params=None, expect='json', **kwargs):
        self.calls.append(dict(call=call, method=method, url=url, json=json, params=params, expect=expect, **kwargs))
        data = self._next()
        return HttpResponse(200, {}, data, data, 'rid-zip')


def make_zip(entries, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # duplicate names on purpose
        with zipfile.ZipFile(buffer, 'w', compression) as archive:
            for name, content in entries:
                info = zipfile.ZipInfo(name) if isinstance(name, str) else name
                archive.writestr(info, content, compress_type=compression)
    return buffer.getvalue()


def kp(name, kind, with_public=True):
    item = {'name': name, 'fingerprint': fingerprint(public_line(kind))}
    if with_public:
        item['public_key'] = public_line(kind) + ' kps-comment\n'
    return item


A, B = kp('alpha', 'rsa'), kp('beta', 'ed25519')


# --- archive parsing --------------------------------------------------------------------------------------

def test_entries_are_matched_by_key_not_by_file_name():
    # File names swapped on purpose: alpha.pem holds beta's key.
    data = make_zip([('alpha.pem', pem('ed25519')), ('beta.pem', pem('rsa', 'traditional'))])
    result = parse_batch_export_zip(data, [A, B])
    assert result == {'alpha': pem('rsa', 'traditional').encode(), 'beta': pem('ed25519').encode()}


def test_fingerprint_fallback_and_directories():
    data = make_zip([('keys/', b''), ('keys/x.pem', pem('ec256', 'traditional'))], zipfile.ZIP_DEFLATED)
    result = parse_batch_export_zip(data, [kp('ec', 'ec256', with_public=False)])
    assert result == {'ec': pem('ec256', 'traditional').encode()}


def test_two_key_pairs_with_the_same_public_key():
    data = make_zip([('1.pem', pem('rsa')), ('2.pem', pem('rsa', 'traditional'))])
    result = parse_batch_export_zip(data, [kp('one', 'rsa'), kp('two', 'rsa')])
    assert sorted(result) == ['one', 'two']


@pytest.mark.parametrize('name', ['../evil.pem', '/etc/evil.pem', 'a/../../evil.pem', '..\\evil.pem',
                                  'C:evil.pem', 'a\\b.pem', 'a//b.pem', './a.pem'])
def test_unsafe_names_are_rejected(name):
    data = make_zip([(name, pem('rsa'))])
    with pytest.raises(KpsZipError) as exc:
        parse_batch_export_zip(data, [A])
    assert 'unsafe name' in str(exc.value)


def test_duplicate_entries_are_rejected():
    data = make_zip([('a.pem', pem('rsa')), ('a.pem', pem('ed25519'))])
    with pytest.raises(KpsZipError) as exc:
        parse_batch_export_zip(data, [A, B])
    assert 'twice' in str(exc.value)


def test_zip_bomb_is_capped():
    data = make_zip([('alpha.pem', b'\0' * (MAX_KEY_BYTES * 4))], zipfile.ZIP_DEFLATED)
    assert len(data) < 20000
    with pytest.raises(KpsZipError) as exc:
        parse_batch_export_zip(data, [A])
    assert 'larger than any private key' in str(exc.value)


def test_many_entries_are_rejected():
    data = make_zip([('%d.pem' % i, b'x') for i in range(20)])
    with pytest.raises(KpsZipError):
        parse_batch_export_zip(data, [A])


@pytest.mark.parametrize('damage', ['truncate', 'corrupt', 'empty', 'garbage'])
def test_damaged_archives(damage):
    data = make_zip([('alpha.pem', pem('rsa')), ('beta.pem', pem('ed25519'))])
    if damage == 'truncate':
        data = data[:len(data) // 2]
    elif damage == 'corrupt':
        middle = len(data) // 4
        data = data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 32]) + data[middle + 32:]
    elif damage == 'empty':
        data = b''
    else:
        data = b'<html>oops</html>'
    with pytest.raises(KpsZipError) as exc:
        parse_batch_export_zip(data, [A, B], request_id='rid-7')
    text = str(exc.value)
    assert text.startswith("KPS call 'batch export' failed: ")
    assert 'PRIVATE KEY' not in text and 'MII' not in text
    assert exc.value.request_id == 'rid-7'


def test_missing_key_is_an_error():
    data = make_zip([('alpha.pem', pem('rsa'))])
    with pytest.raises(KpsZipError) as exc:
        parse_batch_export_zip(data, [A, B])
    assert 'lacks the private key of beta' in str(exc.value)


def test_unexpected_entry_is_an_error():
    data = make_zip([('alpha.pem', pem('rsa')), ('other.pem', pem('ec384'))])
    with pytest.raises(KpsZipError) as exc:
        parse_batch_export_zip(data, [A])
    assert "'other.pem'" in str(exc.value) and 'matches no requested key pair' in str(exc.value)


def test_entry_that_is_not_a_key():
    data = make_zip([('alpha.pem', b'hello')])
    with pytest.raises(KpsZipError) as exc:
        parse_batch_export_zip(data, [A])
    assert 'not an unencrypted private key' in str(exc.value)


def test_encrypted_entry_flag_is_rejected():
    data = bytearray(make_zip([('alpha.pem', pem('rsa'))]))
    # zipfile will not write an encrypted entry: set the flag bit in both headers by hand.
    data[data.index(b'PK\x03\x04') + 6] |= 0x1
    data[data.index(b'PK\x01\x02') + 8] |= 0x1
    data = bytes(data)
    with pytest.raises(KpsZipError) as exc:
        parse_batch_export_zip(data, [A])
    assert 'encrypted' in str(exc.value)


# --- client calls ----------------------------------------------------------------------------------------

def test_show_keypair_and_not_found():
    http = FakeHttp({'keypair': {'name': 'a b', 'public_key': 'ssh-rsa AAA'}},
                    HuaweiCloudError('show key pair', status=400, error_code='KPS.6004'),
                    HuaweiCloudError('show key pair', status=400, error_code='KPS.4016'),
                    HuaweiCloudError('show key pair', status=404),
                    HuaweiCloudError('show key pair', status=403, error_code='KPS.6009'))
    client = KpsClient(http, ENDPOINT + '/', 'p1')
    assert client.show_keypair('a b')['name'] == 'a b'
    assert http.calls[0]['url'] == ENDPOINT + '/v3/p1/keypairs/a%20b'
    assert http.calls[0]['method'] == 'GET'
    assert client.show_keypair('x') is None
    assert client.show_keypair('x') is None
    assert client.show_keypair('x') is None
    with pytest.raises(HuaweiCloudError):
        client.show_keypair('x')


def test_list_keypairs_follows_markers():
    http = FakeHttp(
        {'keypairs': [{'keypair': {'name': 'a'}}, {'keypair': {'name': 'b'}}], 'page_info': {'next_marker': 'b'}},
        {'keypairs': [{'keypair': {'name': 'c'}}], 'page_info': {'next_marker': 'c'}},
        {'keypairs': [], 'page_info': {'next_marker': ''}})
    names = [k['name'] for k in KpsClient(http, ENDPOINT, 'p1').list_keypairs()]
    assert names == ['a', 'b', 'c']
    assert [c['params'] for c in http.calls] == [
        {'limit': 50, 'marker': None}, {'limit': 50, 'marker': 'b'}, {'limit': 50, 'marker': 'c'}]


def test_find_keypairs_shows_one_name_and_lists_otherwise():
    pages = ({'keypairs': [{'keypair': {'name': 'a'}}, {'keypair': {'name': 'b'}}], 'page_info': {'next_marker': 'b'}},
             {'keypairs': [{'keypair': {'name': 'c'}}], 'page_info': {'next_marker': None}})
    http = FakeHttp({'keypair': {'name': 'a'}}, HuaweiCloudError('show key pair', status=400, error_code='KPS.6004'),
                    *(pages + pages))
    client = KpsClient(http, ENDPOINT, 'p1')
    assert client.find_keypairs(['a']) == {'a': {'name': 'a'}}
    assert client.find_keypairs(['zz']) == {}
    assert [c['call'] for c in http.calls] == ['show key pair'] * 2
    assert sorted(client.find_keypairs(['c', 'a', 'zz'])) == ['a', 'c']  # one listing, all its pages
    assert sorted(client.find_keypairs()) == ['a', 'b', 'c']  # None: every key pair
    assert [c['call'] for c in http.calls[2:]] == ['list key pairs'] * 4


def test_create_keypair_bodies():
    http = FakeHttp({'keypair': {'name': 'a'}}, {'keypair': {'name': 'b'}})
    client = KpsClient(http, ENDPOINT, 'p1')
    client.create_keypair('a', public_key='ssh-rsa AAA', encryption_type='kms', kms_key_name='kps/default')
    assert http.calls[0]['json'] == {'keypair': {'name': 'a', 'type': 'ssh', 'public_key': 'ssh-rsa AAA'}}
    assert http.calls[0]['idempotent'] is False
    client.create_keypair('b', public_key='ssh-rsa AAA', private_key='PEM', encryption_type='kms',
                          kms_key_id='id-1', user_id='u1')
    assert http.calls[1]['json'] == {'keypair': {
        'name': 'b', 'type': 'ssh', 'public_key': 'ssh-rsa AAA', 'user_id': 'u1',
        'key_protection': {'private_key': 'PEM', 'encryption': {'type': 'kms', 'kms_key_id': 'id-1'}}}}
    assert http.calls[1]['url'] == ENDPOINT + '/v3/p1/keypairs'


def test_import_and_export():
    http = FakeHttp({'keypair': {'name': 'a'}}, {'keypair': {'name': 'a', 'private_key': 'PEM-TEXT'}},
                    {'keypair': {'name': 'a'}})
    client = KpsClient(http, ENDPOINT, 'p1')
    assert client.import_private_key('a', 'PEM', kms_key_name='ignored-for-default') == {'name': 'a'}
    assert http.calls[0]['json'] == {'keypair': {'name': 'a', 'key_protection': {
        'private_key': 'PEM', 'encryption': {'type': 'default', 'kms_key_name': 'ignored-for-default'}}}}
    assert http.calls[0]['url'].endswith('/v3/p1/keypairs/private-key/import') and http.calls[0]['idempotent']
    assert client.export_private_key('a') == 'PEM-TEXT'
    assert http.calls[1]['json'] == {'keypair': {'name': 'a'}}
    assert http.calls[1]['url'].endswith('/keypairs/private-key/export')
    with pytest.raises(HuaweiCloudError) as exc:
        client.export_private_key('a')
    assert 'without a private key' in str(exc.value)


def test_batch_export_call():
    data = make_zip([('alpha.pem', pem('rsa')), ('beta.pem', pem('ed25519'))])
    http = FakeHttp(data)
    result = KpsClient(http, ENDPOINT, 'p1').batch_export_private_keys([A, B])
    assert set(result) == {'alpha', 'beta'} and isinstance(result['alpha'], bytes)
    call = http.calls[0]
    assert call['json'] == [{'keypair': {'name': 'alpha'}}, {'keypair': {'name': 'beta'}}]
    assert call['expect'] == 'bytes' and call['url'].endswith('/keypairs/private-key/batch-export')
    with pytest.raises(ValueError):
        KpsClient(http, ENDPOINT, 'p1').batch_export_private_keys([kp('k%d' % i, 'rsa') for i in range(11)])
    with pytest.raises(ValueError):
        KpsClient(http, ENDPOINT, 'p1').batch_export_private_keys([])


def test_clear_private_key():
    http = FakeHttp(None, HuaweiCloudError('clear private key', status=404, error_code='KPS.6005'),
                    HuaweiCloudError('clear private key', status=400, error_code='KPS.6005'),
                    HuaweiCloudError('clear private key', status=403, error_code='KPS.9003'))
    client = KpsClient(http, ENDPOINT, 'p1')
    assert client.clear_private_key('a') is True
    assert http.calls[0]['method'] == 'DELETE' and http.calls[0]['url'].endswith('/keypairs/a/private-key')
    assert client.clear_private_key('a') is False
    assert client.clear_private_key('a') is False
    with pytest.raises(HuaweiCloudError):
        client.clear_private_key('a')


def test_unexpected_bodies_are_errors():
    client = KpsClient(FakeHttp({'nothing': 1}, [1, 2]), ENDPOINT, 'p1')
    with pytest.raises(HuaweiCloudError):
        client.show_keypair('a')
    with pytest.raises(HuaweiCloudError):
        client.list_keypairs()
