#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_private_key_import
short_description: Make Huawei Cloud KPS host the private key of an SSH key pair
version_added: 1.0.0
description:
  - Makes sure that Huawei Cloud KPS (Key Pair Service) hosts (escrows) a given private key for the key pair
    O(name), or that it hosts none (O(state=absent)).
  - With O(state=present) the module derives the public key from the private key locally and reads the key
    pair once. If the key pair does not exist, it is created from that public key with the private key hosted,
    in one call. If it exists and does not host a private key yet, the private key is imported. If it already
    hosts this very key, nothing is sent. If its public key is a different key, the module fails before any write.
  - KPS only accepts unencrypted PEM. Encrypted keys are decrypted locally with O(private_key_passphrase) and
    OpenSSH-format keys are converted locally. What is sent is PKCS#1 PEM for RSA and PKCS#8 PEM for ECDSA and
    ED25519, over TLS, encrypted at rest by KPS as O(encryption_type) says.
  - KPS does not report which O(encryption_type) or KMS key protects a hosted private key, so the module
    cannot see when they differ from the task. Use O(force=true) to re-import the key with new encryption
    settings.
  - O(state=absent) clears the hosted private key; the key pair itself and its public key stay.
  - With O(keys) instead of O(name), the module makes KPS host many private keys in one task, for a migration
    of existing keys (from bastions, vaults, CI secrets). It reads and parses every key locally, looks all key
    pairs up at once (one listing of 1000 key pairs a call, not one read per key), then creates the missing key
    pairs with their private keys hosted in batch-import calls of at most 10 key pairs each, and imports the
    private key of each key pair that exists without it (one call each). Key pairs that already host their key
    cost no call. Each key is decided as O(name) would decide it.
  - With O(keys), a key that fails (its private key cannot be read, its key pair holds another public key, KPS
    refuses it) does not stop the others. They are done first, then the task fails naming every failed key
    and why, and RV(key_results) reports each key. Run the task again once they are fixed; it only does what is
    left.
    Mistakes in O(keys) itself (an invalid or repeated name, O(encryption_type=kms) without a KMS key) fail the
    task before anything is read or sent.
  - The private key, its passphrase and the credentials never appear in the result, in diffs, in warnings or in
    error messages.
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
      - Check mode reads the key pair and reports the same RV(ignore:changed) and RV(keypair) as a real run
        would, but sends no write. Fields that only KPS assigns (for example RV(keypair.id) of a key pair to be
        created) are V(null).
  diff_mode:
    support: full
    details:
      - The diff shows whether the key pair exists, whether KPS hosts its private key and its fingerprint.
        It never shows key material.
      - With O(keys), the diff shows those for each key pair that is (or would be) created or imported, by name.
  idempotent:
    description: When run twice in a row with the same options, the second run reports no change.
    support: full
    details:
      - With O(force=true) the module re-imports the private key on every run and always reports a change.
options:
  name:
    description:
      - Name of the SSH key pair in KPS.
      - Letters, digits, V(_) and V(-), at most 255 characters. It is checked before any API call.
      - KPS creates key pairs with names of up to 255 characters, but its import call takes at most 64 (the
        SDK's model says so). A key pair this module creates may have a longer name; importing into an
        existing key pair whose name is longer than 64 characters fails before any write.
      - Exactly one of O(name) and O(keys) is required.
    type: str
  keys:
    description:
      - Many private keys to host at once, each for its own key pair, instead of O(name) (see the description).
      - O(private_key_passphrase), O(encryption_type), O(kms_key_name), O(kms_key_id) and O(user_id) given for
        the task apply to every key that does not set its own; O(create) and O(force) apply to every key.
      - Only with O(state=present). Mutually exclusive with O(name), O(private_key) and O(private_key_path).
    type: list
    elements: dict
    version_added: 2.2.0
    suboptions:
      name:
        description:
          - Name of the key pair, as for O(name). Each name may appear only once.
        type: str
        required: true
      private_key:
        description:
          - The private key, as text, in the formats O(private_key) accepts.
          - Exactly one of O(keys[].private_key) and O(keys[].private_key_path) is required.
        type: str
      private_key_path:
        description:
          - Path to a file holding the private key, read as O(private_key_path) is read.
        type: path
      private_key_passphrase:
        description:
          - Passphrase of an encrypted private key; defaults to O(private_key_passphrase).
        type: str
      encryption_type:
        description:
          - How KPS encrypts this private key at rest; defaults to O(encryption_type).
          - With V(kms), O(keys[].kms_key_name) or O(keys[].kms_key_id) (or the task's) is required.
        type: str
        choices: [default, kms]
      kms_key_name:
        description:
          - The KMS key that encrypts this private key; defaults to O(kms_key_name).
        type: str
      kms_key_id:
        description:
          - ID of the KMS key that encrypts this private key; defaults to O(kms_key_id).
        type: str
      user_id:
        description:
          - ID of the IAM user the key pair belongs to; defaults to O(user_id).
        type: str
      scope:
        description:
          - Scope of a key pair the module creates, V(user) or V(domain) (usable by every user of the account).
          - When not given, KPS decides (V(user)). An existing key pair keeps its scope.
        type: str
        choices: [user, domain]
  state:
    description:
      - V(present) makes KPS host the private key for the key pair O(name), creating the key pair when it is
        missing and O(create=true).
      - V(absent) clears the private key that KPS hosts for O(name). The key pair itself is kept. A key pair
        that hosts no private key, or that does not exist, is left alone.
    type: str
    choices: [present, absent]
    default: present
  private_key:
    description:
      - The private key, as text. PEM (PKCS#1, SEC1 or PKCS#8, encrypted or not) and OpenSSH formats are
        accepted; RSA, ECDSA (P-256, P-384, P-521) and ED25519 keys.
      - Mutually exclusive with O(private_key_path). One of them is required when O(state=present).
      - Not used when O(state=absent).
    type: str
  private_key_path:
    description:
      - Path to a file holding the private key, in the formats O(private_key) accepts.
      - The file is read on the host that runs the module. With the usual C(delegate_to=localhost) that is the
        controller; without it, the managed host.
      - A symbolic link on the way or at the file is followed only when nobody but root or the user running the
        module can have made it (the link and its directory belong to root or that user, and the directory is
        not writable by its group or others). Any other link fails the task before anything is read or sent,
        naming the link and the file it leads to; give that file's path if it is the right one.
      - A file with other hard links is read only from a directory trusted the same way (another user could
        have made that name for a file they cannot read); otherwise the task fails, naming the path, before
        anything is read or sent. Give a path in a directory only root or you can write, or remove the extra link.
      - Mutually exclusive with O(private_key). Not used when O(state=absent).
    type: path
  private_key_passphrase:
    description:
      - Passphrase that decrypts an encrypted O(private_key) or O(private_key_path). The key is decrypted
        locally; KPS never sees the passphrase.
      - Without it an encrypted key fails with a message saying so. It is ignored for an unencrypted key.
      - If not set, the value of the E(HW_PRIVATE_KEY_PASSPHRASE) environment variable is used (on the host that
        runs the module); the option on the task wins over it, and an empty variable counts as not set.
      - In an ad hoc command (C(ansible -m ... -a ...)) give it through E(HW_PRIVATE_KEY_PASSPHRASE) or as a
        template of a vaulted variable (C(private_key_passphrase={{ pp }}) with C(-e @vault.yml)), never as a
        literal value. When an ad hoc task fails, ansible-core prints its arguments as typed.
      - Decrypting an encrypted OpenSSH-format key (what C(ssh-keygen) writes by default) needs the Python
        library C(bcrypt) on the host running the module. Without it the task fails with a message that says so
        and how to give an unencrypted copy of the key instead.
    type: str
  encryption_type:
    description:
      - How KPS encrypts the hosted private key at rest.
      - V(default) uses the KPS default key. V(kms) uses the KMS key O(kms_key_name) or O(kms_key_id).
      - KPS does not report this setting back. Changing it on a key that KPS already hosts needs O(force=true).
    type: str
    choices: [default, kms]
    default: default
  kms_key_name:
    description:
      - Name (alias) of the KMS key that encrypts the private key, for example V(kps/default).
      - Required, or O(kms_key_id), when O(encryption_type=kms).
      - O(kms_key_name) and O(kms_key_id) may be given together (the SDK allows it and Terraform's acceptance
        test sends both); they must then name the same KMS key.
    type: str
  kms_key_id:
    description:
      - ID of the KMS key that encrypts the private key.
      - Required, or O(kms_key_name), when O(encryption_type=kms). May be given with O(kms_key_name).
    type: str
  user_id:
    description:
      - ID of the IAM user the key pair belongs to, for key pairs of user scope.
      - Sent with the create and import calls; not used to compare key pairs.
    type: str
  create:
    description:
      - Whether to create the key pair O(name) when it does not exist.
      - With V(false), a missing key pair is an error.
    type: bool
    default: true
  force:
    description:
      - Re-import the private key even when KPS already hosts this very key, for example to move it to another
        O(encryption_type) or KMS key. The module then reports a change on every run.
      - It never overrides a public key mismatch.
    type: bool
    default: false
requirements:
  - bcrypt >= 3.1.5, only to decrypt passphrase-protected OpenSSH-format keys
notes:
  - An unchanged run makes one KPS call, a read of the key pair (plus one IAM call to find the project when
    O(project_id) is not given, and the token call of a password login). A run that writes reads the key pair
    once more afterwards, to return what KPS holds.
  - With O(keys), the lookup of the key pairs is a listing of the project, 1000 key pairs a call (a single key
    is one read). A run that writes makes ceil(C/10) batch-import calls for C key pairs to create and one import
    call per existing key pair without its key, then looks the key pairs written up once more.
  - KPS decides whether a private key belongs to a key pair by its public key; so does this module. The
    fingerprint (MD5, colon separated) is shown in messages and results.
  - The private key is read and decrypted by the host that runs the module, which also talks to KPS. Run the
    module on the controller (C(delegate_to=localhost), C(run_once=true)) to keep key files off managed hosts.
  - Set C(no_log=true) on tasks that template the private key from variables, so that it does not show up in
    the task's own output (O(private_key) and O(private_key_passphrase) are hidden by the module either way).
    C(no_log) also hides the failure message (on ansible-core before 2.19 entirely), which names each key of
    O(keys) that failed and why and holds no key or passphrase. Register the result with C(ignore_errors=true)
    and fail with its C(msg) in the next task, as the example does.
seealso:
  - module: huaweicloud.kps.kps_private_key_export
  - name: Huawei Cloud KPS private key import API
    description: The API call this module uses for existing key pairs.
    link: https://support.huaweicloud.com/intl/en-us/api-dew/ImportPrivateKey.html
"""

EXAMPLES = r"""
- name: Let KPS host the private key of key pair "web" (AK/SK from the task)
  huaweicloud.kps.kps_private_key_import:
    name: web
    private_key_path: ~/.ssh/web_id_ed25519
    region: cn-north-4
    access_key: "{{ hw_access_key }}"
    secret_key: "{{ hw_secret_key }}"
  delegate_to: localhost
  run_once: true

- name: Temporary credentials (AK/SK + security token), for example from an STS call
  huaweicloud.kps.kps_private_key_import:
    name: web
    private_key_path: files/web.pem
    region: cn-north-4
    access_key: "{{ sts.access_key }}"
    secret_key: "{{ sts.secret_key }}"
    security_token: "{{ sts.security_token }}"
  delegate_to: localhost

- name: Token login with an IAM user name and password
  huaweicloud.kps.kps_private_key_import:
    name: web
    private_key_path: files/web.pem
    region: cn-north-4
    domain_name: my-account
    user_name: deploy
    user_password: "{{ iam_password }}"
  delegate_to: localhost

- name: Set the credentials once for every module of the collection
  module_defaults:
    group/huaweicloud.kps.kps:
      region: cn-north-4
      project_id: "{{ hw_project_id }}"
      access_key: "{{ hw_access_key }}"
      secret_key: "{{ hw_secret_key }}"
  delegate_to: localhost
  run_once: true
  block:
    - name: Host a private key given as text (a vaulted variable)
      huaweicloud.kps.kps_private_key_import:
        name: db
        private_key: "{{ vault_db_private_key }}"
      no_log: true

    - name: Host an encrypted private key, decrypted locally with its passphrase
      huaweicloud.kps.kps_private_key_import:
        name: backup
        private_key_path: files/backup_rsa.pem
        private_key_passphrase: "{{ vault_backup_passphrase }}"

    - name: Fail instead of creating the key pair when it does not exist
      huaweicloud.kps.kps_private_key_import:
        name: legacy
        private_key_path: files/legacy.pem
        create: false

    - name: Encrypt the hosted key with a KMS key (force moves an already hosted key to it)
      huaweicloud.kps.kps_private_key_import:
        name: web
        private_key_path: ~/.ssh/web_id_ed25519
        encryption_type: kms
        kms_key_name: kps/default
        force: true

    - name: Stop hosting the private key of "old"; the key pair itself stays
      huaweicloud.kps.kps_private_key_import:
        name: old
        state: absent

    - name: Host many existing keys in one task; each key pair is created, imported into, or left alone
      huaweicloud.kps.kps_private_key_import:
        private_key_passphrase: "{{ vault_migration_passphrase }}"  # for every key that sets none
        keys:
          - name: bastion-alice
            private_key_path: /srv/migration/alice_id_ed25519
          - name: bastion-bob
            private_key_path: /srv/migration/bob_id_rsa
            scope: domain
          - name: ci-deploy
            private_key: "{{ vault_ci_deploy_key }}"
            encryption_type: kms
            kms_key_name: kps/default
      no_log: true
      register: migration
      ignore_errors: true  # no_log hides the message naming each key that failed and why: the next task shows it

    - name: Name the keys that failed and why (the module keeps keys and passphrases out of its message)
      ansible.builtin.fail:
        msg: "{{ migration.msg }}"
      when: migration is failed

    - name: Show which key pairs were created, imported or already hosted
      ansible.builtin.debug:
        msg: "created {{ migration.created }}, imported {{ migration.imported }}, unchanged {{ migration.unchanged }}"
"""

RETURN = r"""
changed:
  description: Whether the private key was (or, in check mode, would be) created, imported or cleared.
  returned: always
  type: bool
  sample: true
msg:
  description: What the module did, or in check mode would do, in words.
  returned: always
  type: str
  sample: Imported the private key into key pair web.
keypair:
  description:
    - The key pair after the run, as KPS describes it. Never holds the private key.
    - In check mode, fields that KPS would assign to a key pair it has not created yet are V(null).
    - V(null) when O(state=absent) and the key pair does not exist.
  returned: when O(name) is given
  type: dict
  contains:
    name:
      description: Name of the key pair.
      returned: always
      type: str
      sample: web
    id:
      description: ID KPS assigned to the key pair.
      returned: always
      type: int
      sample: 1234
    type:
      description: Type of the key pair, V(ssh) or V(x509).
      returned: always
      type: str
      sample: ssh
    scope:
      description: V(domain) (usable by every user of the account) or V(user).
      returned: always
      type: str
      sample: user
    user_id:
      description: ID of the user the key pair belongs to.
      returned: always
      type: str
      sample: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
    public_key:
      description: The public key as C(<type> <base64>), without a comment.
      returned: always
      type: str
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoAyG4hNGl7rDnxNFnOQWnd3YqcpMD4tRUTomW5Z2Ts
    fingerprint:
      description: MD5 fingerprint of the public key, lowercase hex, colon separated, as KPS reports it.
      returned: always
      type: str
      sample: 3f:0a:62:c1:9b:11:8d:4e:27:5c:a0:69:0e:f2:d8:41
    is_key_protection:
      description: Whether KPS hosts the private key of the key pair.
      returned: always
      type: bool
      sample: true
    frozen_state:
      description:
        - Freeze state of the key pair (V(0) means not frozen).
        - Always an integer, V(null) if KPS gave none. KPS lists report it as a string and show reports an
          integer; the modules convert, so C(frozen_state == 0) works whatever call read the key pair.
      returned: always
      type: int
      sample: 0
    description:
      description: Description of the key pair.
      returned: always
      type: str
      sample: ''
    create_time:
      description:
        - When the key pair was created, since the epoch, as KPS reports it.
        - The unit is not settled. The KPS API page and the SDK model (C(keypair_detail.py)) say seconds;
          Terraform's provider reads milliseconds (its C(created_at)), and the emulator of this collection sends
          milliseconds. M(huaweicloud.kps.kps_keypair_info) also returns it in ISO 8601 (C(create_time_iso)),
          reading either unit.
      returned: always
      type: int
      sample: 1763891234000
    update_time:
      description: When the key pair was last changed, since the epoch, in the unit of RV(keypair.create_time).
      returned: always
      type: int
      sample: 1763891234000
key_results:
  description:
    - With O(keys), one entry per key, in the order of O(keys). Never holds a private key.
  returned: when O(keys) is given, also in a failed result
  type: list
  elements: dict
  version_added: 2.2.0
  contains:
    name:
      description: Name of the key pair.
      returned: always
      type: str
      sample: bastion-alice
    action:
      description:
        - What the key needs, as decided before any write, V(create) (a new key pair with the key hosted),
          V(import) (an existing key pair without its key), V(reimport) (O(force=true)) or V(none) (already
          hosted).
        - V(null) when the private key could not be read.
      returned: always
      type: str
      sample: create
    changed:
      description: Whether this key was (in check mode, would be) created or imported.
      returned: always
      type: bool
      sample: true
    failed:
      description: Whether this key failed; RV(key_results[].msg) says why.
      returned: always
      type: bool
      sample: false
    msg:
      description: What was (in check mode, would be) done for this key, or why it failed.
      returned: always
      type: str
      sample: Created key pair bastion-alice with its private key hosted by KPS.
    keypair:
      description:
        - The key pair after the run, with the fields a listing reports (RV(keypair.name), RV(keypair.type),
          RV(keypair.scope), RV(keypair.public_key), RV(keypair.fingerprint), RV(keypair.is_key_protection),
          RV(keypair.frozen_state)). V(null) when the key pair does not exist.
      returned: always
      type: dict
      sample: {name: bastion-alice, type: ssh, scope: user, is_key_protection: true, frozen_state: 0,
               public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoAyG4hNGl7rDnxNFnOQWnd3YqcpMD4tRUTomW5Z2Ts,
               fingerprint: "3f:0a:62:c1:9b:11:8d:4e:27:5c:a0:69:0e:f2:d8:41"}
created:
  description: With O(keys), the names of the key pairs created with their private keys hosted (in check mode, to be created).
  returned: when O(keys) is given, also in a failed result
  type: list
  elements: str
  sample: [bastion-alice]
  version_added: 2.2.0
imported:
  description: With O(keys), the names of the existing key pairs whose private keys were (in check mode, would be) imported.
  returned: when O(keys) is given, also in a failed result
  type: list
  elements: str
  sample: [bastion-bob]
  version_added: 2.2.0
unchanged:
  description: With O(keys), the names of the key pairs that already hosted their private keys.
  returned: when O(keys) is given, also in a failed result
  type: list
  elements: str
  sample: [ci-deploy]
  version_added: 2.2.0
failed_keys:
  description: With O(keys), the names of the key pairs that failed; RV(key_results[].msg) and RV(msg) say why.
  returned: when O(keys) is given, also in a failed result
  type: list
  elements: str
  sample: []
  version_added: 2.2.0
"""

from ansible_collections.huaweicloud.kps.plugins.module_utils._batch_import_runner import BatchImportRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._import_runner import PRIVATE_KEY_OPTIONS, ImportRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule


def main():
    key_item = dict(
        name=dict(type='str', required=True),
        private_key=dict(type='str', no_log=True),
        private_key_path=dict(type='path', no_log=False),
        private_key_passphrase=dict(type='str', no_log=True),
        encryption_type=dict(type='str', choices=['default', 'kms']),
        kms_key_name=dict(type='str', no_log=False),
        kms_key_id=dict(type='str', no_log=False),
        user_id=dict(type='str'),
        scope=dict(type='str', choices=['user', 'domain']),
    )
    argument_spec = KpsModule.generate_argspec(
        name=dict(type='str'),
        keys=dict(type='list', elements='dict', options=key_item, no_log=False,
                  mutually_exclusive=[('private_key', 'private_key_path')],
                  required_one_of=[('private_key', 'private_key_path')]),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        **PRIVATE_KEY_OPTIONS,
        encryption_type=dict(type='str', default='default', choices=['default', 'kms']),
        kms_key_name=dict(type='str', no_log=False),
        kms_key_id=dict(type='str', no_log=False),
        user_id=dict(type='str'),
        create=dict(type='bool', default=True),
        force=dict(type='bool', default=False),
    )
    module = KpsModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('private_key', 'private_key_path'), ('name', 'keys'), ('keys', 'private_key'),
                            ('keys', 'private_key_path')],
        required_one_of=[('name', 'keys')],
        required_if=[
            ('state', 'present', ('private_key', 'private_key_path', 'keys'), True),
            ('encryption_type', 'kms', ('kms_key_name', 'kms_key_id'), True),
        ],
        supports_check_mode=True,
    )
    (BatchImportRunner if module.params['keys'] is not None else ImportRunner)(module).execute()


if __name__ == '__main__':
    main()
