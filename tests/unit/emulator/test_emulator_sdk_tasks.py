# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conformance: the official SDK's ECS association and task calls against the emulator process.

Each call is driven through huaweicloudsdkkps and its answer must parse into the SDK's models; the rules
(stopped servers take no auth and port 22, at most 10 servers at once, tasks that fail) are checked through
what the SDK reads back and what the emulator holds.
"""
from __future__ import annotations

import time

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkkps.v3 import (
    AssociateKeypairRequest,
    AssociateKeypairRequestBody,
    Auth,
    BatchAssociateKeypairRequest,
    BatchAssociateKeypairRequestBody,
    DeleteAllFailedTaskRequest,
    DeleteFailedTaskRequest,
    DisassociateEcsServerInfo,
    DisassociateKeypairRequest,
    DisassociateKeypairRequestBody,
    EcsServerInfo,
    KpsClient,
    ListFailedTaskRequest,
    ListKeypairTaskRequest,
    ListRunningTaskRequest,
)

from kps_emulator import keys

PASSWORD = 'server-root-password'


# Not imported from test_emulator_sdk: ansible-test units does not put this directory on sys.path.
def kps_client(emu):
    credentials = BasicCredentials(emu.access_key, emu.secret_key, emu.project_id)
    return KpsClient.new_builder().with_credentials(credentials).with_endpoint(emu.url).build()


@pytest.fixture
def emu(emu_process):
    """The module's emulator process with fast tasks and two fresh key pairs (kp-a, kp-b)."""
    emu_process.control('DELETE', '/servers')
    emu_process.control('DELETE', '/tasks')
    emu_process.set_task_settings(seconds=0.2, failure=None)
    client = emu_process.client()
    private = {}
    for name in ('kp-a', 'kp-b'):
        client.call('DELETE', client.kps('/' + name))
        private[name], public_key = keys.generate('ed25519')
        client.json('POST', client.kps(), {'keypair': {'name': name, 'public_key': public_key}}, expect=200)
    emu_process.private_keys = private
    return emu_process


def associate(keypair, server_id, auth=None, port=None):
    return AssociateKeypairRequest(body=AssociateKeypairRequestBody(
        keypair_name=keypair, server=EcsServerInfo(id=server_id, auth=auth, port=port)))


def wait(client, task_id, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        task = client.list_keypair_task(ListKeypairTaskRequest(task_id=task_id))
        if not task.task_status.startswith(('RUNNING_', 'READY_')) or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


def test_associate_replace_and_disassociate_through_the_sdk(emu):
    client = kps_client(emu)
    emu.add_servers({'id': 'srv-on', 'name': 'web-1', 'password': PASSWORD},
                    {'id': 'srv-off', 'name': 'db-1', 'status': 'SHUTOFF'})
    emu.set_task_settings(seconds=600)  # running until finish_tasks(), however slow the machine
    bound = client.associate_keypair(associate('kp-a', 'srv-on', Auth(type='password', key=PASSWORD), 22))
    assert (bound.status, bound.server_id, bound.error_code) == ('SUCCESS', 'srv-on', None) and bound.task_id
    running = client.list_running_task(ListRunningTaskRequest(limit=10, offset=0))
    assert running.total == 1 and running.tasks[0].task_id == bound.task_id
    assert (running.tasks[0].server_name, running.tasks[0].keypair_name) == ('web-1', 'kp-a')
    assert running.tasks[0].operate_type == 'RUNNING_BIND' and int(running.tasks[0].task_time) > 1_600_000_000_000
    assert emu.server('srv-on')['key_name'] is None  # not before the task ends
    assert client.list_keypair_task(ListKeypairTaskRequest(task_id=bound.task_id)).task_status == 'RUNNING_BIND'
    assert emu.finish_tasks() == 1
    emu.set_task_settings(seconds=0.2)
    task = wait(client, bound.task_id)
    assert (task.task_id, task.server_id, task.task_status) == (bound.task_id, 'srv-on', 'SUCCESS_BIND')
    assert emu.server('srv-on')['key_name'] == 'kp-a'
    # replace: the current key pair's private key logs in
    replaced = client.associate_keypair(associate('kp-b', 'srv-on', Auth(type='keypair', key=emu.private_keys['kp-a'])))
    assert wait(client, replaced.task_id).task_status == 'SUCCESS_REPLACE'
    assert emu.server('srv-on')['key_name'] == 'kp-b'
    # a stopped server: no auth, port 22; the key is reset
    reset = client.associate_keypair(associate('kp-a', 'srv-off'))
    assert wait(client, reset.task_id).task_status == 'SUCCESS_RESET' and emu.server('srv-off')['key_name'] == 'kp-a'
    unbound = client.disassociate_keypair(DisassociateKeypairRequest(body=DisassociateKeypairRequestBody(
        server=DisassociateEcsServerInfo(id='srv-on', auth=Auth(type='password', key=PASSWORD)))))
    assert unbound.status == 'SUCCESS' and wait(client, unbound.task_id).task_status == 'SUCCESS_UNBIND'
    assert emu.server('srv-on')['key_name'] is None
    assert all(PASSWORD not in str(task) for task in emu.tasks())  # the control API never shows an auth key


def test_batch_associate_and_the_ten_server_rule_through_the_sdk(emu):
    client = kps_client(emu)
    emu.set_task_settings(seconds=600)  # running until the end of the test, however slow the machine
    emu.add_servers(*[{'id': 'srv-%02d' % index, 'name': 'web-%02d' % index, 'password': PASSWORD}
                      for index in range(12)])
    bodies = [AssociateKeypairRequestBody(keypair_name='kp-a', server=EcsServerInfo(
        id='srv-%02d' % index, auth=Auth(type='password', key=PASSWORD))) for index in range(11)]
    with pytest.raises(exceptions.ClientRequestException) as err:
        client.batch_associate_keypair(BatchAssociateKeypairRequest(body=BatchAssociateKeypairRequestBody(
            batch_keypairs=bodies)))
    assert (err.value.status_code, err.value.error_code) == (400, 'KPS.0002')
    bodies[9] = AssociateKeypairRequestBody(keypair_name='kp-a', server=EcsServerInfo(id='no-such-server', auth=Auth(
        type='password', key=PASSWORD)))
    answer = client.batch_associate_keypair(BatchAssociateKeypairRequest(body=BatchAssociateKeypairRequestBody(
        batch_keypairs=bodies[:10])))
    assert [task.status for task in answer.tasks] == ['SUCCESS'] * 9 + ['FAILED']
    assert (answer.tasks[9].server_id, answer.tasks[9].error_code, answer.tasks[9].task_id) == \
        ('no-such-server', 'KPS.7004', None)
    # 9 running: one more fits, two do not
    with pytest.raises(exceptions.ClientRequestException) as err:
        client.batch_associate_keypair(BatchAssociateKeypairRequest(body=BatchAssociateKeypairRequestBody(
            batch_keypairs=[bodies[10], AssociateKeypairRequestBody(keypair_name='kp-a', server=EcsServerInfo(
                id='srv-11', auth=Auth(type='password', key=PASSWORD)))])))
    assert (err.value.status_code, err.value.error_code) == (400, 'KPS.7010')
    assert client.associate_keypair(associate('kp-a', 'srv-10', Auth(type='password', key=PASSWORD))).status == 'SUCCESS'
    assert client.list_running_task(ListRunningTaskRequest()).total == 10
    page = client.list_running_task(ListRunningTaskRequest(limit=4, offset=8))
    assert page.total == 10 and len(page.tasks) == 2


def test_failed_tasks_and_their_deletion_through_the_sdk(emu):
    client = kps_client(emu)
    emu.add_servers({'id': 'srv-good', 'name': 'good', 'password': PASSWORD},
                    {'id': 'srv-private', 'name': 'private', 'password': PASSWORD, 'public_image': False},
                    {'id': 'srv-closed', 'name': 'closed', 'password': PASSWORD, 'ssh_open': False},
                    {'id': 'srv-off', 'name': 'off', 'status': 'SHUTOFF'})
    emu.set_task_settings(seconds=600)  # srv-good stays busy until finish_tasks()
    wrong = client.associate_keypair(associate('kp-a', 'srv-good', Auth(type='password', key='wrong-password')))
    private = client.associate_keypair(associate('kp-a', 'srv-private', Auth(type='password', key=PASSWORD)))
    closed = client.associate_keypair(associate('kp-a', 'srv-closed', Auth(type='password', key=PASSWORD)))
    other_port = client.associate_keypair(associate('kp-a', 'srv-good', Auth(type='password', key=PASSWORD), 2222))
    assert other_port.status == 'FAILED' and other_port.error_code == 'KPS.7005'  # srv-good is busy
    assert emu.finish_tasks() == 3
    emu.set_task_settings(seconds=0.2)
    statuses = {task_id: wait(client, task_id).task_status for task_id in (wrong.task_id, private.task_id,
                                                                           closed.task_id)}
    assert set(statuses.values()) == {'FAILED_BIND'}
    failed = client.list_failed_task(ListFailedTaskRequest(limit=10, offset=0))
    by_server = {task.server_id: task for task in failed.tasks}
    assert failed.total == 3 and set(by_server) == {'srv-good', 'srv-private', 'srv-closed'}
    assert [by_server[name].task_error_code for name in ('srv-good', 'srv-private', 'srv-closed')] == \
        ['KPS.7003', 'KPS.7001', 'KPS.7002']
    assert by_server['srv-good'].operate_type == 'FAILED_BIND' and by_server['srv-good'].keypair_name == 'kp-a'
    assert 'wrong-password' not in str(emu.tasks())
    # stopped: auth or another port is a parameter error; a running server needs auth
    refused = client.associate_keypair(associate('kp-a', 'srv-off', Auth(type='password', key=PASSWORD)))
    assert (refused.status, refused.error_code, refused.task_id) == ('FAILED', 'KPS.0002', None)
    assert client.associate_keypair(associate('kp-a', 'srv-off', port=2222)).error_code == 'KPS.0002'
    assert client.associate_keypair(associate('kp-a', 'srv-good')).error_code == 'KPS.0002'
    # the failure switch fails every task with its code and message
    emu.set_task_settings(failure={'error_code': 'KPS.7999', 'error_msg': 'emulated task failure'})
    switched = client.associate_keypair(associate('kp-a', 'srv-off'))
    assert wait(client, switched.task_id).task_status == 'FAILED_RESET'
    assert emu.server('srv-off')['key_name'] is None
    client.delete_failed_task(DeleteFailedTaskRequest(task_id=wrong.task_id))
    left = client.list_failed_task(ListFailedTaskRequest())
    assert left.total == 3 and wrong.task_id not in [task.task_id for task in left.tasks]
    assert switched.task_id in [task.task_id for task in left.tasks]
    assert [task.task_error_msg for task in left.tasks if task.task_id == switched.task_id] == ['emulated task failure']
    with pytest.raises(exceptions.ClientRequestException) as err:
        client.delete_failed_task(DeleteFailedTaskRequest(task_id=wrong.task_id))
    assert err.value.status_code == 404
    client.delete_all_failed_task(DeleteAllFailedTaskRequest())
    assert client.list_failed_task(ListFailedTaskRequest()).total == 0


def test_unknown_task_and_missing_key_pair_through_the_sdk(emu):
    client = kps_client(emu)
    with pytest.raises(exceptions.ClientRequestException) as err:
        client.list_keypair_task(ListKeypairTaskRequest(task_id='no-such-task'))
    assert (err.value.status_code, err.value.error_code) == (404, 'KPS.7007')
    emu.add_servers({'id': 'srv-1', 'password': PASSWORD})
    with pytest.raises(exceptions.ClientRequestException) as err:
        client.associate_keypair(associate('missing', 'srv-1', Auth(type='password', key=PASSWORD)))
    assert (err.value.status_code, err.value.error_code) == (400, 'KPS.6004')
    unbind = client.disassociate_keypair(DisassociateKeypairRequest(body=DisassociateKeypairRequestBody(
        server=DisassociateEcsServerInfo(id='srv-1', auth=Auth(type='password', key=PASSWORD)))))
    assert (unbind.status, unbind.error_code) == ('FAILED', 'KPS.7006')


def test_ecs_show_server_is_signed_and_shaped(emu):
    """The ECS call the collection reads a server's key pair with: GET /v1/{project_id}/cloudservers/{id}."""
    emu.add_servers({'id': 'srv-ecs', 'name': 'web-9', 'status': 'SHUTOFF', 'key_name': 'kp-b'})
    client = emu.client()
    _status, _headers, data = client.json('GET', '/v1/%s/cloudservers/srv-ecs' % emu.project_id, expect=200)
    server = data['server']
    assert (server['id'], server['name'], server['status'], server['key_name']) == ('srv-ecs', 'web-9', 'SHUTOFF', 'kp-b')
    status, _headers, data = client.json('GET', '/v1/%s/cloudservers/missing' % emu.project_id)
    assert status == 404 and data['error']['code'] == 'Ecs.0114'
    status, _headers, _raw = emu.client(secret_key='wrong').call('GET', '/v1/%s/cloudservers/srv-ecs' % emu.project_id)
    assert status == 401
    assert emu.requests()[-1]['call'] == 'ecs_show_server'
