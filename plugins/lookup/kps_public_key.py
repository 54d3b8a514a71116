# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: kps_public_key
short_description: The public keys of Huawei Cloud KPS key pairs
version_added: 2.2.0
description:
  - Returns the public key of each key pair named in the terms, as KPS reports it (C(<type> <base64>), without
    a comment), in the order of the terms.
  - Works for every key pair, also those whose private key KPS does not host.
  - One read for any number of names (a listing of the key pairs; one show call for a single name), from the
    controller.
  - A key pair that does not exist fails the lookup, naming every missing key pair at once. Add C(errors='warn')
    or C(errors='ignore') to the C(lookup()) call to get a warning or nothing instead; the lookup then returns
    no key at all (C(None), or C([]) with C(wantlist=true)).
author:
  - huaweicloud.kps contributors (@huaweicloud)
options:
  _terms:
    description:
      - Names of key pairs. Each term is a name or a list of names.
      - Letters, digits, V(_) and V(-), at most 255 characters; checked before any API call.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - huaweicloud.kps.auth
  - huaweicloud.kps.auth.lookup
notes:
  - A lookup runs on the controller, each time its value is used (a variable holding a C(lookup()) is evaluated
    on every reference). To read once, store the value with M(ansible.builtin.set_fact).
  - A lookup runs in check mode too; it only reads.
seealso:
  - module: huaweicloud.kps.kps_keypair_info
    description: The key pairs' metadata and public keys as a task result.
  - plugin: huaweicloud.kps.kps_private_key
    plugin_type: lookup
    description: The hosted private keys.
"""

EXAMPLES = r"""
- name: Authorize the key pair web-deploy for the user deploy
  ansible.posix.authorized_key:
    user: deploy
    # The connection options come from the HW_* environment variables of the controller.
    key: "{{ lookup('huaweicloud.kps.kps_public_key', 'web-deploy') }}"

- name: Authorize several key pairs, with one read (the options as a dictionary)
  ansible.posix.authorized_key:
    user: deploy
    key: "{{ query('huaweicloud.kps.kps_public_key', 'web-deploy', 'ops-alice', **kps_auth) | join('\n') }}"
    exclusive: true
  vars:
    kps_auth:
      region: cn-north-4
      access_key: "{{ vault_hw_access_key }}"
      secret_key: "{{ vault_hw_secret_key }}"

- name: Warn instead of failing when a key pair does not exist
  ansible.builtin.debug:
    msg: "{{ lookup('huaweicloud.kps.kps_public_key', 'maybe-gone', errors='warn') | default('no such key pair', true) }}"
"""

RETURN = r"""
_raw:
  description:
    - The public key of each key pair of the terms, in their order, as C(<type> <base64>).
    - With C(lookup()) one key is a string and several are joined with commas; use C(query()) (or
      C(wantlist=true)) for a list.
  type: list
  elements: str
  sample:
    - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqJ1S0x1ZrPNq3KlQd7mZ1z6J8m5xXnNbt2y3CzF0bA
"""

from typing import Any

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    KpsClient,
    keypair_summary,
    unavailable,
    unavailable_problems,
)
from ansible_collections.huaweicloud.kps.plugins.plugin_utils._lookup import KpsLookup


class LookupModule(KpsLookup):

    lookup_name = 'huaweicloud.kps.kps_public_key'

    def values(self, kps: KpsClient, unique: list[str], found: dict[str, dict[str, Any]]) -> dict[str, Any]:
        missing, _not_hosted = unavailable(unique, found)
        if missing:
            problem = unavailable_problems(missing)[0]
            raise KpsError('%s%s.' % (problem[:1].upper(), problem[1:]))
        keys = dict((name, keypair_summary(found[name], ('public_key',))['public_key']) for name in unique)
        without = [name for name in unique if not keys[name]]
        if without:
            raise KpsError('KPS reports no public key for %s.' % ', '.join(without))
        return keys
