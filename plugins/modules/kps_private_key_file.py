#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_private_key_file
short_description: Write a private key (or another secret) given as a value into a file on the managed host
version_added: 1.0.0
description:
  - Writes O(content), for example a private key exported from Huawei Cloud KPS with
    M(huaweicloud.kps.kps_private_key_export), into the file O(path) on the managed host, or removes that file
    (O(state=absent)).
  - The file is written atomically. The content first goes into a temporary file in the same directory, which has
    mode C(0600) from its creation on, whatever the umask, and already has its final owner and group; it is synced
    to disk, gets its final O(mode), and only then replaces O(path). Readers see the old file or the complete new
    one, never a partial one, and no other user can read the secret at any point.
  - A new or rewritten file belongs to O(owner) and O(group) when they are given, otherwise to the user running
    the module (with C(become), usually root). It never keeps the owner of the file it replaces, so another user
    who created the file first does not get the secret. A file whose content is already right keeps its owner
    unless O(owner) or O(group) says otherwise.
  - Other users of the host are not trusted. A symbolic link at O(path) is replaced by a regular file (as
    M(ansible.builtin.copy) does with C(follow=no)); the file it points to is never read or written. The
    directory is opened without following links that another user could have made (see O(path)), and every
    step works on that open directory, so swapping a directory during the run changes nothing.
  - A file that already holds exactly O(content) (byte for byte) is not written again; only its O(mode),
    O(owner) and O(group) are fixed if they differ.
  - O(content) is a C(no_log) option. The result and the diff never contain it, nor a hash of it.
  - "Why this module instead of M(ansible.builtin.copy) with C(content): the C(copy) action writes C(content)
    into a temporary file in the controller's local temporary directory (C(ANSIBLE_LOCAL_TEMP)) before it
    transfers the file, so the secret lands on the controller's disk for a moment. This module is an ordinary
    module: O(content) is one of its arguments. With pipelining (C(ANSIBLE_PIPELINING=True), or C(pipelining)
    for the C(ssh) connection, or C(ansible_pipelining: true)), Ansible streams a module and its arguments to
    the host through the connection, so the secret never touches the controller's disk. Without pipelining,
    Ansible writes every module with its arguments to a temporary file on the controller, and copies that file
    to the host."
  - Needs only Python's standard library on the managed host (no C(requests), no C(cryptography)) and makes no
    API call, so it is not part of the C(huaweicloud.kps.kps) action group.
author:
  - huaweicloud.kps contributors (@huaweicloud)
extends_documentation_fragment:
  - huaweicloud.kps.attributes
  - ansible.builtin.action_common_attributes
  - action_common_attributes.files  # the FQCN form of this sub-fragment does not resolve in ansible-core 2.19
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details:
      - Check mode compares O(content) with the file and its attributes and reports the same
        RV(ignore:changed), RV(content_changed) and diff as a real run would, without writing anything.
      - A file whose directory does not exist yet is reported as a change in check mode (an earlier task may
        create the directory in a real run); a real run then fails if the directory is still missing.
  diff_mode:
    support: full
    details:
      - The diff shows whether the file exists, its mode, owner and group, and whether its content changes,
        before and after. It never shows the content.
  idempotent:
    description: Running the task again with the same options changes nothing and reports no change.
    support: full
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none
options:
  path:
    description:
      - The file on the managed host.
      - If O(path) is a symbolic link, the link itself is replaced by a regular file (or removed with
        O(state=absent)); the file it points to is never read, written or removed.
      - A directory on the way to O(path) that is a symbolic link is followed only when nobody but root or the user
        running the module can have made it (the link and the directory holding it belong to one of them, and that
        directory is not writable by its group or others), as C(/var/run -> /run). Any other link, for example
        C(~user/.ssh) made a link by that user, fails the task naming it, and nothing is written.
      - Its directory must exist (create it first, for example with M(ansible.builtin.file) and mode C(0700)).
    type: path
    required: true
    aliases: [dest]
  content:
    description:
      - The secret to write, for example a private key in PEM form, exactly as given (the module adds no final
        newline; OpenSSH wants one at the end of a private key).
      - Required with O(state=present); must not be empty. Not used with O(state=absent).
      - >-
        A C(no_log) option, never shown in output or logs. Still set C(no_log: true) on the task, so that the
        task's other values are hidden as well.
    type: str
  state:
    description:
      - V(present) makes O(path) hold O(content) with the given attributes.
      - V(absent) removes O(path) if it exists.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description:
      - Name (or uid) of the user that owns the file.
      - When not given, a new or rewritten file belongs to the user running the module (its effective uid), never
        to whoever owned the file it replaces; a file whose content stays keeps its owner.
    type: str
  group:
    description:
      - Name (or gid) of the group that owns the file.
      - When not given, a new or rewritten file gets the group of the user running the module (its effective gid),
        never the group of the file it replaces; a file whose content stays keeps its group.
    type: str
  mode:
    description:
      - The permissions of the file, like the O(ansible.builtin.file#module:mode) option of
        M(ansible.builtin.file) (octal or symbolic). Always quote octal modes.
      - A symbolic mode applies to C(0600) for a new or rewritten file, and to the current mode for a file whose
        content does not change.
      - The temporary file has mode C(0600) until it is complete, so a wider mode only applies to the complete
        file.
    type: raw
    default: '0600'
  backup:
    description:
      - Keep a copy of the file before replacing or removing it, named C(<path>.<pid>.<timestamp>~), with the
        same owner and permissions as the file.
      - Files that only get new attributes are not backed up.
    type: bool
    default: false
notes:
  - >-
    Enable pipelining for the hosts (C(ANSIBLE_PIPELINING=True) or C(ansible_pipelining: true)) to keep the
    secret off the controller's disk; see the description. Pipelining needs C(requiretty) to be off in the
    hosts' C(sudoers) when C(become) uses C(sudo).
  - The role P(huaweicloud.kps.kps_key_distribution#role) uses this module to install the private keys that KPS
    hosts.
seealso:
  - module: huaweicloud.kps.kps_private_key_export
  - module: ansible.builtin.copy
  - name: Ansible pipelining
    description: The C(pipelining) setting of the C(ssh) connection.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/ssh_connection.html#parameter-pipelining
"""

EXAMPLES = r"""
- name: Export the private key of "web" on the controller, without writing it anywhere
  huaweicloud.kps.kps_private_key_export:
    name: web
  delegate_to: localhost
  run_once: true
  no_log: true
  register: exported

- name: Install it on the web servers (with pipelining on, it never touches the controller's disk)
  huaweicloud.kps.kps_private_key_file:
    path: /home/deploy/.ssh/id_web
    content: "{{ exported.private_key | trim }}\n"
    owner: deploy
    group: deploy
  no_log: true

- name: Take it away again, keeping a backup
  huaweicloud.kps.kps_private_key_file:
    path: /home/deploy/.ssh/id_web
    state: absent
    backup: true
"""

RETURN = r"""
path:
  description: The path of the file, as given in O(path).
  returned: always
  type: str
  sample: /home/deploy/.ssh/id_web
state:
  description: The state of the file after the run, as asked for in O(state).
  returned: always
  type: str
  sample: present
content_changed:
  description:
    - Whether the content of the file was (or, in check mode, would be) written or removed.
    - V(false) when the file already held O(content) and at most its attributes changed.
  returned: always
  type: bool
  sample: true
backup_file:
  description: Path of the backup copy made because of O(backup), or V(null).
  returned: always
  type: str
  sample: /home/deploy/.ssh/id_web.2842.2025-11-23@12:30:01~
msg:
  description: What the module did, or in check mode would do, in words.
  returned: always
  type: str
  sample: Created the file.
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.huaweicloud.kps.plugins.module_utils._secret_file_runner import SecretFileRunner


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True, aliases=['dest']),
            content=dict(type='str', no_log=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            mode=dict(type='raw', default='0600'),
            backup=dict(type='bool', default=False),
        ),
        required_if=[('state', 'present', ('content',))],
        supports_check_mode=True,
        add_file_common_args=True,
    )
    SecretFileRunner(module).execute()


if __name__ == '__main__':
    main()
