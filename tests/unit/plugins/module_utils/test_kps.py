# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KpsClient calls and the batch-export archive parser (hostile archives included)."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
import zipfile

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HttpResponse, HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import fingerprint
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    LIST_PAGE_SIZE,
    MAX_ENTRY_BYTES,
    KpsClient,
    KpsZipError,
    KpsZipMismatch,
    keypair_summary,
    parse_batch_export_zip,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import KeypairNameError, check_names, invalid_names
from ansible_collections.huaweicloud.kps.tests.unit.plugins.module_utils.kps_test_keys import pem, public_line

ENDPOINT = 'https://kms.cn-north-4.myhuaweicloud.com'


class FakeHttp:
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
    data = make_zip([('alpha.pem', b'\0' * (MAX_ENTRY_BYTES * 4))], zipfile.ZIP_DEFLATED)
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


def test_missing_key_is_a_mismatch():
    data = make_zip([('alpha.pem', pem('rsa'))])
    with pytest.raises(KpsZipMismatch) as exc:
        parse_batch_export_zip(data, [A, B])
    assert 'lacks the private key of beta' in str(exc.value)


def test_private_key_of_no_requested_key_pair_is_a_mismatch():
    data = make_zip([('alpha.pem', pem('rsa')), ('other.pem', pem('ec384'))])
    with pytest.raises(KpsZipMismatch) as exc:
        parse_batch_export_zip(data, [A])
    assert "'other.pem'" in str(exc.value) and 'matches no requested key pair' in str(exc.value)


def test_entries_that_are_not_private_keys_are_ignored():
    """The archive's layout is undocumented: a readme, public keys or directories do not fail a full match."""
    data = make_zip([('keypairs/', b''), ('README.txt', b'hello'), ('alpha.pub', public_line('rsa').encode()),
                     ('alpha.pem', pem('rsa')), ('beta.pem', pem('ed25519')), ('beta.pub', b'ssh-ed25519 AAAA')])
    assert parse_batch_export_zip(data, [A, B]) == {'alpha': pem('rsa').encode(), 'beta': pem('ed25519').encode()}


def test_entry_that_is_not_a_key_does_not_stand_for_a_missing_one():
    data = make_zip([('alpha.pem', b'hello')])
    with pytest.raises(KpsZipMismatch) as exc:
        parse_batch_export_zip(data, [A])
    assert 'lacks the private key of alpha' in str(exc.value)


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


def page(*names, **page_info):
    return {'keypairs': [{'keypair': {'name': name, 'frozen_state': '0'}} for name in names], 'page_info': page_info}


def listed(*answers, limit=LIST_PAGE_SIZE):
    """(names listed, params of each request) for scripted list answers."""
    http = FakeHttp(*answers)
    names = [k['name'] for k in KpsClient(http, ENDPOINT, 'p1').list_keypairs(limit=limit)]
    return names, [c['params'] for c in http.calls]


def test_list_keypairs_asks_the_largest_page_and_follows_next_marker_whatever_the_page_length():
    """A server that serves fewer than limit with next_marker set (older pages: 50) is listed whole; the marker
    goes back as it came (an opaque token, not a name)."""
    assert LIST_PAGE_SIZE == 1000
    names, params = listed(page('a', next_marker='tok-1'), page('b', 'c', next_marker='tok-2'),
                           page('d', next_marker=None), page('never'))
    assert names == ['a', 'b', 'c', 'd']
    assert params == [{'limit': 1000, 'marker': None}, {'limit': 1000, 'marker': 'tok-1'},
                      {'limit': 1000, 'marker': 'tok-2'}]


@pytest.mark.parametrize('last, reads', [
    (page(next_marker='tok-2'), 2),           # an empty page ends it, whatever its marker
    (page('b', next_marker='tok-1'), 2),      # a repeated marker
    (page('b', next_marker=''), 2),           # an empty marker
    (page('b'), 2),                           # page_info without next_marker
    (page('b', next_marker=7), 2),            # a marker that is no string
])
def test_list_keypairs_ends_on_an_empty_page_or_a_missing_or_repeated_marker(last, reads):
    names, params = listed(page('a', next_marker='tok-1'), last, page('never', next_marker='tok-9'))
    assert len(params) == reads and 'never' not in names


def test_list_keypairs_also_ends_on_a_marker_seen_before():
    names, params = listed(page('a', next_marker='t1'), page('b', next_marker='t2'), page('c', next_marker='t1'),
                           page('never'))
    assert names == ['a', 'b', 'c'] and len(params) == 3


def test_list_keypairs_without_page_info_ends_on_a_short_page():
    """No page_info at all: the newest ListKeypairs page's rule, the last name as the marker."""
    def bare(*names):
        return {'keypairs': [{'keypair': {'name': name}} for name in names]}

    names, params = listed(bare('a', 'b'), bare('c', 'd'), bare('e'), bare('never'), limit=2)
    assert names == ['a', 'b', 'c', 'd', 'e']
    assert params == [{'limit': 2, 'marker': None}, {'limit': 2, 'marker': 'b'}, {'limit': 2, 'marker': 'd'}]


def test_a_region_that_refuses_the_limit_is_listed_by_its_default_page():
    """A 400 naming limit: one retry without limit; KPS then pages by its default size."""
    refused = HuaweiCloudError('list key pairs', status=400, error_code='KPS.0002',
                               error_msg='parameter error: limit must be an integer from 1 to 100')
    names, params = listed(refused, page('a', next_marker='t1'), page('b', next_marker=None))
    assert names == ['a', 'b']
    assert params == [{'limit': 1000, 'marker': None}, {'limit': None, 'marker': None},
                      {'limit': None, 'marker': 't1'}]
    with pytest.raises(HuaweiCloudError) as exc:  # once only
        listed(refused, refused, page('a'))
    assert exc.value is refused
    other = HuaweiCloudError('list key pairs', status=400, error_code='KPS.0002', error_msg='parameter error: marker')
    with pytest.raises(HuaweiCloudError) as exc:  # another 400 is an error at once
        listed(other, page('a'))
    assert exc.value is other


def test_without_limit_and_page_info_the_listing_ends_on_an_empty_page():
    refused = HuaweiCloudError('list key pairs', status=400, error_msg='limit too large')
    bare = [{'keypairs': [{'keypair': {'name': name}} for name in names]} for names in (['a', 'b'], ['c'], [])]
    names, params = listed(refused, *bare)
    assert names == ['a', 'b', 'c'] and params[1:] == [{'limit': None, 'marker': marker} for marker in (None, 'b', 'c')]


def test_frozen_state_is_an_int_from_list_and_show():
    http = FakeHttp(page('a', 'b'), {'keypair': {'name': 'a', 'frozen_state': 0}},
                    {'keypair': {'name': 'a', 'frozen_state': ' 3 '}}, {'keypair': {'name': 'a', 'frozen_state': 'x'}})
    client = KpsClient(http, ENDPOINT, 'p1')
    assert [k['frozen_state'] for k in client.list_keypairs()] == [0, 0]
    assert [client.show_keypair('a')['frozen_state'] for _i in range(3)] == [0, 3, None]


def test_documented_not_found_answers_need_no_listing():
    http = FakeHttp(*[HuaweiCloudError('show key pair', status=status, error_code=code)
                      for status, code in ((400, 'KPS.6004'), (400, 'KPS.4016'), (404, None), (404, 'KPS.0404'))])
    client = KpsClient(http, ENDPOINT, 'p1')
    assert [client.show_keypair('x') for _i in range(4)] == [None] * 4 and len(http.calls) == 4


@pytest.mark.parametrize('status, code', [(404, 'APIGW.0101'), (400, 'KPS.0002'), (400, None), (410, 'X')])
def test_unexpected_4xx_on_show_is_confirmed_against_a_listing(status, code):
    error = HuaweiCloudError('show key pair', status=status, error_code=code)
    http = FakeHttp(error, page('other'), error, page('x'))
    client = KpsClient(http, ENDPOINT, 'p1')
    assert client.show_keypair('x') is None  # the listing does not have it: missing
    assert [c['call'] for c in http.calls] == ['show key pair', 'list key pairs']
    with pytest.raises(HuaweiCloudError) as exc:  # the listing has it: the show failed for a real reason
        client.show_keypair('x')
    assert exc.value is error


@pytest.mark.parametrize('status', [401, 403, 429, 500, None])
def test_auth_throttle_and_server_errors_on_show_are_errors_at_once(status):
    http = FakeHttp(HuaweiCloudError('show key pair', status=status, error_code='KPS.9001'))
    with pytest.raises(HuaweiCloudError):
        KpsClient(http, ENDPOINT, 'p1').show_keypair('x')
    assert len(http.calls) == 1


def test_names_up_to_255_characters():
    assert invalid_names(['a' * 255, 'A_b-9']) == []
    assert invalid_names(['a' * 256, 'a b', '', None]) == ['a' * 256, 'a b', '', None]


@pytest.mark.parametrize('name', ['web', 'a', 'A-b_9', 'x' * 64, 'x' * 255])
def test_check_names_accepts(name):
    check_names([name])


@pytest.mark.parametrize('name', ['', 'x' * 256, 'web server', 'web.key', 'na/me', '../etc', 'ключ', 'web\n', None])
def test_check_names_refuses(name):
    with pytest.raises(KeypairNameError, match='1 to 255 letters'):
        check_names([name])


@pytest.mark.parametrize('names, message', [
    (['ok', '../etc'], "Invalid key pair name: '../etc'. "),
    (['a b', 'x' * 256], "Invalid key pair names: 'a b', '%s'... (256 characters: too long). " % ('x' * 40)),
    (['a b ' + 'x' * 100], "Invalid key pair name: '%s'.... " % ('a b ' + 'x' * 76)),
])
def test_one_message_for_invalid_names(names, message):
    with pytest.raises(KeypairNameError) as exc:
        check_names(names)
    assert exc.value.msg == message + 'A key pair name has 1 to 255 letters, digits, "_" or "-".'
    check_names(['ok', 'A_b-9'])  # valid names pass


class ProjectHttp:
    """A project of ``count`` key pairs k00000...: answers list pages (at most ``cap`` a page, whatever the limit,
    with an opaque next_marker) and shows, counts the calls."""

    def __init__(self, count, cap=None):
        self.names = ['k%05d' % index for index in range(count)]
        self.cap = cap
        self.calls = []

    def request(self, call, method, url, json=None, params=None, expect='json', **kwargs):
        self.calls.append(call)
        if call == 'show key pair':
            name = url.rsplit('/', 1)[1]
            if name not in self.names:
                raise HuaweiCloudError(call, status=400, error_code='KPS.6004')
            return {'keypair': {'name': name, 'frozen_state': 0}}
        size = min(params['limit'], self.cap or params['limit'])
        after = [name for name in self.names if name > (params.get('marker') or 'opaque-').split('opaque-')[1]]
        return page(*after[:size], next_marker='opaque-' + after[size - 1] if len(after) > size else None)


@pytest.mark.parametrize('cap', [None, 50], ids=['pages-of-1000', 'pages-of-50'])
@pytest.mark.parametrize('count, wanted, reads', [
    (50, ['k00001'], ['show key pair']),
    (999, ['k00001', 'k00998', 'nope'], ['list key pairs']),           # one short page answers every name
    (3000, ['k00001', 'k00002'], ['list key pairs']),                   # both on the first page
    (3000, ['k00001', 'k01500'], ['list key pairs', 'show key pair']),  # 1 page read, 1 name missing: show it
    (2500, ['k02001', 'k02002', 'k02003', 'k00003'], ['list key pairs'] * 3),  # the listing ends first
    (2500, ['k01001', 'k02001', 'k02002', 'k00003'], ['list key pairs'] * 2 + ['show key pair'] * 2),
    (5000, ['k04001', 'k04002', 'nope'], ['list key pairs'] * 3 + ['show key pair'] * 3),
    (5000, ['k00001', 'nope'], ['list key pairs', 'show key pair']),
])
def test_find_keypairs_chooses_shows_or_a_listing(count, wanted, reads, cap):
    """The rule of find_keypairs (docs/benchmark.md), with the reads it costs: pages of 1000, or of 50 when KPS
    serves fewer than asked (the reads then follow the pages of 50, within the same bound)."""
    http = ProjectHttp(count, cap)
    found = KpsClient(http, ENDPOINT, 'p1').find_keypairs(wanted)
    assert sorted(found) == sorted(name for name in wanted if name in http.names)
    assert all(keypair['frozen_state'] == 0 for keypair in found.values())
    size = cap or LIST_PAGE_SIZE
    pages = -(-count // size)
    if cap is None:
        assert http.calls == reads
    assert len(http.calls) <= 2 * min(len(wanted), pages)


@pytest.mark.parametrize('count, wanted, reads', [
    (120, ['k00001', 'k00119'], ['list key pairs', 'show key pair']),  # the 50 of page 1, then one show
    (120, ['k00101', 'k00102', 'k00119'], ['list key pairs'] * 3),     # the listing ends first
    (45, ['k00001', 'k00044', 'nope'], ['list key pairs']),             # one page answers every name
    (1000, ['k00051', 'k00052', 'k00990'], ['list key pairs'] * 2 + ['show key pair']),  # 2 pages, 1 missing
])
def test_find_keypairs_with_pages_of_50(count, wanted, reads):
    http = ProjectHttp(count, cap=50)
    found = KpsClient(http, ENDPOINT, 'p1').find_keypairs(wanted)
    assert sorted(found) == sorted(name for name in wanted if name in http.names)
    assert http.calls == reads


@pytest.mark.parametrize('cap, reads', [(None, 2), (50, 40)])
def test_find_every_keypair_reads_every_page(cap, reads):
    http = ProjectHttp(2000, cap)
    assert len(KpsClient(http, ENDPOINT, 'p1').find_keypairs()) == 2000
    assert http.calls == ['list key pairs'] * reads  # the last page has no next_marker


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


def test_create_keypair_generated_and_hosted():
    """No keys but an encryption: KPS generates the pair and hosts it; the answer holds the private key once."""
    http = FakeHttp({'keypair': {'name': 'g', 'private_key': 'PEM'}}, {'keypair': {'name': 'h'}})
    client = KpsClient(http, ENDPOINT, 'p1')
    assert client.create_keypair('g', encryption_type='kms', kms_key_name='kps/default')['private_key'] == 'PEM'
    assert http.calls[0]['json'] == {'keypair': {'name': 'g', 'type': 'ssh', 'key_protection': {
        'encryption': {'type': 'kms', 'kms_key_name': 'kps/default'}}}}
    client.create_keypair('h')  # no encryption: generated, not hosted
    assert http.calls[1]['json'] == {'keypair': {'name': 'h', 'type': 'ssh'}}


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


def test_batch_import_call_and_answers():
    """The body is a list of create bodies; succeeded items as the SDK models them and nested once more (as
    Terraform reads them); failed items with their scrubbed reason; names the answer does not report in neither."""
    bodies = [KpsClient.keypair_body('k%d' % i, public_key='ssh-ed25519 AAA%d' % i, private_key='PEM-%d' % i,
                                     encryption_type='default', scope='domain' if i == 0 else None) for i in range(4)]
    http = FakeHttp({'succeeded_keypairs': [{'keypair': {'name': 'k0', 'type': 'ssh'}},
                                            {'keypair': {'keypair': {'name': 'k1'}}}, {'keypair': {'name': 'other'}}],
                     'failed_keypairs': [{'keypair_name': 'k2', 'failed_reason': 'KPS.6008: no -----BEGIN X-----a'},
                                         {'keypair_name': 'other', 'failed_reason': 'x'}]},
                    {'unexpected': True}, [])
    client = KpsClient(http, ENDPOINT, 'p1')
    assert client.batch_import_keypairs(bodies) == ({'k0', 'k1'}, {'k2': 'KPS.6008: no [PEM block removed]'})
    call = http.calls[0]
    assert call['url'] == ENDPOINT + '/v3/p1/keypairs/batch-import' and call['idempotent'] is False
    assert call['json'][0] == {'keypair': {'name': 'k0', 'type': 'ssh', 'public_key': 'ssh-ed25519 AAA0', 'scope': 'domain',
                                           'key_protection': {'private_key': 'PEM-0', 'encryption': {'type': 'default'}}}}
    assert [item['keypair']['name'] for item in call['json']] == ['k0', 'k1', 'k2', 'k3']
    assert client.batch_import_keypairs(bodies[:1]) == (set(), {})  # nothing reported: the caller re-reads
    with pytest.raises(HuaweiCloudError):
        client.batch_import_keypairs(bodies[:1])  # not an object
    for count in (0, 11):
        with pytest.raises(ValueError):
            client.batch_import_keypairs([bodies[0]] * count)


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


# --- export with the fallback ---------------------------------------------------------------------------

def test_export_private_keys_uses_one_batch_when_it_matches():
    http = FakeHttp(make_zip([('README.txt', b'x'), ('alpha.pem', pem('rsa')), ('beta.pem', pem('ed25519'))]))
    pems, warnings = KpsClient(http, ENDPOINT, 'p1').export_private_keys([A, B])
    assert pems == {'alpha': pem('rsa').encode(), 'beta': pem('ed25519').encode()} and warnings == []
    assert [c['call'] for c in http.calls] == ['batch export']


@pytest.mark.parametrize('entries', [[('alpha.pem', pem('rsa'))],  # beta dropped
                                     [('alpha.pem', pem('rsa')), ('beta.pem', pem('ed25519')), ('x.pem', pem('ec384'))]])
def test_an_archive_that_cannot_be_matched_falls_back_to_single_exports(entries):
    http = FakeHttp(make_zip(entries), {'keypair': {'name': 'alpha', 'private_key': pem('rsa')}},
                    {'keypair': {'name': 'beta', 'private_key': pem('ed25519')}})
    pems, warnings = KpsClient(http, ENDPOINT, 'p1').export_private_keys([A, B])
    assert pems == {'alpha': pem('rsa').encode(), 'beta': pem('ed25519').encode()}
    assert [c['call'] for c in http.calls] == ['batch export', 'export private key', 'export private key']
    assert len(warnings) == 1 and 'one call each instead' in warnings[0] and 'alpha, beta' in warnings[0]
    assert 'PRIVATE KEY' not in warnings[0]


def test_a_single_export_of_the_wrong_key_is_never_returned():
    http = FakeHttp(make_zip([('alpha.pem', pem('rsa'))]),
                    {'keypair': {'name': 'alpha', 'private_key': pem('rsa')}},
                    {'keypair': {'name': 'beta', 'private_key': pem('ec384')}})  # not beta's key
    with pytest.raises(HuaweiCloudError) as exc:
        KpsClient(http, ENDPOINT, 'p1').export_private_keys([A, B])
    assert "KPS returned a private key for key pair beta whose public key" in str(exc.value)
    assert 'nothing was written or returned' in str(exc.value)
    http = FakeHttp({'keypair': {'name': 'alpha', 'private_key': 'not a key'}})
    with pytest.raises(HuaweiCloudError) as exc:
        KpsClient(http, ENDPOINT, 'p1').export_private_keys([A])
    assert 'not an unencrypted private key for key pair alpha' in str(exc.value)


def test_a_corrupt_archive_is_an_error_not_a_fallback():
    data = make_zip([('alpha.pem', pem('rsa')), ('beta.pem', pem('ed25519'))])
    http = FakeHttp(data[:len(data) // 2])
    with pytest.raises(KpsZipError) as exc:
        KpsClient(http, ENDPOINT, 'p1').export_private_keys([A, B])
    assert not isinstance(exc.value, KpsZipMismatch) and len(http.calls) == 1


def test_a_key_that_did_not_come_back_is_an_error_never_a_none():
    client = KpsClient(FakeHttp(), ENDPOINT, 'p1')
    client.batch_export_private_keys = lambda chunk: {'alpha': pem('rsa').encode()}  # beta silently left out
    with pytest.raises(HuaweiCloudError) as exc:
        client.export_private_keys([A, B])
    assert 'no private key came back for beta' in str(exc.value)


def test_update_description_and_delete():
    http = FakeHttp(None, None, HuaweiCloudError('delete key pair', status=400, error_code='KPS.6004'),
                    HuaweiCloudError('delete key pair', status=403, error_code='KPS.9003'))
    client = KpsClient(http, ENDPOINT, 'p1')
    assert client.update_keypair_description('a b', 'new text') is None
    assert (http.calls[0]['method'], http.calls[0]['url']) == ('PUT', ENDPOINT + '/v3/p1/keypairs/a%20b')
    assert http.calls[0]['json'] == {'keypair': {'description': 'new text'}} and http.calls[0]['expect'] == 'none'
    assert client.delete_keypair('a') is True
    assert (http.calls[1]['method'], http.calls[1]['url']) == ('DELETE', ENDPOINT + '/v3/p1/keypairs/a')
    assert client.delete_keypair('a') is False  # not found: already gone
    with pytest.raises(HuaweiCloudError):
        client.delete_keypair('a')


def test_keypair_summary_of_fields_without_the_public_key():
    keypair = {'name': 'web', 'description': 'front', 'public_key': 'ssh-rsa AAAA web', 'id': 'x'}
    assert keypair_summary(keypair, ('name', 'description')) == {'name': 'web', 'description': 'front'}


def test_the_api_client_never_imports_the_write_core():
    """_kps (and what it imports: _http, _auth's needs, _keys) works without _files: a fresh interpreter that
    cannot import _files still imports _kps, and importing _kps loads none of the host-side module_utils."""
    code = '\n'.join([
        'import sys',
        'prefix = "ansible_collections.huaweicloud.kps.plugins.module_utils."',
        'sys.modules[prefix + "_files"] = None  # any import of it raises ImportError',
        'from ansible_collections.huaweicloud.kps.plugins.module_utils import _kps',
        'print("\\n".join(sorted(m[len(prefix):] for m, v in sys.modules.items() if v and m.startswith(prefix))))',
    ])
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ['_errors', '_http', '_keys', '_kps', '_openssh']
