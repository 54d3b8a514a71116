# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_keypair_server in-process against an in-memory ECS + KPS task service: groups of at most 10 servers,
a task still running from an earlier run, the wait timeout, wait=false, the auth.key sent (PEM) or refused."""
from __future__ import annotations

from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keypair_server_runner import KeypairServerRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import load_private_key
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.modules import kps_keypair_server
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args

PASSWORD = 'root-password-for-tests'


class FakeTasks:
    """ECS servers and KPS tasks in memory; with ``finish`` a wait ends the tasks, else they keep running."""

    def __init__(self, count, finish=True):
        self.servers = dict(('s%02d' % i, {'id': 's%02d' % i, 'name': 'web-%02d' % i, 'status': 'ACTIVE',
                                           'key_name': None}) for i in range(count))
        self.tasks = {}
        self.finish = finish
        self.calls = []
        self.running_at_most = 0

    def show_server(self, server_id):
        self.calls.append('show_server')
        return dict(self.servers[server_id]) if server_id in self.servers else None

    def running_tasks(self):
        self.calls.append('running_tasks')
        return [dict(task_id=task_id, server_id=task['server'], keypair_name=task['keypair'],
                     operate_type='RUNNING_' + task['op']) for task_id, task in self.tasks.items() if task['left']]

    def associate(self, keypair, servers):
        self.calls.append('associate:%d' % len(servers))
        answers = []
        for info in servers:
            assert info['auth'] == {'type': 'password', 'key': PASSWORD} and info['port'] == 22
            task_id = 't-%s' % info['id']
            self.tasks[task_id] = {'server': info['id'], 'keypair': keypair, 'op': 'BIND', 'left': True}
            answers.append({'server_id': info['id'], 'task_id': task_id, 'status': 'SUCCESS', 'error_code': None,
                            'error_msg': None})
        self.running_at_most = max(self.running_at_most, len(self.running_tasks()))
        return answers

    def wait(self, task_ids, timeout):
        statuses = {}
        for task_id in task_ids:
            task = self.tasks[task_id]
            if self.finish:
                task['left'] = False
                self.servers[task['server']]['key_name'] = task['keypair']
            statuses[task_id] = ('SUCCESS_' if not task['left'] else 'RUNNING_') + task['op']
        self.calls.append('wait:%d' % len(task_ids))
        return statuses

    def failed_tasks(self):
        self.calls.append('failed_tasks')
        return []


def run(fake, fail=False, check=False, keypairs=None, **args):
    """``keypairs``: the key pairs KPS has besides deploy (those the servers have now, with public keys); the KPS
    client, with find_keypairs as its only read (spec: any other call fails), is left in ``fake.kps``."""
    known = dict({'deploy': {'name': 'deploy', 'public_key': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIdeploy'}},
                 **(keypairs or {}))
    kps = mock.Mock(spec=['project_id', 'find_keypairs'], project_id='p1', find_keypairs=mock.Mock(
        side_effect=lambda names: dict((name, known[name]) for name in names if name in known)))
    fake.kps = kps
    params = dict(name='deploy', servers=sorted(fake.servers), auth={'type': 'password', 'key': PASSWORD},
                  ecs_endpoint='http://127.0.0.1:1', region='cn-north-4', access_key='ak', secret_key='sk',
                  _ansible_check_mode=check)
    params.update(args)
    with set_module_args(params), \
            mock.patch.object(KpsModule, 'kps', new_callable=mock.PropertyMock, return_value=kps), \
            mock.patch.object(KeypairServerRunner, 'client', new_callable=mock.PropertyMock, return_value=fake):
        return run_module(kps_keypair_server.main, fail=fail)


def test_25_servers_go_in_groups_of_10_each_waited_for():
    fake = FakeTasks(25)
    result = run(fake)
    assert result['changed'] and result['msg'] == 'Put key pair deploy on 25 servers.'
    starts = [call for call in fake.calls if call.startswith(('associate', 'wait'))]
    assert starts == ['associate:10', 'wait:10', 'associate:10', 'wait:10', 'associate:5', 'wait:5']
    assert fake.running_at_most == 10
    assert fake.kps.find_keypairs.call_args_list == [mock.call(['deploy'])]  # one read of KPS (a show)
    assert set(server['key_name'] for server in fake.servers.values()) == {'deploy'}
    assert PASSWORD not in str(result)
    again = run(fake)
    assert not again['changed'] and fake.calls[-25:] == ['show_server'] * 25
    assert fake.kps.find_keypairs.call_args_list == []  # nothing to change: KPS is not read


def test_a_task_still_running_from_an_earlier_run_is_waited_for_not_started_again():
    fake = FakeTasks(2, finish=False)
    started = run(fake, wait=False)
    assert started['changed'] and [s['task_status'] for s in started['servers']] == ['RUNNING_BIND'] * 2
    fake.finish = True
    fake.calls = []
    waited = run(fake)
    assert waited['changed'] and [s['task_status'] for s in waited['servers']] == ['SUCCESS_BIND'] * 2
    assert not any(call.startswith('associate') for call in fake.calls)
    assert [s['task_id'] for s in waited['servers']] == ['t-s00', 't-s01']


def test_wait_false_starts_at_most_the_free_room_and_says_so_before_any_write():
    fake = FakeTasks(11)
    failure = run(fake, fail=True, wait=False)
    assert failure['msg'] == ('With wait=false at most 10 tasks can start now (at most 10 run at once), and 11 servers '
                              'need one: use wait=true, or fewer servers.')
    assert not any(call.startswith('associate') for call in fake.calls)


def test_tasks_still_running_at_the_timeout_are_named():
    fake = FakeTasks(1, finish=False)
    failure = run(fake, fail=True, wait_timeout=5)
    assert failure['changed'] and failure['servers'][0]['task_status'] == 'RUNNING_BIND'
    assert failure['msg'].startswith('A task is still running after wait_timeout (5 s): web-00 (s00): task t-s00. '
                                     'KPS goes on with it; run the task again later (it waits for it).')


@pytest.mark.parametrize('check', [True, False])
def test_another_task_on_a_server_fails_before_any_write(check):
    fake = FakeTasks(2)
    fake.tasks['other'] = {'server': 's01', 'keypair': 'old', 'op': 'UNBIND', 'left': True}
    failure = run(fake, fail=True, check=check)
    assert failure['msg'] == ('A server already has a running key pair task: web-01 (s01): task other (RUNNING_UNBIND, '
                              'key pair old). Wait for it (huaweicloud.kps.kps_task_info lists running tasks) and run '
                              'again.')
    assert not any(call.startswith('associate') for call in fake.calls)


def test_a_call_that_fails_after_the_first_group_still_reports_what_started():
    fake = FakeTasks(12)
    real_associate = fake.associate

    def associate(keypair, servers):
        if len(servers) == 2:
            raise HuaweiCloudError('batch associate key pair', status=400, error_code='KPS.7010', error_msg='busy')
        return real_associate(keypair, servers)

    fake.associate = associate
    failure = run(fake, fail=True)
    assert failure['msg'] == "KPS call 'batch associate key pair' failed: HTTP 400 KPS.7010: busy"
    assert failure['changed'] is True and failure['error_code'] == 'KPS.7010'
    assert [server['task_status'] for server in failure['servers']] == ['SUCCESS_BIND'] * 10 + [None] * 2
    assert [server['key_name'] for server in failure['servers']] == ['deploy'] * 10 + [None] * 2


def _openssh_key(kind):
    key = rsa.generate_private_key(65537, 2048) if kind == 'rsa' else ed25519.Ed25519PrivateKey.generate()
    text = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption()).decode('ascii')
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return text, public.decode('ascii')


@pytest.mark.parametrize('kind, header', [('rsa', '-----BEGIN RSA PRIVATE KEY-----'),
                                          ('ed25519', '-----BEGIN PRIVATE KEY-----')])
def test_an_openssh_format_auth_key_goes_to_kps_as_unencrypted_pem(kind, header):
    text, public = _openssh_key(kind)
    fake = FakeTasks(1)
    fake.servers['s00']['key_name'] = 'old'
    sent = []

    def associate(keypair, servers):
        sent.extend(server['auth'] for server in servers)
        return [{'server_id': 's00', 'task_id': 't-s00', 'status': 'SUCCESS', 'error_code': None, 'error_msg': None}]

    fake.associate = associate
    fake.tasks['t-s00'] = {'server': 's00', 'keypair': 'deploy', 'op': 'REPLACE', 'left': False}
    result = run(fake, auth={'type': 'keypair', 'key': text}, keypairs={'old': {'name': 'old', 'public_key': public}})
    assert result['changed'] and len(sent) == 1 and sent[0]['type'] == 'keypair'
    # One read of KPS for the key pair to put on and the one the server has (a listing, not two shows).
    assert fake.kps.find_keypairs.call_args_list == [mock.call(['deploy', 'old'])]
    assert sent[0]['key'].startswith(header) and 'OPENSSH' not in sent[0]['key']
    assert load_private_key(sent[0]['key']).public_key == ' '.join(public.split()[:2])
    assert text not in str(result) and sent[0]['key'] not in str(result)


@pytest.mark.parametrize('key, msg', [
    ('encrypted', 'auth.key is an encrypted private key: KPS needs it unencrypted to log in to the servers. Give an '
                  'unencrypted copy of the key (cp <file> <copy> && ssh-keygen -p -N "" -f <copy>), and remove the '
                  'copy afterwards.'),
    ('public', 'auth.key cannot be used as the private key KPS logs in with: The data given as the private key is an '
               'OpenSSH public key. Give the private key (the file without .pub).'),
    ('damaged', 'auth.key cannot be used as the private key KPS logs in with: The private key could not be parsed: it '
                'is malformed, truncated or of an unsupported kind. Check that the whole file was given.'),
])
def test_an_auth_key_that_cannot_be_read_fails_before_any_call(key, msg):
    private = rsa.generate_private_key(65537, 2048)
    texts = {
        'encrypted': private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.BestAvailableEncryption(b'secret-pass')).decode(),
        'public': private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                    serialization.PublicFormat.OpenSSH).decode(),
        # the body cut short: the markers are there, the DER inside is not whole
        'damaged': '\n'.join(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()).decode().splitlines()[:5]
                             + ['-----END PRIVATE KEY-----']),
    }
    fake = FakeTasks(1)
    failure = run(fake, fail=True, auth={'type': 'keypair', 'key': texts[key]})
    assert failure['msg'] == msg
    assert fake.calls == []
    body = [line for line in texts[key].splitlines() if line and not line.startswith('-----')]
    assert not any(line in str(failure) for line in body)


def test_the_private_key_of_another_key_pair_fails_before_any_write():
    """KPS logs in with auth.key: another key pair's key would make every task fail (KPS.7003) once started."""
    text, _public = _openssh_key('ed25519')
    _other_text, other_public = _openssh_key('ed25519')
    fake = FakeTasks(2)
    for server in fake.servers.values():
        server['key_name'] = 'old'
    for check in (True, False):
        failure = run(fake, fail=True, check=check, auth={'type': 'keypair', 'key': text},
                      keypairs={'old': {'name': 'old', 'public_key': other_public + ' comment'}})
        assert failure['msg'] == (
            'auth.key is not the private key of key pair old, which web-00 (s00), web-01 (s01) have now: KPS logs in '
            'with auth.key and would fail. Give the private key of the key pair the servers have now '
            '(huaweicloud.kps.kps_private_key_export exports it when KPS hosts it), or auth.type password.')
        assert not any(call.startswith('associate') for call in fake.calls)
        assert fake.kps.find_keypairs.call_args_list == [mock.call(['deploy', 'old'])]
        assert text not in str(failure)


@pytest.mark.parametrize('auth', ['password', 'keypair'])
def test_a_key_pair_kps_does_not_have_fails_after_one_read_before_the_tasks_are_read(auth):
    text, public = _openssh_key('ed25519')
    fake = FakeTasks(2)
    fake.servers['s01']['key_name'] = 'old'
    given = {'type': 'keypair', 'key': text} if auth == 'keypair' else {'type': 'password', 'key': PASSWORD}
    failure = run(fake, fail=True, name='missing', auth=given, servers=['s01'],
                  keypairs={'old': {'name': 'old', 'public_key': public}})
    assert failure['msg'] == 'Key pair missing does not exist in KPS. Create it first (huaweicloud.kps.kps_keypair).'
    assert fake.kps.find_keypairs.call_args_list == [mock.call(['missing', 'old'] if auth == 'keypair' else ['missing'])]
    assert fake.calls == ['show_server']
