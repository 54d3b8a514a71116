# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's KPS/IAM rules, auth and control API, over HTTP against an in-process server."""
from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import shutil
import subprocess
import threading
import time
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kps_emulator import keys
from kps_emulator.server import DEFAULTS, Emulator

PROJECT = DEFAULTS['project_id']


def md5_fingerprint(public_key):
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ':'.join(digest[i:i + 2] for i in range(0, 32, 2))


def error_of(result):
    status, headers, body = result
    assert headers.get('x-request-id')
    return status, body.get('error_code')


def create(client, name, **fields):
    return client.json('POST', client.kps(), {'keypair': dict(name=name, **fields)})


def hosted(client, name, kind='rsa', encryption=None):
    private_key, public_key = keys.generate(kind)
    protection = {'private_key': private_key, 'encryption': encryption or {'type': 'default'}}
    status, _headers, body = create(client, name, public_key=public_key, key_protection=protection)
    assert status == 200, body
    return private_key, public_key


def rsa_pem(fmt=serialization.PrivateFormat.TraditionalOpenSSL, encryption=None, key=None):
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, encryption or serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return pem, public


# ----- create / show / list / update / delete --------------------------------------------------------------

def test_create_generates_a_key_pair_and_returns_the_private_key_once(client):
    status, headers, body = create(client, 'gen-1')
    assert status == 200 and headers['x-request-id']
    created = body['keypair']
    assert created['private_key'].startswith('-----BEGIN RSA PRIVATE KEY-----')
    assert keys.same_public_key(keys.public_key_of(created['private_key']), created['public_key'])
    assert created['fingerprint'] == md5_fingerprint(created['public_key'])
    shown = client.json('GET', client.kps('/gen-1'), expect=200)[2]['keypair']
    assert 'private_key' not in shown and shown['is_key_protection'] is False
    assert shown['public_key'] == created['public_key'] and isinstance(shown['create_time'], int)
    assert shown['create_time'] > 1_600_000_000_000  # epoch milliseconds


def test_fingerprint_is_the_md5_form_of_ssh_keygen(client, tmp_path):
    if not shutil.which('ssh-keygen'):
        pytest.skip('ssh-keygen not installed')
    for kind in ('rsa', 'ed25519'):
        public_key = keys.generate(kind)[1]
        (tmp_path / 'k.pub').write_text(public_key + '\n')
        out = subprocess.run(['ssh-keygen', '-l', '-E', 'md5', '-f', str(tmp_path / 'k.pub')], check=True,
                             capture_output=True, text=True).stdout
        body = create(client, 'fp-' + kind, public_key=public_key)[2]
        assert 'MD5:' + body['keypair']['fingerprint'] in out


@pytest.mark.parametrize('name', ['', 'a' * 256, 'bad name', 'a.b', 'ключ', 'a/b', None, 7])
def test_bad_names_are_rejected(client, name):
    assert error_of(create(client, name)) == (400, 'KPS.0002')


@pytest.mark.parametrize('name', ['a' * 255, 'A_b-9', '-', '_'])
def test_good_names(client, name):
    assert create(client, name, public_key=keys.generate('ed25519')[1])[0] == 200
    assert client.json('GET', client.kps('/' + name), expect=200)[2]['keypair']['name'] == name


def test_name_limits_per_call(client):
    """Create and clear take 255 characters (SDK create_keypair_action); import 64 (its model still says so)."""
    long_name, private_key = 'n' * 255, None
    created = create(client, long_name, key_protection={'encryption': {'type': 'default'}})[2]['keypair']
    private_key = created['private_key']
    assert client.call('DELETE', client.kps('/%s/private-key' % long_name))[0] == 200
    assert error_of(_import(client, long_name, private_key)) == (400, 'KPS.0002')
    private_key, public_key = keys.generate('ed25519')
    create(client, 'm' * 64, public_key=public_key)
    assert _import(client, 'm' * 64, private_key)[0] == 200


def test_duplicate_name(client):
    public_key = keys.generate('ed25519')[1]
    assert create(client, 'dup', public_key=public_key)[0] == 200
    assert error_of(create(client, 'dup', public_key=public_key)) == (400, 'KPS.0002')


def test_create_key_protection_rules(client):
    private_key, public_key = keys.generate('ed25519')
    # the quirk (Terraform issue 7049): public_key with a key_protection that lacks private_key
    result = create(client, 'kp1', public_key=public_key, key_protection={'encryption': {'type': 'default'}})
    assert error_of(result) == (400, 'KPS.0002')
    assert client.json('GET', client.kps('/kp1'))[0] == 400  # nothing was created
    other = keys.generate('ed25519')[1]
    result = create(client, 'kp2', public_key=other, key_protection={'private_key': private_key, 'encryption': {'type': 'default'}})
    assert error_of(result) == (400, 'KPS.6011')
    result = create(client, 'kp3', key_protection={'private_key': private_key, 'encryption': {'type': 'default'}})
    assert result[0] == 200 and keys.same_public_key(result[2]['keypair']['public_key'], public_key)
    assert 'private_key' not in result[2]['keypair']
    assert client.json('GET', client.kps('/kp3'))[2]['keypair']['is_key_protection'] is True


@pytest.mark.parametrize('encryption', [{'type': 'default'}, {'type': 'kms', 'kms_key_name': 'kps/default'}])
def test_create_generates_and_hosts_a_key_pair(server, client, encryption):
    """key_protection.encryption without private_key or public_key: KPS generates the pair and hosts it."""
    status, _headers, body = create(client, 'managed', key_protection={'encryption': encryption})
    assert status == 200, body
    created = body['keypair']
    assert set(created) == {'name', 'type', 'public_key', 'private_key', 'fingerprint', 'user_id'}  # CreateKeypairResp
    assert created['private_key'].startswith('-----BEGIN RSA PRIVATE KEY-----')
    assert keys.same_public_key(keys.public_key_of(created['private_key']), created['public_key'])
    shown = client.json('GET', client.kps('/managed'), expect=200)[2]['keypair']
    assert shown['is_key_protection'] is True and 'private_key' not in shown
    exported = client.json('POST', client.kps('/private-key/export'), {'keypair': {'name': 'managed'}}, expect=200)
    assert exported[2]['keypair']['private_key'] == created['private_key']
    assert server.emulator.store.keypairs['managed']['encryption']['type'] == encryption['type']
    assert error_of(create(client, 'bad-kms', key_protection={'encryption': {'type': 'kms'}})) == (400, 'KPS.0002')


def test_list_and_show_fields_follow_the_sdk_models(client):
    """list: Keypair (frozen_state a string); show: KeypairDetail (frozen_state an int, id, times)."""
    create(client, 'fields', public_key=keys.generate('ed25519')[1], scope='domain')
    listed = client.json('GET', client.kps(), expect=200)[2]['keypairs'][0]['keypair']
    assert set(listed) == {'name', 'type', 'scope', 'public_key', 'fingerprint', 'is_key_protection', 'frozen_state'}
    assert listed['frozen_state'] == '0' and listed['scope'] == 'domain'
    shown = client.json('GET', client.kps('/fields'), expect=200)[2]['keypair']
    assert shown['frozen_state'] == 0 and isinstance(shown['id'], int) and shown['user_id']
    assert shown['description'] == '' and shown['deleted'] is False and isinstance(shown['update_time'], int)


def test_bad_public_key(client):
    assert error_of(create(client, 'bad-pub', public_key='ssh-rsa not-base64!')) == (400, 'KPS.0002')


def test_list_pages_with_marker(client):
    names = sorted('page-%02d' % i for i in range(7))
    for name in names:
        create(client, name, public_key=keys.generate('ed25519')[1])
    seen, marker, pages = [], None, 0
    while True:
        query = {'limit': '3'}
        if marker:
            query['marker'] = marker
        body = client.json('GET', client.kps(), query=query, expect=200)[2]
        seen += [item['keypair']['name'] for item in body['keypairs']]
        assert body['page_info']['current_count'] == len(body['keypairs'])
        pages += 1
        marker = body['page_info']['next_marker']
        if not marker:
            break
    assert seen == names and pages == 3
    for limit in ('x', '0', '1001', '-1'):
        assert error_of(client.json('GET', client.kps(), query={'limit': limit})) == (400, 'KPS.0002')
    body = client.json('GET', client.kps(), query={'limit': '1000'}, expect=200)[2]
    assert len(body['keypairs']) == 7 and body['page_info']['next_marker'] is None


def test_list_default_page_is_1000(server, client):
    for index in range(1001):
        server.emulator.store.keypairs['k%04d' % index] = {
            'name': 'k%04d' % index, 'type': 'ssh', 'scope': 'user', 'public_key': 'ssh-ed25519 AAAA',
            'fingerprint': 'f', 'sealed_private_key': None}
    body = client.json('GET', client.kps(), expect=200)[2]
    assert len(body['keypairs']) == 1000 and body['page_info']['next_marker'] == 'k0999'


def _list_all(client, limit=None):
    """Every page of the listing: ([names per page], [next_marker per page])."""
    pages, markers, marker = [], [], None
    while True:
        query = {key: value for key, value in (('limit', limit), ('marker', marker)) if value is not None}
        body = client.json('GET', client.kps(), query=query, expect=200)[2]
        pages.append([item['keypair']['name'] for item in body['keypairs']])
        marker = body['page_info']['next_marker']
        markers.append(marker)
        if not marker:
            return pages, markers


@pytest.mark.parametrize('switches, limit, sizes', [
    ({'list_page_cap': 3}, '1000', [3, 3, 1]),                          # fewer than limit, next_marker set
    ({'list_page_cap': 3}, '2', [2, 2, 2, 1]),
    ({'list_default_limit': 3}, None, [3, 3, 1]),                       # no limit: the default page
    ({'list_default_limit': 3}, '1000', [7]),
    ({'list_max_limit': 5, 'list_default_limit': 4}, None, [4, 3]),
    ({'list_opaque_marker': True, 'list_page_cap': 3}, '1000', [3, 3, 1]),
])
def test_listing_switches(client, switches, limit, sizes):
    names = sorted('page-%02d' % i for i in range(7))
    for name in names:
        create(client, name, public_key=keys.generate('ed25519')[1])
    client.call('POST', '/_emulator/switches', switches, sign=False)
    pages, markers = _list_all(client, limit)
    assert [len(page) for page in pages] == sizes and sum(pages, []) == names
    opaque = switches.get('list_opaque_marker', False)
    assert all(marker.startswith('kps-page.') is opaque and (marker in names) is not opaque for marker in markers[:-1])
    if opaque:  # a name is no marker of an opaque listing
        assert error_of(client.json('GET', client.kps(), query={'marker': 'page-02'})) == (400, 'KPS.0002')
    client.call('DELETE', '/_emulator/switches', sign=False)
    assert _list_all(client)[0] == [names]


def test_limit_above_the_maximum_is_refused_naming_limit(client):
    client.call('POST', '/_emulator/switches', {'list_max_limit': 100}, sign=False)
    status, _headers, body = client.json('GET', client.kps(), query={'limit': '1000'})
    assert (status, body) == (400, {'error_code': 'KPS.0002',
                                    'error_msg': 'parameter error: limit must be an integer from 1 to 100'})
    assert client.json('GET', client.kps(), query={'limit': '100'})[0] == 200


@pytest.mark.parametrize('switches', [{'list_page_cap': 0}, {'list_max_limit': -3}, {'list_default_limit': '50'},
                                      {'list_page_cap': True}, {'list_opaque_marker': 1}])
def test_bad_listing_switches_are_refused(client, switches):
    status, _headers, raw = client.call('POST', '/_emulator/switches', switches, sign=False)
    assert status == 400 and json.loads(raw)['error_code'] == 'EMULATOR.0400', raw


def test_update_and_delete(client):
    create(client, 'upd', public_key=keys.generate('ed25519')[1])
    status = client.call('PUT', client.kps('/upd'), {'keypair': {'description': 'hello'}})[0]
    assert status == 200
    assert client.json('GET', client.kps('/upd'))[2]['keypair']['description'] == 'hello'
    assert error_of(client.json('PUT', client.kps('/upd'), {'keypair': {'description': 'x' * 256}})) == (400, 'KPS.0002')
    status, _headers, raw = client.call('DELETE', client.kps('/upd'))
    assert (status, raw) == (204, b'')
    assert error_of(client.json('GET', client.kps('/upd'))) == (400, 'KPS.6004')


@pytest.mark.parametrize('method, suffix, body', [
    ('GET', '/nope', None), ('PUT', '/nope', {'keypair': {'description': ''}}), ('DELETE', '/nope', None),
    ('DELETE', '/nope/private-key', None), ('POST', '/private-key/export', {'keypair': {'name': 'nope'}}),
    ('POST', '/private-key/batch-export', [{'keypair': {'name': 'nope'}}]),
])
def test_missing_key_pair(client, method, suffix, body):
    assert error_of(client.json(method, client.kps(suffix), body)) == (400, 'KPS.6004')


@pytest.mark.parametrize('answer', [{'status': 404, 'error_code': 'KPS.4016'}, {'status': 400, 'error_code': 'KPS.0002'},
                                    {'status': 404, 'error_code': None}])
def test_not_found_switch(client, answer):
    switched = json.loads(client.call('POST', '/_emulator/switches', {'not_found': answer}, sign=False)[2])
    assert switched['not_found'] == answer
    status, headers, body = client.json('GET', client.kps('/nope'))
    assert (status, body.get('error_code')) == (answer['status'], answer['error_code']) and headers['x-request-id']
    assert error_of(client.json('POST', client.kps('/private-key/export'), {'keypair': {'name': 'nope'}}))[0] == \
        answer['status']
    client.call('DELETE', '/_emulator/switches', sign=False)
    assert error_of(client.json('GET', client.kps('/nope'))) == (400, 'KPS.6004')


@pytest.mark.parametrize('switches', [{'colour': True}, {'sec1_refused': 'yes'}, {'not_found': {'status': 500}},
                                      {'not_found': {'status': 404, 'error_code': 7}}, ['sec1_refused']])
def test_bad_switches_are_refused(client, switches):
    status, _headers, raw = client.call('POST', '/_emulator/switches', switches, sign=False)
    assert status == 400 and json.loads(raw)['error_code'] == 'EMULATOR.0400'
    assert json.loads(client.call('GET', '/_emulator/switches', sign=False)[2])['sec1_refused'] is False


def test_sec1_refused_switch(client):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    public = ec_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    forms = {fmt: ec_key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()
             for fmt in (serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8)}
    sec1, pkcs8 = forms[serialization.PrivateFormat.TraditionalOpenSSL], forms[serialization.PrivateFormat.PKCS8]
    create(client, 'ec', public_key=public)
    client.call('POST', '/_emulator/switches', {'sec1_refused': True}, sign=False)
    assert error_of(_import(client, 'ec', sec1)) == (400, 'KPS.0002')
    protection = {'private_key': sec1, 'encryption': {'type': 'default'}}
    assert error_of(create(client, 'ec2', public_key=public, key_protection=protection)) == (400, 'KPS.0002')
    assert _import(client, 'ec', pkcs8)[0] == 200
    client.call('POST', '/_emulator/switches', {'sec1_refused': False}, sign=False)
    assert _import(client, 'ec', sec1)[0] == 200


def test_control_api_names_what_was_not_found(client):
    status, _headers, raw = client.call('GET', '/_emulator/keypairs/nope', sign=False)
    assert (status, json.loads(raw)['error_msg']) == (404, 'no such key pair: nope')
    status, _headers, raw = client.call('GET', '/_emulator/nothing', sign=False)
    assert (status, json.loads(raw)['error_msg']) == (404, 'no such control endpoint: GET /_emulator/nothing')


def test_import_into_missing_key_pair(client):
    private_key = keys.generate('ed25519')[0]
    body = {'keypair': {'name': 'nope', 'key_protection': {'private_key': private_key, 'encryption': {'type': 'default'}}}}
    assert error_of(client.json('POST', client.kps('/private-key/import'), body)) == (400, 'KPS.6004')


def test_unknown_api(client):
    assert error_of(client.json('GET', '/v3/%s/unknown' % PROJECT)) == (404, 'APIGW.0101')


# ----- import / export / clear -----------------------------------------------------------------------------

def _import(client, name, private_key, encryption=None):
    body = {'keypair': {'name': name, 'key_protection': {'private_key': private_key,
                                                         'encryption': encryption or {'type': 'default'}}}}
    return client.json('POST', client.kps('/private-key/import'), body)


def test_import_export_round_trip_in_pem_forms(server, client):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1, public = rsa_pem(key=key)
    pkcs8 = rsa_pem(serialization.PrivateFormat.PKCS8, key=key)[0]
    create(client, 'imp', public_key=public + ' a comment')
    for pem in (pkcs1, pkcs8):
        status, _headers, body = _import(client, 'imp', pem)
        assert (status, body) == (200, {'keypair': {'name': 'imp'}})
        exported = client.json('POST', client.kps('/private-key/export'), {'keypair': {'name': 'imp'}}, expect=200)[2]
        assert exported == {'keypair': {'name': 'imp', 'private_key': pem}}
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()).decode()
    create(client, 'imp-ec', public_key=ec_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode())
    assert _import(client, 'imp-ec', ec_pem)[0] == 200
    assert server.emulator.store.keypairs['imp']['encryption'] == {'type': 'default'}


def test_import_rejects_mismatch_encrypted_openssh_and_garbage(client):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    create(client, 'rej', public_key=rsa_pem(key=key)[1])
    assert error_of(_import(client, 'rej', keys.generate('rsa')[0])) == (400, 'KPS.6011')
    encrypted = rsa_pem(serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b'pw'), key=key)[0]
    encrypted_pkcs1 = rsa_pem(encryption=serialization.BestAvailableEncryption(b'pw'), key=key)[0]
    openssh = rsa_pem(serialization.PrivateFormat.OpenSSH, key=key)[0]
    for bad in (encrypted, encrypted_pkcs1, openssh, 'garbage', '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n'):
        assert error_of(_import(client, 'rej', bad)) == (400, 'KPS.0002'), bad[:40]
    body = {'keypair': {'name': 'rej', 'key_protection': {'private_key': rsa_pem(key=key)[0]}}}
    assert error_of(client.json('POST', client.kps('/private-key/import'), body)) == (400, 'KPS.0002')


def test_kms_rules_and_reimport(make_server):
    server = make_server(kms_keys=('kps/default', 'team/other'))
    client = server.client()
    private_key = hosted(client, 'kms', 'ed25519')[0]
    assert error_of(_import(client, 'kms', private_key, {'type': 'kms'})) == (400, 'KPS.0002')
    assert error_of(_import(client, 'kms', private_key, {'type': 'kms', 'kms_key_name': 'missing'})) == (400, 'KPS.6008')
    assert error_of(_import(client, 'kms', private_key, {'type': 'kms', 'kms_key_id': 'f' * 32})) == (400, 'KPS.6008')
    assert error_of(_import(client, 'kms', private_key, {'type': 'aes'})) == (400, 'KPS.0002')
    assert _import(client, 'kms', private_key, {'type': 'kms', 'kms_key_name': 'team/other'})[0] == 200
    record = client.call('GET', '/_emulator/keypairs/kms', sign=False)
    record = json.loads(record[2])
    assert record['encryption']['kms_key_name'] == 'team/other' and record['private_key'] == private_key
    key_id = server.emulator.kms_keys['kps/default']
    assert _import(client, 'kms', private_key, {'type': 'kms', 'kms_key_id': key_id})[0] == 200
    assert server.emulator.store.keypairs['kms']['encryption'] == {'type': 'kms', 'kms_key_name': 'kps/default',
                                                                   'kms_key_id': key_id}


def test_export_and_clear_without_hosted_key(client):
    create(client, 'plain', public_key=keys.generate('ed25519')[1])
    assert error_of(client.json('POST', client.kps('/private-key/export'), {'keypair': {'name': 'plain'}})) == (400, 'KPS.6005')
    assert error_of(client.json('DELETE', client.kps('/plain/private-key'))) == (404, 'KPS.6005')
    hosted(client, 'hosted', 'ed25519')
    assert client.call('DELETE', client.kps('/hosted/private-key'))[0] == 200
    assert client.json('GET', client.kps('/hosted'))[2]['keypair']['is_key_protection'] is False


def test_batch_export(client):
    made = {}
    for index in range(3):
        private_key, public_key = hosted(client, 'batch-%d' % index, 'ed25519')
        made[md5_fingerprint(public_key)] = private_key
    items = [{'keypair': {'name': name}} for name in ('batch-0', 'batch-1', 'batch-2')]
    status, headers, raw = client.call('POST', client.kps('/private-key/batch-export'), items)
    assert status == 200 and headers['content-type'] == 'application/zip'
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        found = {md5_fingerprint(keys.public_key_of(archive.read(n).decode())): archive.read(n).decode()
                 for n in archive.namelist()}
    assert found == made
    for body in ([], [{'keypair': {'name': 'batch-0'}}] * 11, {'keypair': {'name': 'batch-0'}}, [{'name': 'batch-0'}]):
        assert error_of(client.json('POST', client.kps('/private-key/batch-export'), body)) == (400, 'KPS.0002')
    create(client, 'unhosted', public_key=keys.generate('ed25519')[1])
    result = client.json('POST', client.kps('/private-key/batch-export'), items + [{'keypair': {'name': 'unhosted'}}])
    assert error_of(result) == (400, 'KPS.6005')


# ----- auth --------------------------------------------------------------------------------------------------

def test_bad_credentials_answer_like_the_gateway(server):
    for client in (server.client(secret_key='wrong'), server.client(access_key='UNKNOWNAK')):
        status, headers, body = client.json('GET', client.kps())
        assert status == 401 and body['error_code'] == 'APIGW.0301'
        assert body['error_msg'].startswith('Incorrect IAM authentication information')
        assert body['request_id'] == headers['x-request-id']
    status, _headers, raw = server.client().call('GET', '/v3/%s/keypairs' % PROJECT, sign=False)
    assert status == 401 and json.loads(raw)['error_code'] == 'APIGW.0301'


def test_project_checks(server):
    other = server.client(project_id='f' * 32)
    assert error_of(other.json('GET', other.kps())) == (401, 'APIGW.0301')
    client = server.client()
    status, _headers, raw = client.call('GET', client.kps(), headers={'X-Project-Id': 'f' * 32})
    assert status == 401 and json.loads(raw)['error_code'] == 'APIGW.0301'


def test_clock_skew_control(server, client):
    assert client.call('GET', client.kps())[0] == 200
    client.call('POST', '/_emulator/clock', {'skew_seconds': 20 * 60}, sign=False)
    status, _headers, raw = client.call('GET', client.kps())
    assert status == 401 and '15 minutes' in json.loads(raw)['error_msg']
    client.call('POST', '/_emulator/clock', {'skew_seconds': 10 * 60}, sign=False)
    assert client.call('GET', client.kps())[0] == 200


def test_temporary_credentials(make_server):
    server = make_server(security_token='TOKEN-XYZ')
    good = server.client(access_key=DEFAULTS['temp_access_key'], secret_key=DEFAULTS['temp_secret_key'],
                         security_token='TOKEN-XYZ')
    assert good.call('GET', good.kps())[0] == 200
    assert server.emulator.log[-1]['auth'] == 'temporary'
    for token in (None, 'WRONG'):
        bad = server.client(access_key=DEFAULTS['temp_access_key'], secret_key=DEFAULTS['temp_secret_key'],
                            security_token=token)
        assert error_of(bad.json('GET', bad.kps())) == (401, 'APIGW.0301')
    # without --security-token the temporary pair does not exist
    plain = make_server('other.json')
    temp = plain.client(access_key=DEFAULTS['temp_access_key'], secret_key=DEFAULTS['temp_secret_key'],
                        security_token='TOKEN-XYZ')
    assert error_of(temp.json('GET', temp.kps())) == (401, 'APIGW.0301')


def test_iam_token_and_projects(server):
    client = server.client()
    bad = client.call('POST', '/v3/auth/tokens', {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'domain': {'name': DEFAULTS['domain']}, 'name': DEFAULTS['user'], 'password': 'nope'}}},
        'scope': {'project': {'name': DEFAULTS['region']}}}}, sign=False)
    assert bad[0] == 401 and json.loads(bad[2])['error']['code'] == 401
    token_client = server.client()
    token = token_client.login()
    assert token and token_client.token == token
    status, _headers, body = token_client.json('GET', token_client.kps())
    assert status == 200 and server.emulator.log[-1]['auth'] == 'token'
    projects = token_client.json('GET', '/v3/projects', query={'name': DEFAULTS['region']}, expect=200)[2]['projects']
    assert [p['id'] for p in projects] == [PROJECT]
    assert client.json('GET', '/v3/projects', query={'name': 'eu-west-0'}, expect=200)[2]['projects'] == []
    assert client.call('GET', '/v3/projects', sign=False)[0] == 401
    client.call('POST', '/_emulator/tokens/expire', sign=False)
    assert error_of(token_client.json('GET', token_client.kps())) == (401, 'APIGW.0307')
    token_client.token = 'MIIforged'
    assert error_of(token_client.json('GET', token_client.kps())) == (401, 'APIGW.0301')


def test_login_response_shape(server):
    client = server.client()
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'domain': {'name': DEFAULTS['domain']}, 'name': DEFAULTS['user'], 'password': DEFAULTS['password']}}},
        'scope': {'project': {'name': DEFAULTS['region']}}}}
    status, headers, raw = client.call('POST', '/v3/auth/tokens', body, sign=False)
    data = json.loads(raw)
    assert status == 201 and headers['x-subject-token']
    assert data['token']['project']['id'] == PROJECT and data['token']['expires_at'].endswith('Z')


# ----- faults and the request log --------------------------------------------------------------------------

def _faults(client, *faults):
    status, _headers, raw = client.call('POST', '/_emulator/faults', list(faults), sign=False)
    assert status == 200, raw
    return json.loads(raw)


def test_status_fault_is_consumed_and_logged(client):
    create(client, 'f1', public_key=keys.generate('ed25519')[1])
    client.call('DELETE', '/_emulator/requests', sign=False)
    _faults(client, {'call': 'show_keypair', 'status': 500, 'error_code': 'KPS.0003', 'count': 2})
    assert error_of(client.json('GET', client.kps('/f1'))) == (500, 'KPS.0003')
    assert error_of(client.json('GET', client.kps('/f1'))) == (500, 'KPS.0003')
    assert client.call('GET', client.kps('/f1'))[0] == 200
    log = json.loads(client.call('GET', '/_emulator/requests', sign=False)[2])
    assert [(e['call'], e['status'], e['error_code']) for e in log] == [
        ('show_keypair', 500, 'KPS.0003'), ('show_keypair', 500, 'KPS.0003'), ('show_keypair', 200, None)]
    assert json.loads(client.call('GET', '/_emulator/faults', sign=False)[2]) == []


def test_retry_after_and_method_path_match(client):
    _faults(client, {'method': 'GET', 'path': r'/keypairs$', 'retry_after': 3})
    status, headers, body = client.json('GET', client.kps())
    assert (status, body['error_code'], headers['retry-after']) == (429, 'APIGW.0308', '3')
    assert client.call('GET', client.kps())[0] == 200


def test_delay_drop_and_non_json(client):
    _faults(client, {'call': 'list_keypairs', 'delay': 0.3})
    started = time.monotonic()
    assert client.call('GET', client.kps())[0] == 200
    assert time.monotonic() - started >= 0.3
    _faults(client, {'call': 'list_keypairs', 'drop': True})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        client.call('GET', client.kps())
    _faults(client, {'call': 'list_keypairs', 'non_json': True})
    status, headers, raw = client.call('GET', client.kps())
    assert status == 200 and headers['content-type'] == 'text/html' and raw.startswith(b'<html>')
    log = json.loads(client.call('GET', '/_emulator/requests', sign=False)[2])
    assert [e['fault'] for e in log[-3:]] == ['delay', 'drop', 'non_json'] and log[-2]['status'] is None


def test_hold_answers_once_released(client):
    _faults(client, {'call': 'list_keypairs', 'hold': 120})
    answers = []
    caller = threading.Thread(target=lambda: answers.append(client.call('GET', client.kps())[0]))
    caller.start()
    deadline = time.monotonic() + 60
    while not [e for e in json.loads(client.call('GET', '/_emulator/requests', sign=False)[2])
               if e['call'] == 'list_keypairs']:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert answers == []  # handled and logged, the answer held
    assert client.call('POST', '/_emulator/release', None, sign=False)[0] == 200
    caller.join(60)
    assert answers == [200]
    log = json.loads(client.call('GET', '/_emulator/requests', sign=False)[2])
    assert [e['fault'] for e in log if e['call'] == 'list_keypairs'] == ['hold']


@pytest.mark.parametrize('effect', ['truncate_zip', 'corrupt_zip'])
def test_broken_zip_faults(client, effect):
    hosted(client, 'z1', 'ed25519')
    _faults(client, {'call': 'batch_export_private_keys', effect: True})
    status, _headers, raw = client.call('POST', client.kps('/private-key/batch-export'), [{'keypair': {'name': 'z1'}}])
    assert status == 200
    with pytest.raises(zipfile.BadZipFile):
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for name in archive.namelist():
                archive.read(name)


def _batch_entries(client, names):
    raw = client.call('POST', client.kps('/private-key/batch-export'), [{'keypair': {'name': n}} for n in names])[2]
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_archive_switches(client):
    made = dict((name, hosted(client, name, 'ed25519')) for name in ('s1', 's2', 's3'))
    client.call('POST', '/_emulator/switches', {'archive_drop_entry': True}, sign=False)
    assert _batch_entries(client, ['s1', 's2', 's3']) == {'s1.pem': made['s1'][0], 's2.pem': made['s2'][0]}
    assert _batch_entries(client, ['s3']) == {}
    client.call('POST', '/_emulator/switches', {'archive_drop_entry': False, 'archive_extra_entries': True}, sign=False)
    entries = _batch_entries(client, ['s1', 's2'])
    assert sorted(entries) == ['README.txt', 'keypairs/', 's1.pem', 's1.pub', 's2.pem', 's2.pub']
    assert entries['s1.pem'] == made['s1'][0] and keys.same_public_key(entries['s2.pub'], made['s2'][1])
    client.call('DELETE', '/_emulator/switches', sign=False)
    assert sorted(_batch_entries(client, ['s1', 's2'])) == ['s1.pem', 's2.pem']


def test_extra_zip_entry(client):
    hosted(client, 'z2', 'ed25519')
    _faults(client, {'call': 'batch_export_private_keys', 'extra_zip_entry': True})
    raw = client.call('POST', client.kps('/private-key/batch-export'), [{'keypair': {'name': 'z2'}}])[2]
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert len(archive.namelist()) == 2 and archive.testzip() is None


@pytest.mark.parametrize('fault', [{'call': 'nope', 'status': 500}, {'status': 500}, {'call': 'show_keypair'},
                                   {'call': 'show_keypair', 'status': 500, 'colour': 'red'}, {'path': '(', 'drop': True}])
def test_bad_faults_are_refused(client, fault):
    assert client.call('POST', '/_emulator/faults', fault, sign=False)[0] == 400


def test_control_api_is_loopback_only(tmp_path):
    emulator = Emulator(state_file=str(tmp_path / 's.json'))
    response = emulator.handle('GET', '/_emulator/health', {}, b'', client_ip='10.1.2.3')
    assert response.status == 403 and response.headers['X-Request-Id']
    assert emulator.handle('GET', '/_emulator/health', {}, b'', client_ip='127.0.0.1').status == 200


# ----- state -----------------------------------------------------------------------------------------------

def test_state_survives_a_restart_and_keys_are_encrypted_at_rest(make_server, tmp_path):
    first = make_server('persist.json', kms_keys=('kps/default',))
    client = first.client()
    private_key = hosted(client, 'keep', 'rsa', {'type': 'kms', 'kms_key_name': 'kps/default'})[0]
    client.call('PUT', client.kps('/keep'), {'keypair': {'description': 'kept'}})
    create(client, 'plain', public_key=keys.generate('ed25519')[1])
    token_client = first.client()
    token_client.login()
    first.close()
    text = (tmp_path / 'persist.json').read_text()
    assert 'PRIVATE KEY' not in text and token_client.token not in text
    json.loads(text)
    second = make_server('persist.json', kms_keys=('kps/default',))
    client = second.client()
    assert client.json('GET', client.kps('/keep'))[2]['keypair']['description'] == 'kept'
    exported = client.json('POST', client.kps('/private-key/export'), {'keypair': {'name': 'keep'}}, expect=200)[2]
    assert exported['keypair']['private_key'] == private_key
    assert second.client(token=token_client.token).call('GET', client.kps())[0] == 200  # issued tokens persist too
    assert len(client.json('GET', client.kps())[2]['keypairs']) == 2


def test_a_batch_import_is_one_write_of_the_state_and_survives_a_restart(make_server, tmp_path, monkeypatch):
    first = make_server('batch.json')
    client = first.client()
    saves = []
    store = first.emulator.store
    real = store.save
    monkeypatch.setattr(store, 'save', lambda: saves.append(store._deferred) or real())  # 0: a write of the file
    body = [{'keypair': {'name': 'b%d' % index, 'public_key': keys.generate('ed25519')[1]}} for index in range(10)]
    body[3]['keypair']['public_key'] = 'ssh-rsa not-a-key'
    answer = client.json('POST', client.kps('/batch-import'), body, expect=200)[2]
    assert len(answer['succeeded_keypairs']) == 9 and saves.count(0) == 1
    first.close()
    client = make_server('batch.json').client()
    assert len(client.json('GET', client.kps())[2]['keypairs']) == 9


def test_tampered_record_does_not_decrypt(tmp_path):
    path = tmp_path / 's.json'
    emulator = Emulator(state_file=str(path))
    record = {'name': 'a', 'encryption': {'type': 'default'}}
    sealed = emulator.store.vault.seal('a', record['encryption'], 'secret')
    assert emulator.store.vault.open('a', {'type': 'default'}, sealed) == 'secret'
    with pytest.raises(ValueError):
        emulator.store.vault.open('b', {'type': 'default'}, sealed)
    with pytest.raises(ValueError):
        emulator.store.vault.open('a', {'type': 'kms', 'kms_key_name': 'x'}, sealed)
