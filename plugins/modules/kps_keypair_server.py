#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_keypair_server
short_description: Bind a Huawei Cloud KPS key pair to ECS servers, replace it, or unbind it
version_added: 2.2.0
description:
  - Makes Huawei Cloud KPS (Key Pair Service) put the key pair O(name) on the ECS servers O(servers)
    (O(state=present)), replacing the key pair a server has, or take the key pair off them (O(state=absent)), as
    the console and Terraform's C(huaweicloud_kps_keypair_associate) and C(huaweicloud_kps_keypair_disassociate)
    do. KPS does it itself, so this reaches servers that Ansible cannot reach over SSH.
  - On a running server KPS logs in over SSH with O(auth) and rewrites root's C(/root/.ssh/authorized_keys); on a
    stopped server it sets the key through the server's disk, without O(auth) and on port 22 (the module then
    sends neither O(auth) nor O(port)).
  - Idempotent. Each server is read from ECS first (its C(key_name) and power state; see the notes for why ECS
    and not KPS's task records), and a server that already has the key pair (O(state=present)) or no key pair
    (O(state=absent)) costs nothing more. A run that changes nothing sends no write call.
  - KPS works asynchronously. The module starts one task per server that needs a change, at most 10 at a time
    (associate for one server, batch-associate for several, disassociate one server a call), and with O(wait)
    waits for them, group after group. It reports each server's task and result in RV(servers), and fails naming
    every server whose task failed with KPS's error code and message; the other servers keep their new state,
    and running the task again only retries what is left.
  - Problems the module can see are reported before anything is sent, naming every server concerned - a server
    that does not exist, a running server when O(auth) is not given, O(auth.type=keypair) for a server that has
    no key pair, a key pair that does not exist, a server that has another key pair task running; and, before any
    call, an O(auth.key) of O(auth.type=keypair) that is not an unencrypted private key.
  - A task still running from an earlier run (for example with O(wait=false)) for the same change is waited for,
    not started again.
  - The password and private key of O(auth) never appear in results, diffs, warnings or error messages.
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
      - Check mode reads the servers (and, when something would change, the key pair and the running tasks) and
        reports the same RV(ignore:changed) and RV(servers) as a real run would, without starting a task.
  diff_mode:
    support: full
    details:
      - The diff maps each server ID to the name of its key pair (V(null) for none), before and after.
  idempotent:
    description: When run twice in a row with the same options, the second run reports no change and sends no write.
    support: full
options:
  name:
    description:
      - Name of the KPS key pair to put on the servers.
      - Required with O(state=present). With O(state=absent), only servers that have this key pair lose it;
        without it, every server of O(servers) loses the key pair it has.
      - Letters, digits, V(_) and V(-), at most 255 characters; checked before any API call.
    type: str
  servers:
    description:
      - IDs of the ECS servers. A server given twice counts once.
      - KPS supports servers of Huawei Cloud's public images only, and the security group of a running server must
        open its SSH port to V(100.125.0.0/16); otherwise the server's task fails.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) puts key pair O(name) on each server (bind, replace the key pair the server has, or reset it on
        a stopped server).
      - V(absent) takes the key pair off each server (unbind).
    type: str
    choices: [present, absent]
    default: present
  auth:
    description:
      - How KPS logs in to the running servers (as root, over SSH). Required when a running server needs a change;
        not sent for stopped servers.
      - The same O(auth) is sent for every server of the task; servers with different root passwords, or with
        different key pairs when O(auth.type=keypair), need a task each.
    type: dict
    suboptions:
      type:
        description:
          - V(password) logs in with root's password; V(keypair) with the private key of the key pair the server
            has now (so not for a server without a key pair).
        type: str
        choices: [password, keypair]
        required: true
      key:
        description:
          - Root's password, or the private key of the key pair the server has now, for example read with the
            P(ansible.builtin.file#lookup) lookup as in the examples.
          - The private key may be in the OpenSSH format (what C(ssh-keygen) and
            M(huaweicloud.kps.kps_private_key_export) write by default), PKCS#8 or PEM, and must be unencrypted. The
            module sends it to KPS as unencrypted PEM, the form KPS's API shows, converted in memory; a key that
            cannot be read (encrypted, damaged, a public key) fails the task before any call.
          - The module checks the private key against the public key KPS has for the key pair each running server
            has now (read with the key pair to put on, in one read of KPS) and fails before any write when it is another key pair's (KPS could not log in with
            it, and its tasks would fail once started).
        type: str
        required: true
  port:
    description:
      - The SSH port of the running servers. Not sent for stopped servers (KPS uses 22), nor when unbinding (the
        disassociate call has no port).
    type: int
    default: 22
  disable_password:
    description:
      - Make KPS disable password login over SSH on the servers when it puts the key pair on them.
      - Sent with each change; the module cannot read it back, so it does not make a server that already has the
        key pair change.
    type: bool
    default: false
  wait:
    description:
      - Wait for the tasks to end, and fail naming the servers whose task failed.
      - With V(false), the tasks are started (at most 10, the number KPS runs at once) and the module returns;
        M(huaweicloud.kps.kps_task_info) shows them, and a later run with the same options waits for them.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for the tasks (of each group of 10). Tasks still running then are named in the
        error; KPS goes on with them.
    type: int
    default: 600
  ecs_endpoint:
    description:
      - ECS endpoint URL, which the module reads the servers from.
      - Default V(https://ecs.<region>.<cloud>). The same rules as for O(kps_endpoint) apply (https, or
        O(allow_insecure_http)).
      - If not set, the value of the E(HW_ECS_ENDPOINT) environment variable on the host that runs the module is used.
    type: str
notes:
  - >-
    Why ECS: what key pair a server has is the server's C(key_name) in ECS (C(GET /v1/{project_id}/cloudservers/{id})),
    which KPS sets when a task succeeds. KPS's task records cannot tell it: KPS lists running and failed tasks
    only, so a bind that succeeded, or a key pair set at the server's creation, leaves no record. The module
    therefore also needs the ECS read permission (C(ecs:cloudServers:get)).
  - >-
    Calls: an unchanged run is one ECS read per server. A change adds one read of KPS for the key pair
    (O(state=present)) and, with O(auth.type=keypair), the key pairs the running servers have now (one show for
    one key pair, one listing for several when the project's key pairs fit on a page), one of the running tasks,
    one start call per group of up to 10 servers (per server for unbind), one task read per unfinished task per
    poll (after 0.25 s, doubling up to 5 s), and one read of the failed task records when a task failed.
  - >-
    Run the module on the controller (C(delegate_to: localhost), C(run_once: true)); it needs C(requests) on the
    host that runs it.
seealso:
  - module: huaweicloud.kps.kps_keypair
  - module: huaweicloud.kps.kps_task_info
  - module: huaweicloud.kps.kps_failed_task
  - name: Binding a key pair to an ECS server (KPS user guide)
    description: The rules of KPS for servers, images and security groups.
    link: https://support.huaweicloud.com/intl/en-us/usermanual-dew/dew_01_0071.html
"""

EXAMPLES = r"""
- name: Put key pair deploy on three running servers, logging in with root's password
  huaweicloud.kps.kps_keypair_server:
    name: deploy
    servers:
      - 2f4e0c4c-0f3b-4a6e-9f0e-5d2c1b8a7e61
      - 7a1d2c3b-4e5f-4061-8273-9a8b7c6d5e4f
      - c0ffee00-1234-4abc-9def-0123456789ab
    auth:
      type: password
      key: "{{ vault_root_password }}"
  delegate_to: localhost
  run_once: true
  register: bound

- name: Replace key pair deploy with deploy-2026, logging in with deploy's private key
  huaweicloud.kps.kps_keypair_server:
    name: deploy-2026
    servers: "{{ bound.servers | map(attribute='id') | list }}"
    auth:
      type: keypair
      # keys/deploy written by huaweicloud.kps.kps_private_key_export (OpenSSH format; the module sends it as PEM)
      key: "{{ lookup('ansible.builtin.file', 'keys/deploy') }}"
    disable_password: true
  delegate_to: localhost
  run_once: true
  # In check mode the servers the task above would give deploy do not have it yet: KPS could not log in with
  # deploy's key, and the task would fail. It runs once they do.
  when: not (ansible_check_mode and bound is changed)

- name: Take key pair deploy-2026 off a stopped server (no auth for stopped servers)
  huaweicloud.kps.kps_keypair_server:
    name: deploy-2026
    servers: [c0ffee00-1234-4abc-9def-0123456789ab]
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
msg:
  description: What the task did or would do.
  returned: always
  type: str
  sample: Put key pair deploy on 3 servers.
servers:
  description:
    - One entry per server of O(servers), in their order, with the task KPS ran for it. Also in the failed
      result when a task failed.
  returned: success and when a task failed
  type: list
  elements: dict
  contains:
    id:
      description: The server ID.
      returned: always
      type: str
      sample: 2f4e0c4c-0f3b-4a6e-9f0e-5d2c1b8a7e61
    name:
      description: The server name, as ECS reports it.
      returned: always
      type: str
      sample: web-1
    status:
      description: The server's status as ECS reported it before the task (V(ACTIVE), V(SHUTOFF), ...).
      returned: always
      type: str
      sample: ACTIVE
    key_name_before:
      description: The key pair the server had before the task (V(null) for none).
      returned: always
      type: str
      sample: deploy
    key_name:
      description:
        - The key pair the server has after the task (in check mode, would have). A server whose task failed or
          still runs keeps its key pair here.
      returned: always
      type: str
      sample: deploy-2026
    action:
      description: V(bind), V(replace), V(reset) (stopped server), V(unbind), or V(null) when nothing was to do.
      returned: always
      type: str
      sample: replace
    task_id:
      description: The ID of KPS's task for the server; V(null) when none started (nothing to do, check mode, or KPS refused it).
      returned: always
      type: str
      sample: 9b0e5b3c2f0e4d3e8b6f3b2a1c0d9e8f
    task_status:
      description: The task's last status (for example V(SUCCESS_REPLACE), V(FAILED_BIND), V(RUNNING_UNBIND)).
      returned: always
      type: str
      sample: SUCCESS_REPLACE
    error_code:
      description: KPS's error code of a failed task (or of a task KPS did not start).
      returned: always
      type: str
      sample: KPS.7003
    error_msg:
      description: KPS's message of a failed task, shortened and with any secret of the task removed.
      returned: always
      type: str
      sample: Authentication to server 2f4e0c4c-0f3b-4a6e-9f0e-5d2c1b8a7e61 failed
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.huaweicloud.kps.plugins.module_utils._keypair_server_runner import KeypairServerRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule


def main():
    argument_spec = KpsModule.generate_argspec(
        name=dict(type='str'),
        servers=dict(type='list', elements='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        auth=dict(type='dict', no_log=False, options=dict(
            type=dict(type='str', required=True, choices=['password', 'keypair']),
            key=dict(type='str', required=True, no_log=True),
        )),
        port=dict(type='int', default=22),
        disable_password=dict(type='bool', default=False, no_log=False),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=600),
        ecs_endpoint=dict(type='str', fallback=(env_fallback, ['HW_ECS_ENDPOINT'])),
    )
    module = KpsModule(argument_spec=argument_spec, required_if=[('state', 'present', ('name',))],
                       supports_check_mode=True)
    KeypairServerRunner(module).execute()


if __name__ == '__main__':
    main()
