# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conformance: the official SDK's KpsClient, signing with its own code, works against the emulator process."""
from __future__ import annotations

import io
import statistics
import time
import zipfile

import pytest

from kps_emulator import keys
from kps_emulator.server import DEFAULTS

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkkps.v3 import (
    BatchExportPrivateKeyRequest, ClearPrivateKeyRequest, CreateKeypairAction, CreateKeypairRequest,
    CreateKeypairRequestBody, DeleteKeypairRequest, Encryption, ExportPrivateKeyRequest, ExportPrivateKeyRequestBody,
    ImportPrivateKeyKeypairBean, ImportPrivateKeyProtection, ImportPrivateKeyRequest, ImportPrivateKeyRequestBody,
    KeypairBean, Keypairs, KpsClient, ListKeypairDetailRequest, ListKeypairsRequest, UpdateKeypairDescriptionReq,
    UpdateKeypairDescriptionRequest, UpdateKeypairDescriptionRequestBody)


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


def _sdk_error(call):
    with pytest.raises(exceptions.ClientRequestException) as err:
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
