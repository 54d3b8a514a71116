#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_failed_task
short_description: Delete the records of failed Huawei Cloud KPS key pair tasks
version_added: 2.2.0
description:
  - Deletes records of key pair tasks that failed on ECS servers from Huawei Cloud KPS (Key Pair Service) - those
    of O(task_ids), or all of them (O(all=true)) - as Terraform's C(huaweicloud_kps_failed_task_delete) and
    C(huaweicloud_kps_failed_tasks_delete) do.
  - Idempotent. The failed task records are read first; records that do not exist are listed in
    RV(not_found) and are no error, and a run with nothing to delete sends no write.
  - M(huaweicloud.kps.kps_task_info) lists the failed tasks with their error codes and messages.
author:
  - huaweicloud.kps contributors (@huaweicloud)
extends_documentation_fragment:
  - huaweicloud.kps.auth
  - huaweicloud.kps.attributes
  - huaweicloud.kps.attributes.action_group
  - huaweicloud.kps.attributes.check_mode
  - huaweicloud.kps.attributes.diff_mode
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the failed task records and reports what would be deleted, without deleting.
  diff_mode:
    support: full
    details:
      - The diff lists the IDs of the failed task records before and after.
  idempotent:
    description: When run twice in a row with the same options, the second run reports no change and sends no write.
    support: full
options:
  state:
    description:
      - V(absent) is the only state; failed task records are made by KPS, never by this module.
    type: str
    choices: [absent]
    default: absent
  task_ids:
    description:
      - IDs of the failed tasks whose records to delete (one call each).
      - Mutually exclusive with O(all); one of the two is required.
    type: list
    elements: str
  all:
    description:
      - Delete every failed task record, with one call (when there is any).
    type: bool
    default: false
notes:
  - Calls - one listing of the failed tasks (1000 records a page), then one delete per record of O(task_ids), or one
    delete for O(all=true).
  - >-
    Run the module on the controller (C(delegate_to: localhost), C(run_once: true)); it needs C(requests) on the
    host that runs it.
seealso:
  - module: huaweicloud.kps.kps_task_info
  - module: huaweicloud.kps.kps_keypair_server
"""

EXAMPLES = r"""
- name: Forget the failed task of one server once it is dealt with
  huaweicloud.kps.kps_failed_task:
    task_ids:
      - 9b0e5b3c2f0e4d3e8b6f3b2a1c0d9e8f
  delegate_to: localhost
  run_once: true

- name: Forget every failed task
  huaweicloud.kps.kps_failed_task:
    all: true
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
msg:
  description: What the task did or would do.
  returned: always
  type: str
  sample: Deleted 2 failed task records.
deleted:
  description:
    - The failed task records deleted (in check mode, that would be deleted), with the fields of
      RV(huaweicloud.kps.kps_task_info#module:failed_tasks).
  returned: always
  type: list
  elements: dict
  sample:
    - task_id: 9b0e5b3c2f0e4d3e8b6f3b2a1c0d9e8f
      server_id: 2f4e0c4c-0f3b-4a6e-9f0e-5d2c1b8a7e61
      server_name: web-1
      keypair_name: deploy
      operate_type: FAILED_BIND
      task_time: '1795436303930'
      task_time_iso: '2026-11-25T09:38:23Z'
      task_error_code: KPS.7003
      task_error_msg: Authentication to server 2f4e0c4c-0f3b-4a6e-9f0e-5d2c1b8a7e61 failed
not_found:
  description: The IDs of O(task_ids) that are not (or no longer) failed task records.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.module_utils._task_runners import FailedTaskRunner


def main():
    module = KpsModule(argument_spec=KpsModule.generate_argspec(
        state=dict(type='str', default='absent', choices=['absent']),
        task_ids=dict(type='list', elements='str'),
        all=dict(type='bool', default=False),
    ), mutually_exclusive=[('task_ids', 'all')], supports_check_mode=True)
    FailedTaskRunner(module).execute()


if __name__ == '__main__':
    main()
