# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_task_info (read KPS's running and failed key pair tasks) and kps_failed_task (delete failed
task records), on ``_tasks.TaskClient``.

kps_task_info only reads, so check mode runs the same. kps_failed_task reads the failed task records first and
deletes only those that exist: one call for all of them (``all``), else one call per record; a repeated run
finds nothing to delete and sends nothing.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._info_runner import iso_time
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan
from ansible_collections.huaweicloud.kps.plugins.module_utils._tasks import TaskClient


class TaskError(KpsError):
    """A problem the user must fix."""


def with_iso_time(record: dict[str, Any]) -> dict[str, Any]:
    """A task record with ``task_time_iso`` (``task_time`` is epoch milliseconds as a string)."""
    text = (record.get('task_time') or '').strip()
    return dict(record, task_time_iso=iso_time(int(text)) if text.isdigit() else None)


def _task_ids(values: Any) -> list[str]:
    bad = [repr(item) for item in values or [] if not isinstance(item, str) or not item.strip() or '/' in item]
    if bad:
        raise TaskError('Invalid task ID %s: give the IDs KPS reported (task_id).' % ', '.join(bad))
    return list(dict.fromkeys(item.strip() for item in values or []))


class _TaskRunner(KpsRunner):
    @property
    def client(self) -> TaskClient:
        kps = self.module.kps
        return TaskClient(self.module.http, kps.base, kps.project_id)


class TaskInfoRunner(_TaskRunner):
    """Runs kps_task_info: running and failed task records, and the status of the tasks of ``task_ids``."""

    def plan(self) -> Plan:
        task_ids = _task_ids(self.params.get('task_ids'))
        client = self.client
        tasks = [dict(task_id=task_id, task_status=client.task_status(task_id)) for task_id in task_ids]
        return Plan(running=[with_iso_time(task) for task in client.running_tasks()],
                    failed=[with_iso_time(task) for task in client.failed_tasks()], tasks=tasks)

    def result(self, plan: Plan) -> dict[str, Any]:
        return dict(running_tasks=plan.running, failed_tasks=plan.failed, tasks=plan.tasks)


class FailedTaskRunner(_TaskRunner):
    """Runs kps_failed_task: delete the failed task records of ``task_ids``, or all of them."""

    def plan(self) -> Plan:
        task_ids = _task_ids(self.params.get('task_ids'))
        if not self.params['all'] and not task_ids:
            raise TaskError('Give task_ids (the failed tasks to delete) or all=true (every failed task).')
        records = [with_iso_time(task) for task in self.client.failed_tasks()]
        if self.params['all']:
            targets = records
        else:
            targets = [task for task in records if task['task_id'] in task_ids]
        found = set(task['task_id'] for task in targets)
        before = sorted(task['task_id'] for task in records)
        after = sorted(task_id for task_id in before if task_id not in found)
        return Plan(changed=bool(targets), before=dict(failed_tasks=before), after=dict(failed_tasks=after),
                    targets=targets, absent=[task_id for task_id in task_ids if task_id not in found])

    def apply(self, plan: Plan) -> None:
        if self.params['all']:
            self.client.delete_all_failed_tasks()
            return
        gone = [task['task_id'] for task in plan.targets if not self.client.delete_failed_task(task['task_id'])]
        plan.targets = [task for task in plan.targets if task['task_id'] not in gone]
        plan.changed = bool(plan.targets)

    def result(self, plan: Plan) -> dict[str, Any]:
        count = len(plan.targets)
        if count:
            msg = plan.say('Would delete %d failed task %s.', 'Deleted %d failed task %s.') % (
                count, plural(count, 'record'))
        else:
            msg = 'No failed task record to delete.'
        return dict(msg=msg, deleted=plan.targets, not_found=plan.absent)
