#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_keypair
short_description: Create, describe and delete Huawei Cloud KPS SSH key pairs
version_added: 2.0.0
description:
  - Manages the SSH key pair O(name) itself in Huawei Cloud KPS (Key Pair Service), as M(amazon.aws.ec2_key),
    M(openstack.cloud.keypair) or Terraform's C(huaweicloud_kps_keypair) do for their clouds.
  - With O(state=present) a missing key pair is created, either from a public key (O(public_key) or
    O(public_key_path); no private key is ever involved), from a private key you have that KPS then hosts
    (O(private_key) or O(private_key_path), as Terraform does it in one resource), or generated when no key is
    given (by KPS, RSA 2048; by the module for the O(key_type) V(ecdsa) or V(ed25519)).
  - A key pair that exists is managed by its O(name) alone, as M(amazon.aws.ec2_key) and Terraform do. O(name)
    and O(description) update its description; O(name) alone reports it unchanged.
  - KPS returns the private key of a key pair it generates once, in the answer to the create call. The module
    makes KPS host it (O(encryption_type)), writes it to the file O(dest) and/or returns it
    (O(return_private_key)). A key the module generates (O(key_type)) goes exactly the same ways. When the key
    pair must be created (or re-created with O(force=true)) and none of the three is given, the task fails
    after reading the key pair, before any write, since the key would be lost. If the key cannot be delivered
    (for example O(dest) cannot be written) and KPS does not host it, the new key pair is deleted again, so that
    no key pair is left whose private key nobody has.
  - O(scope) is set when the key pair is created; O(description) is set at creation and updated in place when it
    differs.
  - A key pair that exists with another public key, another O(scope), another O(key_type), or (for a generated
    key pair with O(encryption_type)) without a hosted private key is reported and left alone, and the task fails
    before any write. With O(force=true) the module deletes it and creates it again; see O(force) for what that
    means.
  - O(state=absent) deletes the key pair, together with the private key KPS hosts for it.
  - Private keys and credentials never appear in diffs, warnings or error messages; the result holds the
    generated private key only with O(return_private_key=true).
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
        would, but sends no write and writes no file. Fields that only KPS assigns (for example RV(keypair.id),
        or the fingerprint of a key pair KPS or the module would generate) are V(null).
  diff_mode:
    support: full
    details:
      - The diff shows whether the key pair exists, its fingerprint, scope, description and whether KPS hosts its
        private key. It never shows key material.
  idempotent:
    description: When run twice in a row with the same options, the second run reports no change.
    support: full
options:
  name:
    description:
      - Name of the SSH key pair in KPS.
      - Letters, digits, V(_) and V(-), at most 255 characters (the limit of the create call). It is checked
        before any API call.
    type: str
    required: true
  state:
    description:
      - V(present) creates the key pair when it is missing and updates its description.
      - V(absent) deletes the key pair and the private key KPS hosts for it. A missing key pair is left alone.
    type: str
    choices: [present, absent]
    default: present
  public_key:
    description:
      - The public key of the key pair, as an OpenSSH public key line (C(ssh-ed25519 AAAA... comment)). The
        comment is not sent; keys are compared without it.
      - Mutually exclusive with O(public_key_path). Without both, KPS generates the key pair.
    type: str
  public_key_path:
    description:
      - Path to a file holding the public key, for example C(~/.ssh/id_ed25519.pub), read on the host that runs
        the module.
      - A symbolic link on the way or at the file is followed only when nobody but root or the user running the
        module can have made it, as for O(huaweicloud.kps.kps_private_key_import#module:private_key_path); any
        other link fails the task, naming the link and the file it leads to. A file with other hard links is
        read only from a directory trusted the same way.
      - Mutually exclusive with O(public_key).
    type: path
  private_key:
    description:
      - A private key you have, for KPS to host (as Terraform's C(huaweicloud_kps_keypair) takes it). A missing key
        pair is created from its public key with the private key hosted, in one call; a key pair that exists with
        that public key and hosts no private key gets it imported. The key is read, checked and sent exactly as
        M(huaweicloud.kps.kps_private_key_import) does with its
        O(huaweicloud.kps.kps_private_key_import#module:private_key) (same formats, decrypted and converted
        locally), encrypted at rest as O(encryption_type) says (V(default) when not given).
      - With O(public_key) or O(public_key_path) as well, they must be its public key.
      - Mutually exclusive with O(private_key_path) and O(dest).
    type: str
    version_added: 2.2.0
  private_key_path:
    description:
      - Path to a file holding the private key, on the host that runs the module, read as
        O(huaweicloud.kps.kps_private_key_import#module:private_key_path) is read (links and hard links
        included).
      - Otherwise as O(private_key).
    type: path
    version_added: 2.2.0
  private_key_passphrase:
    description:
      - Passphrase that decrypts an encrypted O(private_key) or O(private_key_path), locally, as
        O(huaweicloud.kps.kps_private_key_import#module:private_key_passphrase) does (also from the
        E(HW_PRIVATE_KEY_PASSPHRASE) environment variable when not set). KPS never sees it.
    type: str
    version_added: 2.2.0
  key_type:
    description:
      - The type of a key pair that is generated (no public or private key given), checked on an existing one.
      - V(rsa) is what KPS generates (RSA 2048), as when O(key_type) is not given.
      - V(ecdsa) (NIST P-256) and V(ed25519), which KPS does not generate, are generated by the module with
        C(cryptography), in memory on the host that runs it (never written to its disk but to O(dest)), and the
        key pair is created from that key as from O(private_key), with the key hosted by KPS when
        O(encryption_type) is given, from its public key alone otherwise. The key is then written to O(dest)
        and/or returned (O(return_private_key)) as a key KPS generates is.
      - An existing key pair of another type is reported and left alone, as another public key is, unless
        O(force=true). Without O(key_type) the type of an existing key pair is not compared.
      - Mutually exclusive with O(public_key), O(public_key_path), O(private_key) and O(private_key_path).
    type: str
    choices: [rsa, ecdsa, ed25519]
    version_added: 2.2.0
  encryption_type:
    description:
      - For a key pair that is generated (by KPS or, for O(key_type), by the module), make KPS host (escrow) its
        private key, encrypted at rest with the KPS default key (V(default)) or with the KMS key O(kms_key_name)
        and/or O(kms_key_id) (V(kms)).
      - With O(private_key) or O(private_key_path), how KPS encrypts that key (V(default) when not given).
      - The name of this setting in M(huaweicloud.kps.kps_private_key_import) and in Terraform's
        C(huaweicloud_kps_keypair). Before 2.2.0 this option was called O(key_protection), which remains an alias.
      - KPS can host a private key generated by KPS only when it creates the key pair; the module hosts the key it
        generates for O(key_type) in the create call too. KPS does not report the
        encryption of a hosted key, so a different choice here is not seen on an existing key pair; re-host a
        key with other settings with M(huaweicloud.kps.kps_private_key_import) and O(force=true) there.
      - With O(public_key) or O(public_key_path) alone KPS has no private key to host, and the task fails
        before any call; give O(private_key) or O(private_key_path) too.
    aliases: [key_protection]
    type: str
    choices: [default, kms]
  kms_key_name:
    description:
      - Name (alias) of the KMS key that encrypts the hosted private key, for example V(kps/default).
      - With O(encryption_type=kms), O(kms_key_name), O(kms_key_id) or both are required.
    type: str
  kms_key_id:
    description:
      - ID of the KMS key that encrypts the hosted private key.
    type: str
  dest:
    description:
      - For a key pair that is generated (by KPS or, for O(key_type), by the module), the file to write its
        private key to, mode C(0600) from its first
        byte, on the host that runs the module. Its directory must exist.
      - The file is written as M(huaweicloud.kps.kps_private_key_export) writes its O(dest) (a symbolic link at
        O(dest) is replaced, never followed). A directory on the way that is a symbolic link another user could
        have made, or a directory that cannot be written, fails the task before KPS is asked to create the key
        pair.
      - The key is written in O(format), unencrypted unless O(passphrase) is given.
      - Written only when the module creates the key pair. An existing file is not overwritten unless
        O(force=true). When the key pair already exists nothing is written (KPS returns a private key only at
        creation); write a hosted one with M(huaweicloud.kps.kps_private_key_export).
    type: path
  format:
    description:
      - The encoding of the generated private key in O(dest) and in RV(private_key), as the option of the same
        name of M(huaweicloud.kps.kps_private_key_export). The key is serialised by the module from the parsed key.
      - V(openssh) is the OpenSSH private key format, which every OpenSSH since 6.5 loads for every key type.
      - V(pkcs8) is PKCS#8 PEM, V(pem) traditional PEM (PKCS#1 for RSA, which KPS generates, SEC1 for ECDSA;
        none exists for Ed25519, and O(key_type=ed25519) with V(pem) fails before any call), and V(kps) the
        encoding KPS returned the key in (for a key the module generates, PKCS#8, the encoding it is sent to KPS
        in).
    type: str
    choices: [openssh, pkcs8, pem, kps]
    default: openssh
  passphrase:
    description:
      - Encrypt the generated private key written to O(dest) with this passphrase, in the OpenSSH private key
        format as C(ssh-keygen -N) writes it (cipher C(aes256-ctr), C(bcrypt) key derivation with 16 rounds), so
        that C(ssh-keygen -y -P PASSPHRASE -f FILE) loads it; as
        O(huaweicloud.kps.kps_private_key_export#module:passphrase) of M(huaweicloud.kps.kps_private_key_export).
        With O(return_private_key=true), RV(private_key) is the same encrypted text.
      - Not the passphrase of a private key you give (that is O(private_key_passphrase)).
      - Needs O(dest), O(format=openssh) (the default) and the Python library C(bcrypt) on the host running the
        module. An empty passphrase, or one with another O(format), fails the task before any API call.
    type: str
    version_added: 2.2.0
  return_private_key:
    description:
      - For a key pair that is generated (by KPS or, for O(key_type), by the module), return its private key in
        RV(private_key) when the module creates it.
      - Set C(no_log=true) on the task; the module warns when it is not set.
    type: bool
    default: false
  scope:
    description:
      - Who may use the key pair, set when it is created. V(user) is the IAM user, V(domain) every user of the
        account. When not given, KPS uses V(user) and an existing key pair's scope is not compared.
      - V(account) is Terraform's name for V(domain) (C(scope = "account") in C(huaweicloud_kps_keypair)) and means
        the same; KPS and RV(keypair.scope) say V(domain).
      - A key pair whose scope differs is reported and left alone, unless O(force=true).
    type: str
    choices: [user, domain, account]
  description:
    description:
      - Description of the key pair, at most 255 characters. Set at creation and updated in place when it
        differs. V('') clears it. When not given, the description is not managed.
    type: str
  user_id:
    description:
      - ID of the IAM user the key pair is created for. Sent with the create call; not compared.
    type: str
  force:
    description:
      - Delete and re-create a key pair that differs from the task in what only its creation sets (public key,
        key type, scope, or hosting of a generated private key).
      - B(Consequences:) the old public key is gone from KPS, and so is any private key KPS hosted for it;
        hosts that trust the old public key keep trusting it until you remove it, and anyone who logs in with
        the old private key through KPS-managed access loses it. The new key pair gets a new ID and creation
        time. A generated key pair gets a new private key.
      - Also allows O(dest) to replace an existing file with a newly generated private key.
    type: bool
    default: false
notes:
  - An unchanged run makes one KPS call, a read of the key pair (plus one IAM call to find the project when
    O(project_id) is not given). Creating makes a read, the create call, an update call when O(description) is
    not empty, and a read of the result; a description change is a read, the update and a read; deleting is a
    read and the delete call.
  - KPS generates RSA 2048 key pairs; for ECDSA or Ed25519 set O(key_type).
  - Run the module on the controller (C(delegate_to=localhost), C(run_once=true)); it needs C(requests) and
    C(cryptography) on the host that runs it, and O(dest) and O(public_key_path) are paths on that host.
  - Deleting a key pair that KPS hosts a private key for is one call; KPS deletes the hosted key with it (as
    Terraform's C(huaweicloud_kps_keypair) does).
seealso:
  - module: huaweicloud.kps.kps_keypair_info
  - module: huaweicloud.kps.kps_private_key_import
  - module: huaweicloud.kps.kps_private_key_export
  - name: Moving from ec2_key, openstack keypair or Terraform
    description: The option-by-option migration table of the collection.
    link: https://github.com/huaweicloud/ansible-collection-kps/blob/main/docs/keypair-lifecycle.md
  - name: Huawei Cloud KPS create key pair API
    description: The API call that creates and generates key pairs.
    link: https://support.huaweicloud.com/intl/en-us/api-dew/CreateKeypair.html
"""

EXAMPLES = r"""
- name: Let KPS generate key pair "deploy" and host its private key (credentials from module_defaults)
  huaweicloud.kps.kps_keypair:
    name: deploy
    encryption_type: default
    description: CI deploy key
  delegate_to: localhost
  run_once: true

- name: Generate key pair "bastion", host its private key with a KMS key and keep a copy on the controller
  huaweicloud.kps.kps_keypair:
    name: bastion
    scope: domain
    encryption_type: kms
    kms_key_name: kps/default
    dest: ~/.ssh/bastion.pem
  delegate_to: localhost
  run_once: true

- name: Generate an Ed25519 key pair "deploy-ed25519" (KPS generates RSA only) and have KPS host its private key
  huaweicloud.kps.kps_keypair:
    name: deploy-ed25519
    key_type: ed25519
    encryption_type: default
  delegate_to: localhost
  run_once: true

- name: Create key pair "laptop" from a public key only; KPS never sees a private key
  huaweicloud.kps.kps_keypair:
    name: laptop
    public_key_path: ~/.ssh/id_ed25519.pub
    region: cn-north-4
    access_key: "{{ hw_access_key }}"
    secret_key: "{{ hw_secret_key }}"
  delegate_to: localhost
  run_once: true

- name: Create key pair "bastion-legacy" from an existing private key, hosted by KPS, in one task
  huaweicloud.kps.kps_keypair:
    name: bastion-legacy
    private_key_path: ~/.ssh/bastion_legacy_rsa
    private_key_passphrase: "{{ vault_bastion_passphrase }}"
    encryption_type: kms
    kms_key_name: kps/default
    scope: account
    description: migrated from the old bastion
  delegate_to: localhost
  run_once: true

- name: Replace the public key of "laptop" (deletes and re-creates the key pair)
  huaweicloud.kps.kps_keypair:
    name: laptop
    public_key: "{{ lookup('ansible.builtin.file', 'files/new_laptop.pub') }}"
    force: true
  delegate_to: localhost

- name: Generate a key pair and hand its private key to the next task (then store it somewhere safe)
  huaweicloud.kps.kps_keypair:
    name: one-off
    return_private_key: true
  delegate_to: localhost
  no_log: true
  register: one_off

- name: Describe the existing key pair "deploy" by its name, whoever created it and however
  huaweicloud.kps.kps_keypair:
    name: deploy
    description: CI deploy key
  delegate_to: localhost

- name: Delete key pair "old", with the private key KPS hosts for it
  huaweicloud.kps.kps_keypair:
    name: old
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether the key pair was (or, in check mode, would be) created, re-created, updated or deleted.
  returned: always
  type: bool
  sample: true
msg:
  description: What the module did, or in check mode would do, in words.
  returned: always
  type: str
  sample: Created key pair deploy, generated by KPS, its private key hosted by KPS.
keypair:
  description:
    - The key pair after the run, as KPS describes it. Never holds the private key.
    - In check mode, fields that KPS would assign to a key pair it has not created yet are V(null).
    - V(null) when O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the key pair.
      returned: always
      type: str
      sample: deploy
    id:
      description: ID KPS assigned to the key pair.
      returned: always
      type: raw
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
      description: Freeze state of the key pair (V(0) means not frozen).
      returned: always
      type: int
      sample: 0
    description:
      description: Description of the key pair.
      returned: always
      type: str
      sample: CI deploy key
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
private_key:
  description:
    - The private key generated in this run (by KPS or, for O(key_type), by the module), in O(format), unencrypted
      unless O(passphrase) is given. V(null) when the module created no key pair (or in check mode).
  returned: when O(return_private_key=true)
  type: str
dest_written:
  description: Whether the generated private key was written to O(dest) in this run.
  returned: when O(dest) is given
  type: bool
  sample: true
"""

from ansible_collections.huaweicloud.kps.plugins.module_utils._import_runner import PRIVATE_KEY_OPTIONS
from ansible_collections.huaweicloud.kps.plugins.module_utils._keypair_runner import KeypairRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import SCOPE_CHOICES
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule


def main():
    argument_spec = KpsModule.generate_argspec(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        public_key=dict(type='str', no_log=False),
        public_key_path=dict(type='path', no_log=False),
        **PRIVATE_KEY_OPTIONS,
        encryption_type=dict(type='str', choices=['default', 'kms'], aliases=['key_protection'], no_log=False),
        kms_key_name=dict(type='str', no_log=False),
        kms_key_id=dict(type='str', no_log=False),
        key_type=dict(type='str', choices=['rsa', 'ecdsa', 'ed25519'], no_log=False),
        dest=dict(type='path'),
        format=dict(type='str', choices=['openssh', 'pkcs8', 'pem', 'kps'], default='openssh'),
        return_private_key=dict(type='bool', default=False, no_log=False),
        scope=dict(type='str', choices=SCOPE_CHOICES),
        description=dict(type='str'),
        user_id=dict(type='str'),
        force=dict(type='bool', default=False),
        passphrase=dict(type='str', no_log=True),
    )
    module = KpsModule(
        argument_spec=argument_spec,
        mutually_exclusive=[
            ('public_key', 'public_key_path'), ('private_key', 'private_key_path'),
            ('public_key', 'dest'), ('public_key_path', 'dest'), ('private_key', 'dest'), ('private_key_path', 'dest'),
            ('public_key', 'key_type'), ('public_key_path', 'key_type'), ('private_key', 'key_type'),
            ('private_key_path', 'key_type'),
        ],
        required_if=[('encryption_type', 'kms', ('kms_key_name', 'kms_key_id'), True)],
        required_by={'kms_key_name': 'encryption_type', 'kms_key_id': 'encryption_type', 'passphrase': 'dest'},
        supports_check_mode=True,
    )
    KeypairRunner(module).execute()


if __name__ == '__main__':
    main()
