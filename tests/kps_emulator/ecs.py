# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ECS servers and the KPS key pair tasks that bind key pairs to them (docs/emulator.md, "Servers and tasks").

KPS binds, replaces, resets and unbinds the key pair of an ECS server asynchronously: each call answers at
once with a task id per server, and the task runs for ``seconds`` before it ends SUCCESS_<op> or FAILED_<op>.
Tasks are settled lazily: every call (and every control read) first ends the tasks whose time is up, and only
then does a server's ``key_name`` change. Servers and tasks live in memory only (the control API makes them).

Handlers return ``(status, data)`` and raise ``EcsError``; ``server.Emulator`` turns both into answers, so this
file needs nothing from server.py. The shapes follow the SDK models (huaweicloudsdkkps v3: associate_keypair_*,
batch_associate_keypair_*, disassociate_keypair_*, ecs_server_info, auth, list_keypair_task_response,
running_tasks, failed_tasks) and the ECS API's show server (``{"server": {...}}``).
"""
from __future__ import annotations

import copy
import json
import re
import threading
import uuid

from . import keys

CALLS = ('associate_keypair', 'batch_associate_keypair', 'disassociate_keypair', 'show_task', 'list_running_tasks',
         'list_failed_tasks', 'delete_failed_task', 'delete_all_failed_tasks', 'ecs_show_server')
_P = r'^/v3/(?P<project>[^/]+)'
ROUTES = (
    ('POST', re.compile(_P + r'/keypairs/associate$'), 'associate_keypair'),
    ('POST', re.compile(_P + r'/keypairs/batch-associate$'), 'batch_associate_keypair'),
    ('POST', re.compile(_P + r'/keypairs/disassociate$'), 'disassociate_keypair'),
    ('GET', re.compile(_P + r'/tasks/(?P<task_id>[^/]+)$'), 'show_task'),
    ('GET', re.compile(_P + r'/running-tasks$'), 'list_running_tasks'),
    ('GET', re.compile(_P + r'/failed-tasks$'), 'list_failed_tasks'),
    ('DELETE', re.compile(_P + r'/failed-tasks$'), 'delete_all_failed_tasks'),
    ('DELETE', re.compile(_P + r'/failed-tasks/(?P<task_id>[^/]+)$'), 'delete_failed_task'),
    ('GET', re.compile(r'^/v1/(?P<project>[^/]+)/cloudservers/(?P<server_id>[^/]+)$'), 'ecs_show_server'),
)
# Terraform (kps_keypair_associate): at most 10 servers get a key pair at the same time.
MAX_RUNNING = 10
MAX_BATCH = 10
DEFAULT_PAGE = 1000
RUNNING, ACTIVE, SHUTOFF = 'RUNNING', 'ACTIVE', 'SHUTOFF'
DEFAULT_SETTINGS = {
    # How long a task runs before it ends (seconds).
    'seconds': 0.3,
    # Every task ends FAILED with this {"error_code", "error_msg"} (null: tasks fail only for their server's reasons).
    'failure': None,
}
# No source documents the codes of failed tasks or refused submissions: these are the emulator's own.
TASK_CODES = {
    'failure': 'KPS.7000',   # the failure switch
    'image': 'KPS.7001',     # not a public image
    'ssh': 'KPS.7002',       # SSH not reachable: port closed to 100.125.0.0/16, or not the port given
    'auth': 'KPS.7003',      # the password or the current key pair's private key is wrong
    'server': 'KPS.7004',    # no such server
    'busy': 'KPS.7005',      # the server has a running task
    'unbound': 'KPS.7006',   # unbind of a server that has no key pair
    'limit': 'KPS.7010',     # more than 10 tasks would run at once
    'param': 'KPS.0002',     # parameter error (auth with a stopped server, no auth with a running one, ...)
}
SERVER_FIELDS = {'id', 'name', 'status', 'key_name', 'public_image', 'ssh_open', 'ssh_port', 'password', 'fail_task'}


class EcsError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _param_error(message):
    return EcsError(400, TASK_CODES['param'], 'parameter error: ' + message)


class Ecs:
    """Servers and tasks. ``now()`` is the emulator's clock; ``keypair(name)`` returns a key pair record or
    raises the emulator's not-found error."""

    def __init__(self, now, keypair):
        self.now, self.keypair = now, keypair
        self.servers = {}
        self.tasks = {}  # task_id -> record, in creation order
        self.settings = copy.deepcopy(DEFAULT_SETTINGS)
        self._lock = threading.RLock()

    def route(self, method, path):
        """(call, handler, params) for a path of this file, else (None, None, {})."""
        for route_method, pattern, call in ROUTES:
            found = pattern.match(path)
            if found and route_method == method:
                return call, getattr(self, call), dict(found.groupdict())
        return None, None, {}

    # ----- tasks ------------------------------------------------------------------------------------------

    def _settle(self):
        """End every task whose time is up, in the order they started; a success changes the server."""
        now = self.now()
        for task in self.tasks.values():
            if task['end'] is not None or now < task['start'] + task['seconds']:
                continue
            server = self.servers.get(task['server_id'])
            failure = task['failure'] or self._late_failure(task, server)
            task['end'] = now
            if failure:
                task['result'], (task['error_code'], task['error_msg']) = 'FAILED', failure
            else:
                task['result'] = 'SUCCESS'
                server['key_name'] = None if task['operate'] == 'UNBIND' else task['keypair_name']

    def _late_failure(self, task, server):
        """Why the task fails once it runs (SSH to the server), or None."""
        if server is None:
            return TASK_CODES['server'], 'The server %s does not exist any more' % task['server_id']
        if server.get('fail_task'):
            return server['fail_task']['error_code'], server['fail_task']['error_msg']
        if not server['public_image']:
            return TASK_CODES['image'], 'The image of server %s is not a public image' % server['id']
        if task['power'] != ACTIVE:
            return None  # a stopped server gets its key set through its disk: no SSH
        if not server['ssh_open'] or task['port'] != server['ssh_port']:
            return TASK_CODES['ssh'], ('Failed to connect to server %s on SSH port %s: the security group must '
                                       'open it to 100.125.0.0/16' % (server['id'], task['port']))
        auth = task['auth']
        if auth['type'] == 'password':
            good = server.get('password') is not None and auth['key'] == server['password']
        else:
            good = self._private_key_fits(auth['key'], task['key_before'])
        if not good:
            return TASK_CODES['auth'], 'Authentication to server %s failed' % server['id']
        return None

    def _private_key_fits(self, private_key, keypair_name):
        if not keypair_name:
            return False
        try:
            record = self.keypair(keypair_name)
            return keys.same_public_key(record['public_key'], keys.public_key_of(private_key))
        except Exception:  # pylint: disable=broad-except  # any bad key is a failed login
            return False

    def _status(self, task):
        if task['end'] is None:
            return 'RUNNING_' + task['operate']
        return '%s_%s' % (task['result'], task['operate'])

    def _running(self):
        return [task for task in self.tasks.values() if task['end'] is None]

    def _submit(self, server_info, keypair_name, operate_for):
        """Check one server of a request and start its task; returns a TaskResponseBody dict."""
        server_id = server_info.get('id') if isinstance(server_info, dict) else None
        if not isinstance(server_id, str) or not server_id:
            raise _param_error('server.id is required')
        answer = {'server_id': server_id, 'task_id': None, 'status': 'FAILED', 'error_code': None, 'error_msg': None}
        server = self.servers.get(server_id)
        try:
            if server is None:
                raise EcsError(200, TASK_CODES['server'], 'The server %s does not exist' % server_id)
            if any(task['server_id'] == server_id for task in self._running()):
                raise EcsError(200, TASK_CODES['busy'], 'The server %s has a running key pair task' % server_id)
            auth, port = server_info.get('auth'), server_info.get('port')
            if server['status'] == ACTIVE:
                if not isinstance(auth, dict) or auth.get('type') not in ('password', 'keypair') or \
                        not isinstance(auth.get('key'), str) or not auth['key']:
                    raise _param_error('auth {type: password|keypair, key} is required for a running server')
                if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
                    raise _param_error('port must be an integer from 1 to 65535')
            elif auth is not None or port not in (None, 22):
                raise _param_error('a stopped server takes no auth, and its port is fixed at 22')
            operate = operate_for(server)
        except EcsError as exc:
            answer.update(error_code=exc.code, error_msg=exc.message)
            return answer
        task_id = uuid.uuid4().hex
        self.tasks[task_id] = {
            'task_id': task_id, 'server_id': server_id, 'server_name': server['name'], 'keypair_name': keypair_name,
            'operate': operate, 'power': server['status'], 'port': port or 22, 'auth': auth,
            'key_before': server['key_name'], 'start': self.now(), 'seconds': float(self.settings['seconds']),
            'failure': self._switched_failure(), 'end': None, 'result': None, 'error_code': None, 'error_msg': None}
        answer.update(task_id=task_id, status='SUCCESS')
        return answer

    def _switched_failure(self):
        failure = self.settings['failure']
        return (failure['error_code'], failure['error_msg']) if failure else None

    def _check_room(self, count):
        if len(self._running()) + count > MAX_RUNNING:
            raise EcsError(400, TASK_CODES['limit'], 'At most %d servers can get a key pair at the same time; %d '
                           'tasks are running' % (MAX_RUNNING, len(self._running())))

    @staticmethod
    def _body(body):
        try:
            data = json.loads(body or b'null')
        except ValueError:
            raise _param_error('the body is not JSON') from None
        if not isinstance(data, dict):
            raise _param_error('the body must be a JSON object')
        return data

    @staticmethod
    def _bind_operate(server):
        if server['status'] != ACTIVE:
            return 'RESET'
        return 'REPLACE' if server['key_name'] else 'BIND'

    def _associate_one(self, item):
        if not isinstance(item, dict) or not isinstance(item.get('keypair_name'), str):
            raise _param_error('keypair_name is required')
        self.keypair(item['keypair_name'])  # the emulator's not-found answer for a missing key pair
        return self._submit(item.get('server'), item['keypair_name'], self._bind_operate)

    # ----- KPS calls --------------------------------------------------------------------------------------

    def associate_keypair(self, _params, _query, body):
        data = self._body(body)
        with self._lock:
            self._settle()
            self._check_room(1)
            return 200, self._associate_one(data)

    def batch_associate_keypair(self, _params, _query, body):
        items = self._body(body).get('batch_keypairs')
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise _param_error('batch_keypairs takes 1 to %d servers' % MAX_BATCH)
        ids = [item.get('server', {}).get('id') if isinstance(item, dict) and isinstance(item.get('server'), dict)
               else None for item in items]
        if len(set(ids)) != len(ids):
            raise _param_error('a server is given twice')
        with self._lock:
            self._settle()
            self._check_room(len(items))
            return 200, {'tasks': [self._associate_one(item) for item in items]}

    def disassociate_keypair(self, _params, _query, body):
        server_info = self._body(body).get('server')

        def operate(server):
            if not server['key_name']:
                raise EcsError(200, TASK_CODES['unbound'], 'The server %s has no key pair' % server['id'])
            return 'UNBIND'

        with self._lock:
            self._settle()
            self._check_room(1)
            server = self.servers.get(server_info.get('id')) if isinstance(server_info, dict) else None
            return 200, self._submit(server_info, server['key_name'] if server else None, operate)

    def show_task(self, params, _query, _body):
        with self._lock:
            self._settle()
            task = self.tasks.get(params['task_id'])
            if task is None:
                raise EcsError(404, 'KPS.7007', 'The task %s does not exist' % params['task_id'])
            return 200, {'server_id': task['server_id'], 'task_id': task['task_id'], 'task_status': self._status(task)}

    @staticmethod
    def _page(query, tasks, view):
        values = {}
        for name, default in (('limit', DEFAULT_PAGE), ('offset', 0)):
            text = (query.get(name) or [str(default)])[0]
            if not text.isdigit():
                raise _param_error('%s must be a non-negative integer' % name)
            values[name] = int(text)
        if not 1 <= values['limit'] <= DEFAULT_PAGE:
            raise _param_error('limit must be from 1 to %d' % DEFAULT_PAGE)
        page = tasks[values['offset']:values['offset'] + values['limit']]
        return 200, {'total': len(tasks), 'tasks': [view(task) for task in page]}

    @staticmethod
    def _listed(task):
        # task_time: epoch milliseconds as a string (Terraform's data sources convert it to RFC 3339).
        return {'task_id': task['task_id'], 'operate_type': None, 'task_time': str(int(task['start'] * 1000)),
                'server_name': task['server_name'], 'server_id': task['server_id'],
                'keypair_name': task['keypair_name']}

    def list_running_tasks(self, _params, query, _body):
        with self._lock:
            self._settle()

            def view(task):
                return dict(self._listed(task), operate_type=self._status(task))
            return self._page(query, self._running(), view)

    def _failed(self):
        return [task for task in self.tasks.values() if task['result'] == 'FAILED' and not task.get('deleted')]

    def list_failed_tasks(self, _params, query, _body):
        with self._lock:
            self._settle()

            def view(task):
                return dict(self._listed(task), operate_type=self._status(task), task_error_code=task['error_code'],
                            task_error_msg=task['error_msg'])
            return self._page(query, self._failed(), view)

    def delete_failed_task(self, params, _query, _body):
        with self._lock:
            self._settle()
            task = self.tasks.get(params['task_id'])
            if task is None or task not in self._failed():
                raise EcsError(404, 'KPS.7007', 'The failed task %s does not exist' % params['task_id'])
            task['deleted'] = True
            return 200, None

    def delete_all_failed_tasks(self, _params, _query, _body):
        with self._lock:
            self._settle()
            for task in self._failed():
                task['deleted'] = True
            return 200, None

    # ----- ECS --------------------------------------------------------------------------------------------

    def ecs_show_server(self, params, _query, _body):
        with self._lock:
            self._settle()
            server = self.servers.get(params['server_id'])
            if server is None:
                raise EcsError(404, 'Ecs.0114', 'Instance[%s] could not be found.' % params['server_id'])
            return 200, {'server': {
                'id': server['id'], 'name': server['name'], 'status': server['status'], 'key_name': server['key_name'],
                'OS-EXT-STS:vm_state': 'active' if server['status'] == ACTIVE else 'stopped',
                'metadata': {'image_name': 'public-image' if server['public_image'] else 'private-image'}}}

    # ----- control API (/_emulator/servers, /_emulator/tasks) ---------------------------------------------

    def add_servers(self, data):
        items = data if isinstance(data, list) else [data]
        added = []
        with self._lock:
            for item in items:
                if not isinstance(item, dict) or set(item) - SERVER_FIELDS:
                    raise ValueError('a server is a JSON object with keys of %s' % ', '.join(sorted(SERVER_FIELDS)))
                server = {'id': item.get('id') or str(uuid.uuid4()), 'name': item.get('name') or 'ecs-server',
                          'status': item.get('status', ACTIVE), 'key_name': item.get('key_name'),
                          'public_image': item.get('public_image', True), 'ssh_open': item.get('ssh_open', True),
                          'ssh_port': item.get('ssh_port', 22), 'password': item.get('password'),
                          'fail_task': item.get('fail_task')}
                if server['status'] not in (ACTIVE, SHUTOFF):
                    raise ValueError('status is ACTIVE or SHUTOFF')
                fail = server['fail_task']
                if fail is not None and (not isinstance(fail, dict) or set(fail) != {'error_code', 'error_msg'}):
                    raise ValueError('fail_task is {"error_code": "...", "error_msg": "..."} or null')
                self.servers[server['id']] = server
                added.append(dict(server))
        return added

    def set_settings(self, data):
        if not isinstance(data, dict) or set(data) - set(DEFAULT_SETTINGS):
            raise ValueError('task settings are a JSON object with keys of %s' % ', '.join(sorted(DEFAULT_SETTINGS)))
        if 'seconds' in data and (not isinstance(data['seconds'], (int, float)) or data['seconds'] < 0):
            raise ValueError('seconds is a number of at least 0')
        failure = data.get('failure')
        if failure is not None and (not isinstance(failure, dict) or set(failure) != {'error_code', 'error_msg'}):
            raise ValueError('failure is {"error_code": "...", "error_msg": "..."} or null')
        with self._lock:
            self.settings.update(data)
            return copy.deepcopy(self.settings)

    def control(self, method, path, data):
        """A control API answer for /servers... and /tasks..., or None when the path is not ours."""
        with self._lock:
            self._settle()
            if path == '/servers' and method == 'POST':
                return self.add_servers(data)
            if path == '/servers' and method == 'GET':
                return [dict(server) for server in self.servers.values()]
            if path == '/servers' and method == 'DELETE':
                self.servers.clear()
                return {'cleared': True}
            if path.startswith('/servers/') and method == 'GET':
                server = self.servers.get(path[len('/servers/'):])
                return dict(server) if server else False
            if path == '/tasks' and method == 'GET':
                return [self._control_view(task) for task in self.tasks.values()]
            if path == '/tasks' and method == 'DELETE':
                self.tasks.clear()
                return {'cleared': True}
            if path == '/tasks/finish' and method == 'POST':
                running = self._running()
                for task in running:
                    task['seconds'] = 0.0
                self._settle()
                return {'finished': len(running)}
            if path == '/tasks/settings' and method == 'POST':
                return self.set_settings(data)
            if path == '/tasks/settings' and method == 'GET':
                return copy.deepcopy(self.settings)
        return None

    def _control_view(self, task):
        view = {key: value for key, value in task.items() if key != 'auth'}  # no password or private key
        view.update(task_status=self._status(task), auth_type=(task['auth'] or {}).get('type'))
        return view
