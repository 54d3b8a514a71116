# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conformance: the official SDK's KpsClient, signing with its own code, works against the emulator process.

Every call the SDK offers is driven, and every response (errors included) must parse into the SDK's models;
the ECS association and task calls are driven in test_emulator_sdk_tasks.py.
"""
from __future__ import annotations

import io
import statistics
import time
import zipfile

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkkps.v3 import (
    BatchExportPrivateKeyRequest,
    BatchImportKeypairRequest,
    ClearPrivateKeyRequest,
    CreateKeypairAction,
    CreateKeypairRequest,
    CreateKeypairRequestBody,
    DeleteKeypairRequest,
    Encryption,
    ExportPrivateKeyRequest,
    ExportPrivateKeyRequestBody,
    ImportPrivateKeyKeypairBean,
    ImportPrivateKeyProtection,
    ImportPrivateKeyRequest,
    ImportPrivateKeyRequestBody,
    KeypairBean,
    Keypairs,
    KeyProtection,
    KpsClient,
    ListKeypairDetailRequest,
    ListKeypairsRequest,
    UpdateKeypairDescriptionReq,
    UpdateKeypairDescriptionRequest,
    UpdateKeypairDescriptionRequestBody,
)

from kps_emulator import keys
from kps_emulator.server import DEFAULTS


def token_credentials(token, project_id):
    """BasicCredentials that send an IAM token instead of signing.

    The builder accepts only the class BasicCredentials itself, so the instance's sign_request is replaced.
    """
    credentials = BasicCredentials('unused', 'unused', project_id)

    def sign_request(request):
        request.header_params['X-Auth-Token'] = token
        request.header_params['X-Project-Id'] = project_id
        Signer.process_request_uri(request)
        return request

    credentials.sign_request = sign_request
    return credentials


def kps_client(emu, credentials=None):
    credentials = credentials or BasicCredentials(emu.access_key, emu.secret_key, emu.project_id)
    return KpsClient.new_builder().with_credentials(credentials).with_endpoint(emu.url).build()


def import_request(name, private_key, encryption=None):
    return ImportPrivateKeyRequest(body=ImportPrivateKeyRequestBody(keypair=ImportPrivateKeyKeypairBean(
        name=name, key_protection=ImportPrivateKeyProtection(private_key=private_key,
                                                             encryption=encryption or Encryption(type='default')))))


def batch_request(names):
    return BatchExportPrivateKeyRequest(body=[Keypairs(keypair=KeypairBean(name=name)) for name in names])


def test_every_kps_call_through_the_sdk(emu_process):
    client = kps_client(emu_process)
    created = client.create_keypair(CreateKeypairRequest(body=CreateKeypairRequestBody(
        keypair=CreateKeypairAction(name='sdk-generated'))))
    assert created.keypair.private_key.startswith('-----BEGIN RSA PRIVATE KEY-----')
    private_key, public_key = keys.generate('rsa')
    client.create_keypair(CreateKeypairRequest(body=CreateKeypairRequestBody(
        keypair=CreateKeypairAction(name='sdk-imported', public_key=public_key))))
    encryption = Encryption(type='kms', kms_key_name='team/other')
    imported = client.import_private_key(import_request('sdk-imported', private_key, encryption))
    assert imported.keypair.name == 'sdk-imported'
    assert emu_process.keypair('sdk-imported')['encryption']['kms_key_name'] == 'team/other'
    shown = client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='sdk-imported')).keypair
    assert shown.is_key_protection is True and keys.same_public_key(shown.public_key, public_key)
    assert shown.fingerprint == keys.fingerprint(public_key)
    listed = client.list_keypairs(ListKeypairsRequest(limit='1'))
    assert len(listed.keypairs) == 1 and listed.page_info.next_marker
    rest = client.list_keypairs(ListKeypairsRequest(limit='1', marker=listed.page_info.next_marker))
    assert rest.keypairs[0].keypair.name != listed.keypairs[0].keypair.name
    client.update_keypair_description(UpdateKeypairDescriptionRequest(
        keypair_name='sdk-imported', body=UpdateKeypairDescriptionRequestBody(keypair=UpdateKeypairDescriptionReq(
            description='from the SDK'))))
    assert client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='sdk-imported')).keypair.description == \
        'from the SDK'
    exported = client.export_private_key(ExportPrivateKeyRequest(body=ExportPrivateKeyRequestBody(
        keypair=KeypairBean(name='sdk-imported'))))
    assert exported.keypair.private_key == private_key
    batch = client.batch_export_private_key(batch_request(['sdk-imported']))
    with zipfile.ZipFile(io.BytesIO(batch.raw_content)) as archive:
        assert [archive.read(n).decode() for n in archive.namelist()] == [private_key]
    client.clear_private_key(ClearPrivateKeyRequest(keypair_name='sdk-imported'))
    assert not client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='sdk-imported')).keypair.is_key_protection
    client.delete_keypair(DeleteKeypairRequest(keypair_name='sdk-imported'))
    client.delete_keypair(DeleteKeypairRequest(keypair_name='sdk-generated'))
    calls = {entry['call'] for entry in emu_process.requests() if entry['status'] in (200, 204)}
    assert calls >= {'create_keypair', 'import_private_key', 'show_keypair', 'list_keypairs', 'update_keypair',
                     'export_private_key', 'batch_export_private_keys', 'clear_private_key', 'delete_keypair'}


def create_request(name, **fields):
    return CreateKeypairRequest(body=CreateKeypairRequestBody(keypair=CreateKeypairAction(name=name, **fields)))


def test_generate_and_host_through_the_sdk(emu_process):
    """key_protection.encryption without keys: KPS generates the pair, hosts it and returns the key once."""
    client = kps_client(emu_process)
    created = client.create_keypair(create_request(
        'sdk-managed', key_protection=KeyProtection(encryption=Encryption(type='kms', kms_key_name='kps/default'))))
    assert created.keypair.private_key.startswith('-----BEGIN RSA PRIVATE KEY-----')
    assert created.keypair.fingerprint == keys.fingerprint(created.keypair.public_key) and created.keypair.user_id
    shown = client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='sdk-managed')).keypair
    assert shown.is_key_protection is True and shown.frozen_state == 0 and isinstance(shown.id, int)
    exported = client.export_private_key(ExportPrivateKeyRequest(body=ExportPrivateKeyRequestBody(
        keypair=KeypairBean(name='sdk-managed'))))
    assert exported.keypair.private_key == created.keypair.private_key
    assert emu_process.keypair('sdk-managed')['encryption']['kms_key_name'] == 'kps/default'
    # the quirk: public_key with a key_protection that lacks private_key
    _private_key, public_key = keys.generate('ed25519')
    assert _sdk_error(lambda: client.create_keypair(create_request(
        'sdk-quirk', public_key=public_key, key_protection=KeyProtection(encryption=Encryption(type='default')))))[:2] \
        == (400, 'KPS.0002')
    # a name of 255 characters, created hosted, then shown, cleared and deleted
    long_name = 'g' * 255
    client.create_keypair(create_request(long_name, key_protection=KeyProtection(encryption=Encryption(type='default'))))
    assert client.list_keypair_detail(ListKeypairDetailRequest(keypair_name=long_name)).keypair.name == long_name
    client.clear_private_key(ClearPrivateKeyRequest(keypair_name=long_name))
    client.delete_keypair(DeleteKeypairRequest(keypair_name=long_name))


def test_list_fields_through_the_sdk(emu_process):
    client = kps_client(emu_process)
    client.create_keypair(create_request('sdk-listed', public_key=keys.generate('ed25519')[1], scope='domain'))
    listed = client.list_keypairs(ListKeypairsRequest(limit='1000'))
    item = next(entry.keypair for entry in listed.keypairs if entry.keypair.name == 'sdk-listed')
    assert item.frozen_state == '0' and item.scope == 'domain' and item.is_key_protection is False
    assert listed.page_info.next_marker is None and listed.page_info.current_count == len(listed.keypairs)
    shown = client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='sdk-listed')).keypair
    assert (shown.scope, shown.description, shown.deleted, shown.frozen_state) == ('domain', '', False, 0)
    assert shown.create_time > 1_600_000_000_000 and shown.update_time >= shown.create_time


def test_batch_import_through_the_sdk(emu_process):
    """What kps_private_key_import with keys sends (public key + private key hosted, per-key encryption) parses
    into the SDK's BatchImportKeypairResponse: succeeded as CreateKeypairResponseBody, failed with the reason."""
    client = kps_client(emu_process)
    (hosted, hosted_public), good, bad = keys.generate('ed25519'), keys.generate('ed25519')[1], 'ssh-rsa not-a-key'
    result = client.batch_import_keypair(BatchImportKeypairRequest(body=[
        CreateKeypairRequestBody(keypair=CreateKeypairAction(name='sdk-bi-1', public_key=good)),
        CreateKeypairRequestBody(keypair=CreateKeypairAction(name='sdk-bi-2', public_key=bad)),
        CreateKeypairRequestBody(keypair=CreateKeypairAction(
            name='sdk-bi-3', type='ssh', public_key=hosted_public, scope='domain',
            key_protection=KeyProtection(private_key=hosted, encryption=Encryption(type='default')))),
        CreateKeypairRequestBody(keypair=CreateKeypairAction(
            name='sdk-bi-4', public_key=keys.generate('ed25519')[1], key_protection=KeyProtection(
                private_key=keys.generate('ed25519')[0], encryption=Encryption(type='default')))),
        CreateKeypairRequestBody(keypair=CreateKeypairAction(
            name='sdk-bi-5', public_key=hosted_public, key_protection=KeyProtection(
                private_key=hosted, encryption=Encryption(type='kms', kms_key_name='no/such-key'))))]))
    assert [item.keypair.name for item in result.succeeded_keypairs] == ['sdk-bi-1', 'sdk-bi-3']
    created = result.succeeded_keypairs[1].keypair
    assert created.public_key == hosted_public and created.fingerprint and created.private_key is None
    assert [item.keypair_name for item in result.failed_keypairs] == ['sdk-bi-2', 'sdk-bi-4', 'sdk-bi-5']
    reasons = [item.failed_reason for item in result.failed_keypairs]
    assert reasons[0].startswith('KPS.0002') and reasons[1].startswith('KPS.6011') and reasons[2].startswith('KPS.6008')
    shown = client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='sdk-bi-3')).keypair
    assert shown.is_key_protection is True and shown.scope == 'domain'
    too_many = [CreateKeypairRequestBody(keypair=CreateKeypairAction(name='sdk-bi-x%d' % i, public_key=good))
                for i in range(11)]
    assert _sdk_error(lambda: client.batch_import_keypair(BatchImportKeypairRequest(body=too_many)))[:2] == (400, 'KPS.0002')


def test_every_sdk_call_is_covered():
    offered = set(name[1:-len('_http_info')] for name in dir(KpsClient) if name.endswith('_http_info'))
    served = {'create_keypair', 'batch_import_keypair', 'list_keypairs', 'list_keypair_detail',
              'update_keypair_description', 'delete_keypair', 'import_private_key', 'export_private_key',
              'batch_export_private_key', 'clear_private_key'}
    # the ECS association and task calls: test_emulator_sdk_tasks.py
    tasks = {'associate_keypair', 'batch_associate_keypair', 'disassociate_keypair', 'list_keypair_task',
             'list_running_task', 'list_failed_task', 'delete_failed_task', 'delete_all_failed_task'}
    assert offered == served | tasks


def _sdk_error(call):
    with pytest.raises(exceptions.ServiceResponseException) as err:
        call()
    return err.value.status_code, err.value.error_code, err.value.request_id


def test_documented_errors_through_the_sdk(emu_process):
    client = kps_client(emu_process)
    status, code, request_id = _sdk_error(lambda: client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='missing')))
    assert (status, code) == (400, 'KPS.6004') and request_id
    client.create_keypair(CreateKeypairRequest(body=CreateKeypairRequestBody(
        keypair=CreateKeypairAction(name='sdk-mismatch', public_key=keys.generate('ed25519')[1]))))
    other = keys.generate('ed25519')[0]
    assert _sdk_error(lambda: client.import_private_key(import_request('sdk-mismatch', other)))[:2] == (400, 'KPS.6011')
    bad = kps_client(emu_process, BasicCredentials(emu_process.access_key, 'not-the-secret', emu_process.project_id))
    assert _sdk_error(lambda: bad.list_keypairs(ListKeypairsRequest()))[:2] == (401, 'APIGW.0301')
    export = ExportPrivateKeyRequest(body=ExportPrivateKeyRequestBody(keypair=KeypairBean(name='sdk-mismatch')))
    errors = [
        (lambda: client.export_private_key(export), (400, 'KPS.6005')),
        (lambda: client.clear_private_key(ClearPrivateKeyRequest(keypair_name='sdk-mismatch')), (404, 'KPS.6005')),
        (lambda: client.batch_export_private_key(batch_request(['sdk-mismatch'])), (400, 'KPS.6005')),
        (lambda: client.batch_export_private_key(batch_request(['k%d' % i for i in range(11)])), (400, 'KPS.0002')),
        (lambda: client.create_keypair(create_request('bad name')), (400, 'KPS.0002')),
        (lambda: client.create_keypair(create_request('sdk-mismatch')), (400, 'KPS.0002')),  # exists already
        (lambda: client.create_keypair(create_request('sdk-user', user_id='someone-else')), (400, 'KPS.0006')),
        (lambda: client.import_private_key(import_request('sdk-mismatch', other, Encryption(
            type='kms', kms_key_name='no/such-key'))), (400, 'KPS.6008')),
        (lambda: client.import_private_key(import_request('i' * 65, other)), (400, 'KPS.0002')),  # import: 64
        (lambda: client.list_keypairs(ListKeypairsRequest(limit='1001')), (400, 'KPS.0002')),
        (lambda: client.delete_keypair(DeleteKeypairRequest(keypair_name='missing')), (400, 'KPS.6004')),
        (lambda: client.update_keypair_description(UpdateKeypairDescriptionRequest(
            keypair_name='sdk-mismatch', body=UpdateKeypairDescriptionRequestBody(
                keypair=UpdateKeypairDescriptionReq(description='x' * 256)))), (400, 'KPS.0002')),
    ]
    for call, expected in errors:
        assert _sdk_error(call)[:2] == expected


@pytest.mark.parametrize('fault, expected', [
    ({'status': 500, 'error_code': 'KPS.0003'}, (500, 'KPS.0003')),
    ({'retry_after': 1}, (429, '429')),  # the SDK's transport gives up on 429 itself, before reading the body
    ({'status': 403, 'error_code': 'KPS.9003'}, (403, 'KPS.9003')),
])
def test_server_side_errors_parse_through_the_sdk(emu_process, fault, expected):
    client = kps_client(emu_process)
    emu_process.add_faults(dict(fault, call='list_keypairs'))
    assert _sdk_error(lambda: client.list_keypairs(ListKeypairsRequest()))[:2] == expected


@pytest.mark.parametrize('answer', [{'status': 404, 'error_code': 'KPS.4016'}, {'status': 404, 'error_code': None},
                                    {'status': 400, 'error_code': 'KPS.0002'}])
def test_not_found_variants_parse_through_the_sdk(emu_process, answer):
    client = kps_client(emu_process)
    emu_process.set_switches(not_found=answer)
    try:
        status, code, _request_id = _sdk_error(
            lambda: client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='missing')))
    finally:
        emu_process.reset_switches()
    assert status == answer['status'] and code == (answer['error_code'] or str(answer['status']))


def test_expired_token_parses_through_the_sdk(emu_process):
    token = emu_process.client().login()
    client = kps_client(emu_process, token_credentials(token, emu_process.project_id))
    emu_process.expire_tokens()
    assert _sdk_error(lambda: client.list_keypairs(ListKeypairsRequest()))[:2] == (401, 'APIGW.0307')


def test_iam_token_works_for_kps_calls(emu_process):
    token = emu_process.client().login()
    client = kps_client(emu_process, token_credentials(token, emu_process.project_id))
    client.list_keypairs(ListKeypairsRequest())
    assert emu_process.requests()[-1]['auth'] == 'token'


def test_latency_on_loopback(emu_process):
    """Prints (does not assert) the median latency of a show call and of a batch export of 10 keys."""
    client = kps_client(emu_process)
    raw = emu_process.client()
    names = []
    for index in range(10):
        private_key, public_key = keys.generate('ed25519')
        name = 'lat-%d' % index
        raw.json('POST', raw.kps(), {'keypair': {'name': name, 'public_key': public_key, 'key_protection': {
            'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
        names.append(name)

    def median_ms(call, rounds=100):
        samples = []
        for _round in range(rounds):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    show_raw = median_ms(lambda: raw.call('GET', raw.kps('/lat-0')))
    batch_raw = median_ms(lambda: raw.call('POST', raw.kps('/private-key/batch-export'),
                                           [{'keypair': {'name': n}} for n in names]))
    show_sdk = median_ms(lambda: client.list_keypair_detail(ListKeypairDetailRequest(keypair_name='lat-0')))
    batch_sdk = median_ms(lambda: client.batch_export_private_key(batch_request(names)))
    print('\nemulator median latency on loopback: show %.2f ms (SDK %.2f ms), batch export of 10 %.2f ms (SDK %.2f ms)'
          % (show_raw, show_sdk, batch_raw, batch_sdk))
    assert DEFAULTS['region']  # measurement only
