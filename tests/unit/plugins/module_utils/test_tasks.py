# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TaskClient: the KPS task calls and the ECS server read; task text from the endpoint is scrubbed."""
from __future__ import annotations

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import CredentialError
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import (
    HuaweiCloudError,
    forget_secrets,
    register_secrets,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._tasks import (
    TASK_PAGE_SIZE,
    TaskClient,
    ecs_endpoint,
)
from ansible_collections.huaweicloud.kps.tests.unit.plugins.module_utils.test_kps import FakeHttp

BASE = 'https://kms.cn-north-4.myhuaweicloud.com/v3/p1'
ECS = 'https://ecs.cn-north-4.myhuaweicloud.com'


def client(*answers):
    http = FakeHttp(*answers)
    return TaskClient(http, BASE, 'p1', ECS), http


def test_show_server_reads_key_name_and_status_from_ecs():
    tasks, http = client({'server': {'id': 's1', 'name': 'web-1', 'status': 'SHUTOFF', 'key_name': 'deploy'}},
                         HuaweiCloudError('show server', status=404, error_code='Ecs.0114', service='ECS'))
    assert tasks.show_server('s1') == {'id': 's1', 'name': 'web-1', 'status': 'SHUTOFF', 'key_name': 'deploy'}
    assert tasks.show_server('s/2') is None  # 404: no such server
    assert [call['url'] for call in http.calls] == [ECS + '/v1/p1/cloudservers/s1', ECS + '/v1/p1/cloudservers/s%2F2']
    assert http.calls[0]['service'] == 'ECS'


def test_one_server_is_associate_several_are_one_batch_call():
    answer = {'task_id': 't1', 'server_id': 's1', 'status': 'SUCCESS'}
    tasks, http = client(answer, {'tasks': [answer, dict(answer, server_id='s2', task_id='t2')]})
    assert tasks.associate('kp', [{'id': 's1'}])[0]['task_id'] == 't1'
    started = tasks.associate('kp', [{'id': 's1'}, {'id': 's2'}])
    assert [item['task_id'] for item in started] == ['t1', 't2']
    assert http.calls[0]['url'] == BASE + '/keypairs/associate' and http.calls[0]['idempotent'] is False
    assert http.calls[0]['json'] == {'keypair_name': 'kp', 'server': {'id': 's1'}}
    assert http.calls[1]['url'] == BASE + '/keypairs/batch-associate'
    assert http.calls[1]['json'] == {'batch_keypairs': [{'keypair_name': 'kp', 'server': {'id': 's1'}},
                                                        {'keypair_name': 'kp', 'server': {'id': 's2'}}]}
    with pytest.raises(ValueError):
        tasks.associate('kp', [{'id': str(index)} for index in range(11)])


def test_task_text_from_the_endpoint_is_scrubbed():
    """A failed task record that echoes the password or a private key never reaches a result raw."""
    forget_secrets()
    register_secrets('root-password-1234')
    try:
        record = {'task_id': 't1', 'server_id': 's1', 'task_error_code': 'KPS.7003\x1b[31m',
                  'task_error_msg': 'login with root-password-1234 failed: -----BEGIN RSA PRIVATE KEY-----\nAAAA'
                                    + 'x' * 1000}
        tasks, _http = client({'total': 1, 'tasks': [record]})
        failed = tasks.failed_tasks()[0]
    finally:
        forget_secrets()
    assert 'root-password-1234' not in str(failed) and 'BEGIN RSA' not in str(failed) and '\x1b' not in str(failed)
    assert failed['task_error_msg'].startswith('login with [secret removed] failed: [PEM block removed]')
    assert len(failed['task_error_msg']) < 320 and failed['server_name'] is None


def test_task_lists_read_every_page():
    page = [{'task_id': 't%d' % index} for index in range(TASK_PAGE_SIZE)]
    last = {'total': TASK_PAGE_SIZE + 1, 'tasks': [{'task_id': 'last'}]}
    tasks, http = client({'total': TASK_PAGE_SIZE + 1, 'tasks': page}, last)
    running = tasks.running_tasks()
    assert len(running) == TASK_PAGE_SIZE + 1 and running[-1]['task_id'] == 'last'
    assert [call['params'] for call in http.calls] == [{'limit': TASK_PAGE_SIZE, 'offset': 0},
                                                       {'limit': TASK_PAGE_SIZE, 'offset': TASK_PAGE_SIZE}]


def test_delete_failed_task_of_a_record_that_is_gone():
    tasks, _http = client(HuaweiCloudError('delete failed task', status=404, error_code='KPS.7007'), None)
    assert tasks.delete_failed_task('t1') is False
    assert tasks.delete_failed_task('t2') is True


def test_wait_polls_until_every_task_is_final_or_the_timeout():
    now = [0.0]
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        now[0] += seconds

    statuses = ['RUNNING_BIND', 'READY_RESET', 'SUCCESS_BIND', 'RUNNING_RESET', 'FAILED_RESET']
    tasks, http = client(*[{'task_status': status} for status in statuses])
    assert tasks.wait(['a', 'b'], 60, clock=lambda: now[0], sleep=sleep) == {'a': 'SUCCESS_BIND', 'b': 'FAILED_RESET'}
    assert pauses == [0.25, 0.5, 1.0] and [call['url'][-2:] for call in http.calls] == ['/a', '/b', '/a', '/b', '/b']
    tasks, http = client(*[{'task_status': 'RUNNING_BIND'}] * 10)
    now[0], pauses[:] = 0.0, []
    assert tasks.wait(['a'], 2, clock=lambda: now[0], sleep=sleep) == {'a': 'RUNNING_BIND'}
    assert sum(pauses) == 2 and len(http.calls) == 4  # the last poll at the deadline


def test_ecs_endpoint_default_and_checks():
    assert ecs_endpoint(None, 'cn-north-4', None) == ECS
    assert ecs_endpoint('http://127.0.0.1:8443/', None, None) == 'http://127.0.0.1:8443'
    with pytest.raises(CredentialError, match='ecs_endpoint .HW_ECS_ENDPOINT. or region is required'):
        ecs_endpoint(None, None, None)
    with pytest.raises(CredentialError, match='ecs_endpoint is plain http:// to ecs.example.com'):
        ecs_endpoint('http://ecs.example.com', None, None)
