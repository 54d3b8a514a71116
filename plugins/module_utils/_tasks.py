# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""TaskClient: KPS's key pair tasks on ECS servers (bind, replace, reset, unbind; running and failed task
records) and the one ECS call that tells which key pair a server has. Plain dicts in, plain dicts out.

KPS acts on a server asynchronously: associate, batch-associate and disassociate answer with one task per
server, which ends ``SUCCESS_<op>`` or ``FAILED_<op>``; the code and message of a failed task are only in the
failed task records. Every text of a task record that comes from the service (error codes and messages, names)
is scrubbed here (``_http.scrub``), so no caller can return or show it raw. Never touches files.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping

from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import DEFAULT_CLOUD, CredentialError
from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import _endpoint as check_endpoint
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import (
    MAX_SERVER_TEXT,
    HttpClient,
    HuaweiCloudError,
    quote_path_segment,
    scrub,
)

# Terraform (kps_keypair_associate): at most 10 servers get a key pair at the same time.
MAX_AT_ONCE = 10
TASK_PAGE_SIZE = 1000
_MAX_PAGES = 1000
# What a task record reports; each is a string (or None) in every answer (SDK running_tasks, failed_tasks).
TASK_FIELDS = ('task_id', 'server_id', 'server_name', 'keypair_name', 'operate_type', 'task_time')
FAILED_TASK_FIELDS = TASK_FIELDS + ('task_error_code', 'task_error_msg')
# ECS server status of a stopped server (the ECS API's SHUTOFF; anything else is treated as running).
STOPPED = 'SHUTOFF'


def _text(value: Any, limit: int = 255) -> str | None:
    return None if value is None else scrub(value, limit)


def task_view(record: Mapping[str, Any], fields: Iterable[str] = FAILED_TASK_FIELDS) -> dict[str, Any]:
    """A task record as the modules return it: the documented fields, scrubbed, missing ones None."""
    return dict((field, _text(record.get(field), MAX_SERVER_TEXT if field == 'task_error_msg' else 255))
                for field in fields)


def task_done(status: str | None) -> bool:
    """Whether a task status (``task_status`` of a task) is final: SUCCESS_* or FAILED_*."""
    return bool(status) and status.startswith(('SUCCESS', 'FAILED'))


class TaskClient:
    """The KPS task calls under ``{kps_base}`` (``KpsClient.base``) and the ECS show-server call under
    ``{ecs_endpoint}/v1/{project_id}``; ``http`` is the run's _http.HttpClient, credentials attached."""

    def __init__(self, http: HttpClient, kps_base: str, project_id: str, ecs_endpoint: str | None = None) -> None:
        self.http = http
        self.base = kps_base
        self.ecs_base = None
        if ecs_endpoint:
            self.ecs_base = '%s/v1/%s' % (ecs_endpoint.rstrip('/'), quote_path_segment(project_id))

    # ----- ECS ----------------------------------------------------------------------------------------------

    def show_server(self, server_id: str) -> dict[str, Any] | None:
        """``{id, name, status, key_name}`` of the ECS server, or None when ECS says it does not exist."""
        try:
            data = self.http.request('show server', 'GET', '%s/cloudservers/%s' % (
                self.ecs_base, quote_path_segment(server_id)), service='ECS')
        except HuaweiCloudError as exc:
            if exc.status == 404:
                return None
            raise
        server = data.get('server') if isinstance(data, dict) else None
        if not isinstance(server, dict):
            raise HuaweiCloudError('show server', service='ECS', reason='ECS answered without "server" in the body')
        return {'id': server_id, 'name': _text(server.get('name')), 'status': _text(server.get('status'), 32),
                'key_name': _text(server.get('key_name')) or None}

    # ----- starting tasks -----------------------------------------------------------------------------------

    @staticmethod
    def _started(answer: Any, call: str) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise HuaweiCloudError(call, reason='KPS answered without a task')
        return {'server_id': _text(answer.get('server_id')), 'task_id': _text(answer.get('task_id')),
                'status': _text(answer.get('status'), 32), 'error_code': _text(answer.get('error_code'), 64),
                'error_msg': _text(answer.get('error_msg'), MAX_SERVER_TEXT)}

    def associate(self, keypair_name: str, servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bind (replace, reset) ``keypair_name`` on 1 to 10 servers, each an EcsServerInfo dict (``id``,
        ``auth``, ``port``, ``disable_password``): associate for one, batch-associate for several. Returns one
        ``{server_id, task_id, status, error_code, error_msg}`` per server (status FAILED: no task started).
        Not repeated after a timeout or 5xx: the caller reads the servers and running tasks again."""
        if not 1 <= len(servers) <= MAX_AT_ONCE:
            raise ValueError('associate takes 1 to %d servers, got %d' % (MAX_AT_ONCE, len(servers)))
        bodies = [{'keypair_name': keypair_name, 'server': server} for server in servers]
        if len(bodies) == 1:
            data = self.http.request('associate key pair', 'POST', self.base + '/keypairs/associate', json=bodies[0],
                                     idempotent=False)
            return [self._started(data, 'associate key pair')]
        data = self.http.request('batch associate key pair', 'POST', self.base + '/keypairs/batch-associate',
                                 json={'batch_keypairs': bodies}, idempotent=False)
        tasks = data.get('tasks') if isinstance(data, dict) else None
        if not isinstance(tasks, list):
            raise HuaweiCloudError('batch associate key pair', reason='KPS answered without "tasks" in the body')
        return [self._started(task, 'batch associate key pair') for task in tasks]

    def disassociate(self, server: dict[str, Any]) -> dict[str, Any]:
        """Unbind the key pair of one server (``{id, auth}``, the SDK's DisassociateEcsServerInfo)."""
        data = self.http.request('disassociate key pair', 'POST', self.base + '/keypairs/disassociate',
                                 json={'server': server}, idempotent=False)
        return self._started(data, 'disassociate key pair')

    # ----- task records -------------------------------------------------------------------------------------

    def task_status(self, task_id: str) -> str | None:
        """The ``task_status`` of one task (e.g. RUNNING_BIND, SUCCESS_REPLACE, FAILED_UNBIND)."""
        data = self.http.request('show task', 'GET', '%s/tasks/%s' % (self.base, quote_path_segment(task_id)))
        if not isinstance(data, dict):
            raise HuaweiCloudError('show task', reason='KPS answered with an unexpected body')
        return _text(data.get('task_status'), 64)

    def _list(self, call: str, path: str, fields: Iterable[str]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for _page in range(_MAX_PAGES):
            data = self.http.request(call, 'GET', self.base + path,
                                     params={'limit': TASK_PAGE_SIZE, 'offset': len(records)})
            items = data.get('tasks') if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise HuaweiCloudError(call, reason='KPS answered without "tasks" in the body')
            records.extend(task_view(item, fields) for item in items if isinstance(item, dict))
            total = data.get('total')
            if len(items) < TASK_PAGE_SIZE or (isinstance(total, int) and len(records) >= total):
                return records
        raise HuaweiCloudError(call, reason='KPS kept returning more pages; giving up')

    def running_tasks(self) -> list[dict[str, Any]]:
        """Every running task record (all pages)."""
        return self._list('list running tasks', '/running-tasks', TASK_FIELDS)

    def failed_tasks(self) -> list[dict[str, Any]]:
        """Every failed task record (all pages), with ``task_error_code`` and ``task_error_msg``."""
        return self._list('list failed tasks', '/failed-tasks', FAILED_TASK_FIELDS)

    def delete_failed_task(self, task_id: str) -> bool:
        """Delete one failed task record; False when it did not exist (any more)."""
        try:
            self.http.request('delete failed task', 'DELETE', '%s/failed-tasks/%s' % (
                self.base, quote_path_segment(task_id)), expect='none')
        except HuaweiCloudError as exc:
            if exc.not_found:
                return False
            raise
        return True

    def delete_all_failed_tasks(self) -> None:
        self.http.request('delete all failed tasks', 'DELETE', self.base + '/failed-tasks', expect='none')

    def wait(self, task_ids: Iterable[str], timeout: float, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, str | None]:
        """Poll each task until it is final or ``timeout`` seconds have passed: ``{task_id: last task_status}``.

        The first poll comes after 0.25 s, then each pause doubles up to 5 s (real tasks take seconds to
        minutes; one poll is one GET per unfinished task)."""
        statuses: dict[str, str | None] = dict((task_id, None) for task_id in task_ids)
        deadline = clock() + timeout
        pause = 0.25
        while True:
            pending = [task_id for task_id, status in statuses.items() if not task_done(status)]
            if not pending or clock() >= deadline:
                return statuses
            sleep(min(pause, max(0.0, deadline - clock())))
            pause = min(pause * 2, 5.0)
            for task_id in pending:
                statuses[task_id] = self.task_status(task_id)


def ecs_endpoint(value: str | None, region: str | None, cloud: str | None, allow_insecure_http: bool = False) -> str:
    """The ECS endpoint: ``value`` (option ecs_endpoint, HW_ECS_ENDPOINT) or ``https://ecs.<region>.<cloud>``,
    checked as the KPS and IAM endpoints are (CredentialError)."""
    if not value:
        if not region:
            raise CredentialError('ecs_endpoint [HW_ECS_ENDPOINT] or region is required: the module reads which '
                                  'key pair each server has from ECS.')
        value = 'https://ecs.%s.%s' % (region, cloud or DEFAULT_CLOUD)
    return check_endpoint('ecs_endpoint', value, allow_insecure_http)
