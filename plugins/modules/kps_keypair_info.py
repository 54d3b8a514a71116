#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_keypair_info
short_description: Read the metadata and public keys of Huawei Cloud KPS key pairs
version_added: 1.0.0
description:
  - Returns the metadata of the key pair O(name) or the key pairs O(names), or of every key pair of the project
    when neither is given, from Huawei Cloud KPS (Key Pair Service). For each key pair that is its name, type,
    scope, public key, fingerprint, whether KPS hosts its private key and its freeze state, and its ID, owner,
    description and times when read (see O(details)).
  - O(name_pattern), O(fingerprint), O(is_key_protection) and O(scope) filter the result.
  - Works for every key pair, whether or not KPS hosts its private key. Use it to authorize a key pair's public
    key on hosts (C(authorized_keys)) without the private key going anywhere.
  - Never exports or returns a private key, and changes nothing.
  - Key pairs of O(names) that do not exist are listed in RV(missing); with O(fail_on_missing=true) the task
    fails and names all of them at once.
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
      - The module only reads, so check mode makes the same call and returns the same result.
  diff_mode:
    support: none
  idempotent:
    description: Running the task again with the same options changes nothing and reports no change.
    support: full
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the one key pair to read; the same as O(names) with one name.
      - Mutually exclusive with O(names).
    type: str
    version_added: 2.0.0
  names:
    description:
      - Names of the key pairs to read. A name given more than once is reported once.
      - Letters, digits, V(_) and V(-), at most 255 characters each. They are checked before any API call.
      - When not given, the module returns every key pair of the project.
      - An empty list returns no key pairs and makes no API call.
    type: list
    elements: str
  name_pattern:
    description:
      - Only return key pairs whose name matches this shell-style pattern (C(*), C(?), C([...])), case-sensitive,
        for example V(deploy-*).
      - Like the other filters it is applied to what KPS returned, since the KPS API has no filters; it does not
        change the calls made.
    type: str
    version_added: 2.0.0
  fingerprint:
    description:
      - Only return the key pairs with this fingerprint, in any of the forms KPS and C(ssh-keygen) print.
      - The MD5 form KPS reports (RV(keypairs[].fingerprint), 16 colon-separated hex pairs), also with the
        C(MD5:) prefix that C(ssh-keygen -E md5 -l) prints; case does not matter.
      - The SHA256 form C(ssh-keygen -l) prints by default (C(SHA256:) and 43 base64 characters, case
        sensitive). KPS does not report it; the module computes it from each key pair's public key.
      - Anything else fails the task before any call, naming the forms it takes.
    type: str
    version_added: 2.0.0
  is_key_protection:
    description:
      - Only return key pairs whose private key KPS hosts (V(true)) or does not host (V(false)).
    type: bool
    version_added: 2.0.0
  scope:
    description:
      - Only return key pairs of this scope.
      - V(account) is Terraform's name for V(domain) and matches the key pairs of scope V(domain).
    type: str
    choices: [user, domain, account]
    version_added: 2.0.0
  details:
    description:
      - Read the fields that only the read of a single key pair reports (RV(keypairs[].id),
        RV(keypairs[].user_id), RV(keypairs[].description), the times) for key pairs that a listing found, with
        one more call per key pair that passes the filters.
      - Without it those fields are V(null) unless the module read a single key pair (O(name), or O(names) with
        one name), which reports them at no extra cost.
    type: bool
    default: false
    version_added: 2.0.0
  fail_on_missing:
    description:
      - Fail when the key pair O(name), or a key pair of O(names), does not exist in KPS. The message names every missing key pair.
      - With V(false), missing key pairs are only listed in RV(missing).
    type: bool
    default: false
notes:
  - >-
    How key pairs are read (the same rule for M(huaweicloud.kps.kps_keypair_info) and
    M(huaweicloud.kps.kps_private_key_export)): one name is one show call. Several names are looked up in the
    listing (1000 key pairs a page, or fewer where KPS serves fewer), which stops as soon as every name is
    found or the listing ends; once the pages read are as many as the names still missing, those names are
    shown one call each instead. A project that fits on one page costs one call whatever the number of names.
  - Without O(names), every page of the listing is read (one call per 1000 key pairs, or per page KPS serves).
  - The KPS listing does not report the ID, owner (C(user_id)), description or times of a key pair. They are
    returned for key pairs read with a show call (one name, or names looked up one call each), or with
    O(details=true).
  - >-
    Run the module on the controller (C(delegate_to: localhost), C(run_once: true)); it needs C(requests) and
    C(cryptography) on the host that runs it.
seealso:
  - module: huaweicloud.kps.kps_private_key_export
  - module: huaweicloud.kps.kps_private_key_import
  - name: Huawei Cloud KPS key pair list API
    description: The API call used for several names or for all key pairs.
    link: https://support.huaweicloud.com/intl/en-us/api-dew/ListKeypairs.html
  - name: Huawei Cloud KPS key pair details API
    description: The API call used for a single name.
    link: https://support.huaweicloud.com/intl/en-us/api-dew/ListKeypairDetail.html
"""

EXAMPLES = r"""
- name: Read the public key of key pair "ci-deploy"
  huaweicloud.kps.kps_keypair_info:
    names:
      - ci-deploy
    fail_on_missing: true
    region: cn-north-4
    access_key: "{{ hw_access_key }}"
    secret_key: "{{ hw_secret_key }}"
  delegate_to: localhost
  run_once: true
  register: ci_deploy

- name: Let the CI system in as git, without its private key going anywhere
  ansible.builtin.lineinfile:
    path: /home/git/.ssh/authorized_keys
    line: "restrict {{ ci_deploy.keypairs[0].public_key }} ci-deploy"
    create: true
    owner: git
    mode: "0600"

- name: List every key pair of the project (credentials from module_defaults or HW_* variables)
  huaweicloud.kps.kps_keypair_info:
  delegate_to: localhost
  run_once: true
  register: all_keypairs

- name: Every deploy key pair of the account scope whose private key KPS hosts, with its creation time
  huaweicloud.kps.kps_keypair_info:
    name_pattern: deploy-*
    scope: domain
    is_key_protection: true
    details: true
  delegate_to: localhost
  run_once: true
  register: deploy_keys

- name: Show the key pairs whose private keys KPS does not host
  ansible.builtin.debug:
    msg: "{{ all_keypairs.keypairs | rejectattr('is_key_protection') | map(attribute='name') | list }}"
"""

RETURN = r"""
keypairs:
  description:
    - The metadata of the key pairs that exist, in the order of O(names), or sorted by name when O(names) is
      not given. Never holds a private key.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the key pair.
      returned: always
      type: str
      sample: ci-deploy
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
      description: The public key as C(<type> <base64>), without a comment, ready for C(authorized_keys).
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
      sample: false
    frozen_state:
      description:
        - Freeze state of the key pair (V(0) means not frozen).
        - Always an integer, V(null) if KPS gave none. KPS lists report it as a string and show reports an
          integer; the modules convert, so C(frozen_state == 0) works whatever call read the key pair.
      returned: always
      type: int
      sample: 0
    id:
      description: ID KPS assigned to the key pair; V(null) unless read (see O(details)).
      returned: always
      type: raw
      sample: 1234
      version_added: 2.0.0
    user_id:
      description: ID of the user the key pair belongs to; V(null) unless read (see O(details)).
      returned: always
      type: str
      sample: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
      version_added: 2.0.0
    description:
      description: Description of the key pair; V(null) unless read (see O(details)).
      returned: always
      type: str
      sample: CI deploy key
      version_added: 2.0.0
    create_time:
      description:
        - When the key pair was created, since the epoch, as KPS reports it; V(null) unless read (see O(details)).
        - The unit is not settled. The KPS API page and the SDK model (C(keypair_detail.py)) say seconds;
          Terraform's provider reads milliseconds (its C(created_at)), and the emulator of this collection sends
          milliseconds. Use RV(keypairs[].create_time_iso), which reads either unit.
      returned: always
      type: int
      sample: 1763891234000
      version_added: 2.0.0
    create_time_iso:
      description:
        - RV(keypairs[].create_time) in ISO 8601, UTC, to the second. A value below 10^11 is taken as seconds
          (10^11 seconds after the epoch is in the year 5138, 10^11 milliseconds in 1973), any other as
          milliseconds, so either unit gives the right time.
      returned: always
      type: str
      sample: '2025-11-23T09:47:14Z'
      version_added: 2.0.0
    update_time:
      description: When the key pair was last changed, in the unit of RV(keypairs[].create_time); V(null) unless read.
      returned: always
      type: int
      sample: 1763891234000
      version_added: 2.0.0
    key_id:
      description: ID of the key KPS reports for the key pair.
      returned: when KPS reports it
      type: str
      version_added: 2.0.0
    algorithm:
      description: Algorithm KPS reports for the key pair.
      returned: when KPS reports it
      type: str
      version_added: 2.0.0
missing:
  description: The names of O(names) that KPS has no key pair for, in the order of O(names).
  returned: always
  type: list
  elements: str
  sample: [old-deploy-key]
"""

from ansible_collections.huaweicloud.kps.plugins.module_utils._info_runner import InfoRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import SCOPE_CHOICES
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule


def main():
    argument_spec = KpsModule.generate_argspec(
        name=dict(type='str'),
        names=dict(type='list', elements='str'),
        name_pattern=dict(type='str'),
        fingerprint=dict(type='str'),
        is_key_protection=dict(type='bool', no_log=False),
        scope=dict(type='str', choices=SCOPE_CHOICES),
        details=dict(type='bool', default=False),
        fail_on_missing=dict(type='bool', default=False),
    )
    module = KpsModule(argument_spec=argument_spec, mutually_exclusive=[('name', 'names')], supports_check_mode=True)
    InfoRunner(module).execute()


if __name__ == '__main__':
    main()
