#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_task_info
short_description: List the running and failed key pair tasks of Huawei Cloud KPS
version_added: 2.2.0
description:
  - Returns the key pair tasks that Huawei Cloud KPS (Key Pair Service) is running on ECS servers
    (RV(running_tasks)) and those that failed (RV(failed_tasks), with KPS's error code and message), as
    Terraform's data sources C(huaweicloud_kps_running_tasks) and C(huaweicloud_kps_failed_tasks) do.
  - With O(task_ids), also the current status of each of those tasks (RV(tasks)), for example of tasks that
    M(huaweicloud.kps.kps_keypair_server) started with O(huaweicloud.kps.kps_keypair_server#module:wait=false).
  - KPS keeps no record of tasks that succeeded, apart from the status of each task ID.
  - Changes nothing. M(huaweicloud.kps.kps_failed_task) deletes failed task records.
author:
  - huaweicloud.kps contributors (@huaweicloud)
extends_documentation_fragment:
  - huaweicloud.kps.auth
  - huaweicloud.kps.attributes
  - huaweicloud.kps.attributes.action_group
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The module only reads, so check mode makes the same calls and returns the same result.
  diff_mode:
    support: none
  idempotent:
    description: Running the task again with the same options changes nothing and reports no change.
    support: full
  platform:
    platforms: posix
options:
  task_ids:
    description:
      - IDs of tasks whose current status to read (one call each). A task that KPS does not know fails the task.
    type: list
    elements: str
notes:
  - Calls - one listing of running tasks and one of failed tasks (1000 records a page), plus one per task of O(task_ids).
  - >-
    Run the module on the controller (C(delegate_to: localhost), C(run_once: true)); it needs C(requests) on the
    host that runs it.
seealso:
  - module: huaweicloud.kps.kps_keypair_server
  - module: huaweicloud.kps.kps_failed_task
"""

EXAMPLES = r"""
- name: What is KPS doing on the servers, and what failed?
  huaweicloud.kps.kps_task_info:
  delegate_to: localhost
  run_once: true
  register: kps_tasks

- name: Name the servers whose key pair task failed
  ansible.builtin.debug:
    msg: "{{ item.server_name }} ({{ item.server_id }}): {{ item.task_error_code }} {{ item.task_error_msg }}"
  loop: "{{ kps_tasks.failed_tasks }}"
"""

RETURN = r"""
running_tasks:
  description: The tasks KPS is running, in KPS's order.
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: The task ID.
      returned: always
      type: str
      sample: 9b0e5b3c2f0e4d3e8b6f3b2a1c0d9e8f
    server_id:
      description: ID of the ECS server the task works on.
      returned: always
      type: str
      sample: 2f4e0c4c-0f3b-4a6e-9f0e-5d2c1b8a7e61
    server_name:
      description: Name of that server.
      returned: always
      type: str
      sample: web-1
    keypair_name:
      description: The key pair of the task.
      returned: always
      type: str
      sample: deploy
    operate_type:
      description: What the task does, as KPS reports it (for example V(RUNNING_REPLACE)).
      returned: always
      type: str
      sample: RUNNING_REPLACE
    task_time:
      description: When the task started, as KPS reports it (epoch milliseconds, as a string).
      returned: always
      type: str
      sample: '1795436303930'
    task_time_iso:
      description: RV(running_tasks[].task_time) in ISO 8601 UTC (V(null) if KPS gave none).
      returned: always
      type: str
      sample: '2026-11-25T09:38:23Z'
failed_tasks:
  description:
    - The failed tasks KPS keeps a record of, with the fields of RV(running_tasks) and the two below.
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: The task ID (to delete the record with M(huaweicloud.kps.kps_failed_task)).
      returned: always
      type: str
      sample: 9b0e5b3c2f0e4d3e8b6f3b2a1c0d9e8f
    task_error_code:
      description: KPS's error code.
      returned: always
      type: str
      sample: KPS.7003
    task_error_msg:
      description: KPS's message, shortened and with any secret of the task removed.
      returned: always
      type: str
      sample: Authentication to server 2f4e0c4c-0f3b-4a6e-9f0e-5d2c1b8a7e61 failed
tasks:
  description: The status of each task of O(task_ids), in their order (empty without O(task_ids)).
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: The task ID.
      returned: always
      type: str
      sample: 9b0e5b3c2f0e4d3e8b6f3b2a1c0d9e8f
    task_status:
      description: For example V(RUNNING_BIND), V(SUCCESS_REPLACE), V(FAILED_UNBIND).
      returned: always
      type: str
      sample: SUCCESS_REPLACE
"""

from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.module_utils._task_runners import TaskInfoRunner


def main():
    module = KpsModule(argument_spec=KpsModule.generate_argspec(task_ids=dict(type='list', elements='str')),
                       supports_check_mode=True)
    TaskInfoRunner(module).execute()


if __name__ == '__main__':
    main()
