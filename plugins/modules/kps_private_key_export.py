#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_private_key_export
short_description: Put the private keys that Huawei Cloud KPS hosts into files, one or many, idempotently
version_added: 1.0.0
description:
  - Exports the private key that Huawei Cloud KPS (Key Pair Service) hosts for the key pair O(name), or for
    each key pair of O(names), into files below O(dest), and touches nothing that is already right.
  - The module first reads the key pairs' metadata (one call for O(name); for O(names) a listing, or show
    calls when those are fewer, as the notes explain). A file whose private key belongs to the key pair (same public key, so same fingerprint) is left
    alone without downloading the private key. Only the key pairs whose files are missing or hold another key
    are exported, with one export call for a single key and batch export calls of at most 10 key pairs each
    for several keys.
  - The files and the returned values hold the private key unencrypted, in the encoding O(format) names, by
    default the OpenSSH private key format that C(ssh) loads for every key type. With O(passphrase) the files
    are encrypted as C(ssh-keygen -N) encrypts them.
  - Every exported private key is checked against the key pair's public key before it is written or returned.
    Entries of a batch archive that are not private keys (a readme, public keys) are ignored. A batch archive
    that lacks a requested key or holds a private key that was not asked for is not used; the key pairs of
    that batch are exported one call each instead, with a warning. A corrupt or truncated archive, or one
    with an unsafe entry name, fails the task. A key that did not come back is never returned as a value.
  - Files are written atomically. Each new file is first written to a temporary file in the same directory,
    which has mode C(0600) before its first byte and already has its final owner and group; it gets its final
    O(mode) only when it is complete. The temporary files of all key pairs are complete and synced to disk
    before the first one replaces its destination. A failed or interrupted run does not leave partial files
    behind and does not change any existing file; a run killed with SIGKILL may leave C(0600) temporary files,
    which the next run removes.
  - The destination directory must be writable; this is checked before any private key is exported. A run that
    fails after it created a directory or replaced a file lists those paths in RV(changed_files).
  - A new or rewritten file belongs to O(owner) and O(group) when given, otherwise to the user running the
    module; never to whoever owned the file it replaces. Other users of the host are not trusted. A symbolic
    link at a destination is replaced by a regular file (its target is never read or written), and directories
    are opened without following links another user could have made (see O(dest)).
  - A key pair that does not exist, or for which KPS does not host a private key, fails the task before any
    export call; the message names every such key pair at once. In check mode the module only warns about
    them and reports what a run would do once they exist (for example when an earlier
    M(huaweicloud.kps.kps_private_key_import) task creates them), so that the first run of a playbook can be
    checked. With O(fail_on_missing=false) they are skipped instead, with a warning, and listed in
    RV(missing) and RV(not_hosted).
  - >-
    Without O(dest), the module returns the private keys (RV(private_key) or RV(private_keys)) instead of
    writing them. Set C(no_log: true) on such tasks; the module warns when it is not set.
author:
  - huaweicloud.kps contributors (@huaweicloud)
extends_documentation_fragment:
  - huaweicloud.kps.auth
  - huaweicloud.kps.attributes
  - huaweicloud.kps.attributes.action_group
  - ansible.builtin.action_common_attributes
  - action_common_attributes.files  # the FQCN form of this sub-fragment does not resolve in ansible-core 2.19
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the key pairs and the existing files and reports the same RV(ignore:changed),
        RV(files) and diff as a real run would, but makes no export call and writes nothing.
      - >-
        Without O(dest), check mode makes no export call either, so RV(private_key) and the values of
        RV(private_keys) are V(null). Set C(check_mode: false) on the task to get the keys during a check-mode
        run; the task changes nothing either way.
  diff_mode:
    support: full
    details:
      - For each file, the diff shows whether it exists, its mode and the fingerprint of the key it holds,
        before and after. It never shows key material.
  idempotent:
    description: Running the task again with the same options changes nothing and reports no change.
    support: full
    details:
      - With O(force=true) the module exports and rewrites every file on every run and always reports a change.
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none
options:
  name:
    description:
      - Name of the key pair whose private key to export.
      - Letters, digits, V(_) and V(-), at most 255 characters (the limit of KPS key pair names). It is checked
        before any API call.
      - Exactly one of O(name) and O(names) is required.
    type: str
  names:
    description:
      - Names of the key pairs whose private keys to export, any number of them. Each one must appear only once.
      - Each name has at most 255 characters; with O(dest), at most 251, so that C(<name>.pem) is a valid file name.
      - Exactly one of O(name) and O(names) is required.
    type: list
    elements: str
  dest:
    description:
      - With O(name), the path of the file to write the private key to.
      - With O(names), the directory to write the private keys to, one file C(<name>.pem) per key pair, whatever
        O(format) is (every format is PEM-armoured text, C(-----BEGIN ...-----), the OpenSSH format too).
      - The files are yours, so they carry no mark of the collection; in the OpenSSH format the key's comment is
        empty. Only the role C(huaweicloud.kps.kps_key_distribution) marks what it installs (comment
        C(huaweicloud.kps:NAME)), so that its O(ignore:state=absent) removes only those files.
      - >-
        The file is written on the host that runs the module. With the usual C(delegate_to: localhost) that is
        the controller.
      - A symbolic link at a destination file is replaced by a regular file; the file it points to is never read
        or written.
      - A directory on the way that is a symbolic link is followed only when nobody but root or the user running
        the module can have made it (the link and the directory holding it belong to one of them, and that
        directory is not writable by its group or others), as C(/var/run -> /run). Any other link fails the task
        naming it, before any API call.
      - When not given, nothing is written and the private keys are returned (RV(private_key) or
        RV(private_keys)).
    type: path
  format:
    description:
      - The encoding of the private keys, in the files and in the returned values. The key is always written
        unencrypted and serialised by the module from the parsed key, never copied byte for byte from KPS.
      - V(openssh) is the OpenSSH private key format (C(BEGIN OPENSSH PRIVATE KEY)), which every OpenSSH since
        6.5 loads for every key type. It is the default because KPS returns ED25519 keys as PKCS#8, which
        OpenSSH (9.2, as Debian 12 ships, and older) cannot load, so that every exported key works with C(ssh)
        and C(ssh-keygen) out of the box.
      - V(pkcs8) is PKCS#8 PEM (C(BEGIN PRIVATE KEY)), for tools that want it (OpenSSL, Java, most TLS
        libraries). OpenSSH loads it for RSA and ECDSA keys, not for ED25519 keys.
      - V(pem) is traditional PEM, PKCS#1 for RSA (C(BEGIN RSA PRIVATE KEY)) and SEC1 for ECDSA
        (C(BEGIN EC PRIVATE KEY)), for old tools that only read that. ED25519 keys have no traditional PEM, so
        asking it for an ED25519 key pair fails the task before any export call.
      - V(kps) keeps the encoding KPS returned the key in (today PKCS#1 for RSA, PKCS#8 for ECDSA and ED25519;
        SEC1 for ECDSA keys imported by release 1.0.0), which is what release 1.0.0 wrote. A file that already
        holds the right key in any encoding is then left alone.
      - A file that holds the right key in another encoding than O(format) is rewritten (RV(files[].action) is
        V(reformat)).
    type: str
    choices: [openssh, pkcs8, pem, kps]
    default: openssh
    version_added: 2.0.0
  passphrase:
    description:
      - Encrypt the files at O(dest) with this passphrase, in the OpenSSH private key format as
        C(ssh-keygen -N) writes it (cipher C(aes256-ctr), C(bcrypt) key derivation with 16 rounds), so that
        C(ssh), C(ssh-add) and C(ssh-keygen -y -P PASSPHRASE -f FILE) load it for RSA, ECDSA and ED25519 keys.
      - A file that this passphrase decrypts and that holds the key pair's private key is left alone, without
        downloading the private key (decrypting costs one bcrypt key derivation per file, a fraction of a second of CPU). A file that this
        passphrase does not decrypt, or that holds the key unencrypted, is rewritten; the diff says why in
        its C(encryption) field (V(another passphrase), V(unencrypted), or V(passphrase, but its header does not
        match the key inside) for a file whose unencrypted header names another key than the one it holds, before;
        V(passphrase) after), never showing the passphrase.
      - Needs O(dest) (returned values are never encrypted), O(format=openssh) (the default; encrypted PEM
        is not what C(ssh-keygen) writes and OpenSSH 9.2 cannot load ED25519 keys as PKCS#8), and the Python
        library C(bcrypt) on the host running the module. An empty passphrase, or one with another O(format)
        or without O(dest), fails the task before any API call.
      - Keep it in Ansible Vault or a credential store; the module never shows it.
    type: str
    version_added: 2.2.0
  mode:
    description:
      - The permissions of the private key files, like the O(ansible.builtin.file#module:mode) option of
        M(ansible.builtin.file) (octal or symbolic).
      - When not given, files get mode C(0600), and an existing file with another mode is changed to C(0600).
  owner:
    description:
      - Name (or uid) of the user that owns the private key files.
      - When not given, a new or rewritten file belongs to the user running the module (its effective uid), never
        to whoever owned the file it replaces; a file whose content stays keeps its owner.
    type: str
  group:
    description:
      - Name (or gid) of the group that owns the private key files.
      - When not given, a new or rewritten file gets the group of the user running the module (its effective gid),
        never the group of the file it replaces; a file whose content stays keeps its group.
    type: str
  create_dirs:
    description:
      - Create the directory O(dest) (for O(names)) or the parent directory of O(dest) (for O(name)) when it
        does not exist, with mode C(0700), owned by the user running the module. O(owner) and O(group) apply to
        the files, not to these directories.
      - With V(false), a missing directory fails the task before any export call.
    type: bool
    default: false
  backup:
    description:
      - Keep a copy of a file before replacing it, named C(<file>.<pid>.<timestamp>~), with the same owner and
        permissions as the file.
      - Files that only get new attributes (mode, owner, group) are not backed up.
    type: bool
    default: false
  fail_on_missing:
    description:
      - What to do about key pairs of O(name) or O(names) that do not exist, or for which KPS hosts no private key.
      - V(true) fails the task before any export call, naming every such key pair (also in RV(missing) and
        RV(not_hosted) of the failed result).
      - V(false) exports the other key pairs, warns, and lists the skipped ones in RV(missing) and RV(not_hosted).
        The file of a skipped key pair at O(dest) is left as it is, and without O(dest) its key is not in
        RV(private_keys). Check mode skips them too, as a run would (it does not assume that an earlier task
        creates them).
    type: bool
    default: true
    version_added: 2.2.0
  force:
    description:
      - Export and rewrite the files even when they already hold the right private key.
      - The module then reports a change on every run.
    type: bool
    default: false
notes:
  - The module decides whether a file holds the key pair's private key by deriving the public key from it and
    comparing it with the key pair's public key, so an unchanged run downloads no private key at all. A file
    that cannot be read as an unencrypted private key (for example an encrypted one), or an RSA key whose private
    numbers do not fit together (a damaged file), is replaced. With O(passphrase), see there.
  - The file holds the private key in the encoding O(format) names, followed by a newline; unencrypted unless
    O(passphrase) is given.
  - >-
    How key pairs are read (the same rule for M(huaweicloud.kps.kps_keypair_info) and
    M(huaweicloud.kps.kps_private_key_export)): one name is one show call. Several names are looked up in the
    listing (1000 key pairs a page, or fewer where KPS serves fewer), which stops as soon as every name is
    found or the listing ends; once the pages read are as many as the names still missing, those names are
    shown one call each instead. A project that fits on one page costs one call whatever the number of names.
  - >-
    Run the module on the controller (C(delegate_to: localhost), C(run_once: true)) and copy the keys on with
    C(no_log: true), or use the role P(huaweicloud.kps.kps_key_distribution#role), which does that.
seealso:
  - module: huaweicloud.kps.kps_private_key_import
  - name: Huawei Cloud KPS private key export API
    description: The API call used for a single key pair.
    link: https://support.huaweicloud.com/intl/en-us/api-dew/ExportPrivateKey.html
  - name: Huawei Cloud KPS batch private key export API
    description: The API call used for several key pairs, at most 10 at a time.
    link: https://support.huaweicloud.com/intl/en-us/api-dew/BatchExportPrivateKey.html
"""

EXAMPLES = r"""
- name: Put the private key of key pair "web" into a file on the controller
  huaweicloud.kps.kps_private_key_export:
    name: web
    dest: "{{ playbook_dir }}/keys/web.pem"
    create_dirs: true
    region: cn-north-4
    access_key: "{{ hw_access_key }}"
    secret_key: "{{ hw_secret_key }}"
  delegate_to: localhost
  run_once: true

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
    - name: Export many key pairs into /srv/keys/<name>.pem (batch calls of at most 10 keys)
      huaweicloud.kps.kps_private_key_export:
        names: "{{ query('sequence', 'start=1 end=25 format=node-%02d') }}"
        dest: /srv/keys
        create_dirs: true
        owner: deploy
        group: deploy
        backup: true

    - name: Get the private keys as values, without writing any file (never log them)
      huaweicloud.kps.kps_private_key_export:
        names:
          - web
          - db
      register: exported
      no_log: true

    # kps_private_key_file, not ansible.builtin.copy with content: copy stages the key in a temporary file on
    # the controller first. The role huaweicloud.kps.kps_key_distribution does all of this for many hosts.
    - name: Install the private key of "web" on the web servers
      huaweicloud.kps.kps_private_key_file:
        content: "{{ exported.private_keys['web'] }}"
        path: /home/deploy/.ssh/id_web
        owner: deploy
        mode: "0600"
      delegate_to: "{{ item }}"
      loop: "{{ groups['web'] }}"
      no_log: true

    - name: A PKCS#1 file for an old tool that reads only traditional PEM (RSA and ECDSA keys only)
      huaweicloud.kps.kps_private_key_export:
        name: legacy-rsa
        dest: /srv/keys/legacy-rsa.pem
        format: pem

    - name: Rewrite the file even if it already holds the right key
      huaweicloud.kps.kps_private_key_export:
        name: web
        dest: /srv/keys/web.pem
        force: true

# Ad hoc, with the credentials in HW_REGION_NAME, HW_ACCESS_KEY and HW_SECRET_KEY:
#   ansible localhost -m huaweicloud.kps.kps_private_key_export -a 'name=web dest=/tmp/web.pem'
"""

RETURN = r"""
changed:
  description:
    - Whether any file was (or, in check mode, would be) created, replaced or given new attributes.
    - Always V(false) without O(dest).
  returned: always
  type: bool
  sample: true
msg:
  description: What the module did, or in check mode would do, in words.
  returned: always
  type: str
  sample: Wrote 2 of 3 private key files (1 batch export call); 1 already up to date.
missing:
  description:
    - The key pairs of O(name) or O(names) that do not exist in KPS, in their order.
    - With O(fail_on_missing=false) they were skipped; else the task failed before any export call (in check
      mode it goes on as if an earlier task created them).
  returned: always
  type: list
  elements: str
  sample: [old-web]
  version_added: 2.2.0
not_hosted:
  description:
    - The key pairs of O(name) or O(names) for which KPS hosts no private key, in their order.
    - With O(fail_on_missing=false) they were skipped; else the task failed before any export call (in check
      mode it goes on as if an earlier task imported their keys).
  returned: always
  type: list
  elements: str
  sample: [ci-public-only]
  version_added: 2.2.0
files:
  description:
    - One entry per key pair, in the order of O(name) or O(names); none for the key pairs skipped because of
      O(fail_on_missing=false).
  returned: when O(dest) is given
  type: list
  elements: dict
  contains:
    name:
      description: Name of the key pair.
      returned: always
      type: str
      sample: web
    path:
      description: Path of the file.
      returned: always
      type: str
      sample: /srv/keys/web.pem
    fingerprint:
      description: Fingerprint of the key pair (MD5, lowercase hex, colon separated), which the file holds after the run.
      returned: always
      type: str
      sample: 3f:0a:62:c1:9b:11:8d:4e:27:5c:a0:69:0e:f2:d8:41
    action:
      description:
        - What was (or in check mode would be) done to the file.
        - V(create) writes a missing file, V(replace) rewrites a file that holds another key or none,
          V(reformat) rewrites a file that holds the right key in another encoding than O(format),
          V(rewrite) rewrites a right file because of O(force), V(attributes) only fixes mode, owner or group,
          V(none) leaves the file alone.
      returned: always
      type: str
      choices: [create, replace, reformat, rewrite, attributes, none]
      sample: create
    changed:
      description: Whether the file was (or would be) changed.
      returned: always
      type: bool
      sample: true
    backup_file:
      description: Path of the backup copy made because of O(backup), or V(null).
      returned: always
      type: str
      sample: /srv/keys/web.pem.2842.2025-11-23@12:30:01~
    format:
      description:
        - The encoding of the key in the file after the run (V(openssh), V(pkcs8) or V(pem)).
        - V(null) when the file holds no readable key, or in check mode with O(format=kps) for a file that would
          be written (the encoding is known only after the export).
      returned: always
      type: str
      sample: openssh
      version_added: 2.0.0
changed_files:
  description:
    - The directories created and the files replaced before the task failed, in the order it changed them.
    - Only in a failed result, and only when the run had already changed something.
  returned: when the task fails after it changed a file or created a directory
  type: list
  elements: str
  sample: [/srv/keys, /srv/keys/node-01.pem]
keypairs:
  description: The metadata of the key pairs, in the order of O(name) or O(names). Never holds a private key.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the key pair.
      returned: always
      type: str
      sample: web
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
      description:
        - Whether KPS hosts the private key of the key pair (always V(true) in a successful run that is not in
          check mode).
        - In check mode a key pair that does not exist has V(null) here and in every other field but RV(keypairs[].name).
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
private_key:
  description:
    - "The private key of O(name), unencrypted, in the encoding O(format) names. A secret; set C(no_log: true)
      on the task."
    - V(null) in check mode.
  returned: when O(name) is given without O(dest)
  type: str
  sample: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA...\n-----END OPENSSH PRIVATE KEY-----\n"
private_keys:
  description:
    - >-
      The private keys of O(names) as a dictionary from key pair name to the unencrypted key in the encoding
      O(format) names. Secrets; set C(no_log: true) on the task.
    - The values are V(null) in check mode.
  returned: when O(names) is given without O(dest)
  type: dict
  sample:
    web: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA...\n-----END OPENSSH PRIVATE KEY-----\n"
    db: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA...\n-----END OPENSSH PRIVATE KEY-----\n"
"""

from ansible_collections.huaweicloud.kps.plugins.module_utils._export_runner import (
    DEFAULT_FORMAT,
    FORMATS,
    ExportRunner,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule


def main():
    argument_spec = KpsModule.generate_argspec(
        name=dict(type='str'),
        names=dict(type='list', elements='str'),
        dest=dict(type='path'),
        format=dict(type='str', choices=list(FORMATS), default=DEFAULT_FORMAT),
        create_dirs=dict(type='bool', default=False),
        backup=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
        fail_on_missing=dict(type='bool', default=True),
        passphrase=dict(type='str', no_log=True),
    )
    module = KpsModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('name', 'names')],
        required_one_of=[('name', 'names')],
        supports_check_mode=True,
        add_file_common_args=True,
    )
    ExportRunner(module).execute()


if __name__ == '__main__':
    main()
