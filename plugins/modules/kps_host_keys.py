#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_host_keys
short_description: Install all of a host's private keys and manage its authorized_keys lines in one call
version_added: 2.0.0
description:
  - The host side of the role P(huaweicloud.kps.kps_key_distribution#role). In one call per host it installs the
    private keys of O(keys), adds, replaces or removes the C(authorized_keys) lines that carry the comment
    C(huaweicloud.kps:NAME), and creates the C(~/.ssh) directories it writes into.
  - Without O(private_keys) (report mode) it changes nothing and reports, for every key file of O(keys), the public
    key the file holds (derived on the host), and in RV(needs_private_keys) the key pairs whose private key it
    needs to bring the host in line. The role uses this to export from KPS only the keys some host lacks.
  - Public keys are derived on the host with the Python library C(cryptography) where it is installed, else with
    C(ssh-keygen -y); a file whose public key neither can derive is reported as V(unknown) and is rewritten.
  - Each user's C(~/.ssh) is opened without following a symbolic link; if it is one, the task fails naming the path
    and changes nothing. Files in it are read without following links and written through the collection's
    write core (a temporary file with mode C(0600) in the same directory, renamed over the file), so that
    another user of the host cannot make the task write to a file of their choice.
  - A file in C(~USER/.ssh) is read only when USER could read it himself (he owns it, or its group or other
    permission bits let him) and, if it has other hard links, owns it. An C(authorized_keys) file that fails this
    (a root-only file the user renamed or hard-linked there) fails the task naming it, before anything is read or
    written; a key file that fails it is not read, and is replaced. C(authorized_keys) lines are split at newlines
    only, as sshd reads them; a file over 4 MiB is refused.
  - An existing C(~USER/.ssh) or C(authorized_keys) owned by root stays root's, with its group and mode less group
    and other write permission (which sshd refuses); one owned by anyone else becomes USER's, with mode C(0700) or
    C(0600), the mode narrowed before the owner changes.
  - Makes no API call and takes no credentials, so it is not part of the C(huaweicloud.kps.kps) action group.
author:
  - huaweicloud.kps contributors (@huaweicloud)
extends_documentation_fragment:
  - huaweicloud.kps.attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode needs no private keys. It reports which files would be created, replaced, converted or
        removed and which C(authorized_keys) lines would change, with a warning for each key pair that O(public_keys)
        lacks (a key pair an earlier task would create).
  diff_mode:
    support: full
    details:
      - One diff per file. Key files show the public key, format, mode, owner and group before and after;
        C(authorized_keys) files show the lines removed and added (public keys and options), and their mode, owner
        and group in the headers. Never a private key. In report mode the diff shows what a real run would change.
  idempotent:
    description: Running the task again with the same options changes nothing and reports no change.
    support: full
  platform:
    platforms: posix
options:
  keys:
    description:
      - The key pairs of this host, in the form of the role's C(kps_key_distribution_keys).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the KPS key pair, 1 to 255 letters, digits, C(_) or C(-) (checked before any file is read or
            written; the default key file is C(~OWNER/.ssh/id_NAME)).
        type: str
        required: true
      state:
        description:
          - V(present) installs the private key (unless O(keys[].private_key.install=false)) and adds the public key
            to the C(authorized_keys) of O(keys[].authorized_users).
          - V(absent) removes the C(authorized_keys) lines with the comment C(huaweicloud.kps:NAME) and the private
            key file if the role installed it (see O(keys[].private_key.path)).
        type: str
        choices: [present, absent]
        default: present
      private_key:
        description: Where and how the private key is installed.
        type: dict
        suboptions:
          install:
            description: Whether the private key is installed on the host.
            type: bool
            default: true
          owner:
            description: Owner of the key file. Defaults to the user the module runs as.
            type: str
          group:
            description: Group of the key file. Defaults to the primary group of O(keys[].private_key.owner).
            type: str
          path:
            description:
              - Absolute path of the key file; a relative path is refused. Defaults to C(~OWNER/.ssh/id_NAME).
              - The module creates C(~OWNER/.ssh) (mode C(0700)) for the default path; the directory of another
                path must exist.
              - With V(absent), the file is removed only if the role installed it, that is an OpenSSH-format key
                file with the comment C(huaweicloud.kps:NAME) (which the module gives every OpenSSH-format key it
                installs), or a PEM or PKCS#8 file, or a passphrase-protected OpenSSH-format file, holding the key of
                O(public_keys). Anything else (a link, another key, the user's own key under that name) is left in
                place with a warning.
            type: str
          mode:
            description: Permissions of the key file, octal (quoted) or symbolic.
            type: raw
            default: '0600'
          format:
            description:
              - The encoding the key file must have, as the O(huaweicloud.kps.kps_private_key_export#module:format)
                option names it. A file holding the right key in another encoding is rewritten (action V(convert)).
              - V(kps) accepts the right key in any encoding.
              - The private key given in O(private_keys) must be in this encoding.
            type: str
            choices: [openssh, pkcs8, pem, kps]
            default: openssh
          passphrase:
            description:
              - Encrypt the key file with this passphrase, as C(ssh-keygen -N) does (OpenSSH private key format,
                aes256-ctr, bcrypt key derivation with 16 rounds); it loads with C(ssh-keygen -y -P PASSPHRASE), and
                the comment C(huaweicloud.kps:NAME) is inside the encrypted part. Needs
                O(keys[].private_key.format=openssh); an empty passphrase is refused.
              - Needs the Python libraries C(cryptography) (3.1 or later) and C(bcrypt) on the host (on Debian and
                Ubuntu C(python3-cryptography) and C(python3-bcrypt)); without them a host with such an entry fails,
                naming them, before anything is read or written (in check mode too).
              - A file is left as it is when the passphrase decrypts it and it holds the key of O(public_keys) (one
                bcrypt key derivation per file and run, about 0.1 s). A file the passphrase does not decrypt, or an
                unencrypted one, is rewritten; the diff says why (C(encryption), never the passphrase). Without
                O(keys[].private_key.passphrase), a passphrase-protected file is rewritten unencrypted.
              - The public key of a passphrase-protected OpenSSH-format file is read from its unencrypted header, so
                that with V(absent) such a file is removed when that public key is the key pair's in O(public_keys).
                A file that asks for more than 1024 KDF rounds is not decrypted (it would hold the task up) and is
                rewritten.
            type: str
            version_added: 2.3.0
      authorized_users:
        description: Users whose C(~/.ssh/authorized_keys) gets (or, with V(absent), loses) the key pair's line.
        type: list
        elements: str
        default: []
      authorized_key_options:
        description:
          - Options put in front of the key in C(authorized_keys), as in sshd(8).
          - Not set, a new line has none and an existing line of the key pair keeps its options (for example
            C(restrict,command="...") that an administrator added); an empty string removes them.
        type: str
  public_keys:
    description:
      - The public key of each key pair of O(keys) as KPS has it (C(TYPE BASE64)), by key pair name, for example
        from M(huaweicloud.kps.kps_keypair_info).
      - A present key pair missing from it fails the task; in check mode it gives a warning instead (the key pair
        may not exist yet). With V(absent), it lets the module recognise PEM key files it installed.
    type: dict
    default: {}
  public_keys_error:
    description:
      - Why O(public_keys) could not be read from KPS. A host with present key pairs then fails with this
        message before anything is read or written; absent key pairs are still removed.
    type: str
  private_keys:
    description:
      - The private keys to install, by key pair name, as M(huaweicloud.kps.kps_private_key_export) returns them.
        Only those of RV(needs_private_keys) are needed.
      - Not given, the module runs in report mode and changes nothing.
      - Set C(no_log) on the task as well.
    type: dict
notes:
  - Enable pipelining (C(ANSIBLE_PIPELINING=True) or C(ansible_pipelining=true)); without it Ansible writes the
    module's arguments, the private keys included, to temporary files on the controller and the host, and the
    module warns.
seealso:
  - module: huaweicloud.kps.kps_private_key_export
  - module: huaweicloud.kps.kps_keypair_info
"""

EXAMPLES = r"""
- name: What does this host hold?
  huaweicloud.kps.kps_host_keys:
    keys:
      - name: deploy
        authorized_users: [git]
    public_keys: "{{ info.keypairs | items2dict(key_name='name', value_name='public_key') }}"
  register: report

- name: Export what some host lacks, once (nothing when every host holds its keys)
  huaweicloud.kps.kps_private_key_export:
    names: "{{ needed }}"
  vars:
    # Every key pair some host needs in the OpenSSH format (the default format).
    needed: "{{ ansible_play_hosts | map('extract', hostvars, ['report', 'needs_private_keys'])
                | map(attribute='openssh', default=[]) | flatten | unique }}"
  when: needed | length > 0
  delegate_to: localhost
  run_once: true
  no_log: true
  register: exported

- name: Install in one call per host
  huaweicloud.kps.kps_host_keys:
    keys:
      - name: deploy
        authorized_users: [git]
    public_keys: "{{ info.keypairs | items2dict(key_name='name', value_name='public_key') }}"
    private_keys: "{{ exported.private_keys | default({}) }}"
  no_log: true
"""

RETURN = r"""
key_files:
  description: Every key file of O(keys) on this host, as found before the run.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The key pair.
      type: str
      sample: deploy
    path:
      description: The key file.
      type: str
      sample: /home/git/.ssh/id_deploy
    state:
      description: The state asked for.
      type: str
      sample: present
    status:
      description:
        - V(matches) (the key of O(public_keys), in the asked format and encryption), V(other_key),
          V(other_format), V(other_encryption) (unencrypted where O(keys[].private_key.passphrase) is set, encrypted
          with another passphrase, or encrypted where it is not set), V(missing), V(unknown) (no public key could be
          derived), V(present) (no public key to compare with), V(link) or V(other) (not a regular file).
      type: str
      sample: matches
    public_key:
      description:
      - The public key the file holds, derived on the host, or V(null). For a passphrase-protected OpenSSH-format
        file, the public key of its unencrypted header.
      type: str
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDsWJp6rNT9aIq5cxQU0YWFpYm1pZ3h0dmFyZW1wbGVrZXk0
    format:
      description: V(openssh), V(pkcs8), V(pem), V(encrypted) or V(null).
      type: str
      sample: openssh
needs_private_keys:
  description:
    - The key pairs whose private key this host needs (files to create, replace or convert), by the format
      the files must have.
    - Only key pairs of O(keys) entries that are V(present) and install their private key
      (O(keys[].private_key.install=true)). The module's action plugin cuts what the host reports down to them on
      the controller, so a compromised host cannot make a play that exports what it reports fetch or send it
      other key pairs.
  returned: always
  type: dict
  sample: {openssh: [deploy]}
pending:
  description: Whether anything on the host differs from O(keys) (in report mode, what a real run would change).
  returned: always
  type: bool
  sample: true
files:
  description: The files and directories that change (or would change), with what happens to each.
  returned: always
  type: list
  elements: dict
  sample:
    - {path: /home/git/.ssh, kind: directory, action: create}
    - {path: /home/git/.ssh/id_deploy, kind: private_key, action: create, key_pair: deploy}
    - {path: /home/git/.ssh/authorized_keys, kind: authorized_keys, action: update, key_pairs: [deploy]}
msg:
  description: What the module did or would do, in words.
  returned: always
  type: str
  sample: Changed 3 files or directories.
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys_runner import HostKeysRunner

KEY_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    private_key=dict(type='dict', no_log=False, options=dict(
        install=dict(type='bool', default=True),
        owner=dict(type='str'),
        group=dict(type='str'),
        path=dict(type='str'),
        mode=dict(type='raw', default='0600'),
        format=dict(type='str', choices=['openssh', 'pkcs8', 'pem', 'kps'], default='openssh'),
        passphrase=dict(type='str', no_log=True),
    )),
    authorized_users=dict(type='list', elements='str', default=[]),
    authorized_key_options=dict(type='str', no_log=False),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            keys=dict(type='list', elements='dict', required=True, no_log=False, options=KEY_SPEC),
            public_keys=dict(type='dict', default={}, no_log=False),
            public_keys_error=dict(type='str'),
            private_keys=dict(type='dict', no_log=True),
        ),
        supports_check_mode=True,
    )
    HostKeysRunner(module).execute()


if __name__ == '__main__':
    main()
