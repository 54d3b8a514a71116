# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: kps_private_key
short_description: The private keys that Huawei Cloud KPS hosts
version_added: 2.2.0
description:
  - Returns the private key that KPS hosts for each key pair named in the terms, unencrypted, in the encoding
    O(format) names, in the order of the terms.
  - Reads the key pairs' metadata once (a listing; one show call for a single name), then exports the keys with
    one export call for a single key pair, else batch export calls of at most 10 key pairs each, from the
    controller. Every key is checked against its key pair's public key before it is returned.
  - A key pair that does not exist, or whose private key KPS does not host, fails the lookup before any export
    call, naming every such key pair at once. Add C(errors='warn') or C(errors='ignore') to the C(lookup()) call
    to get a warning or nothing instead; the lookup then returns no key at all (C(None), or C([]) with
    C(wantlist=true)).
  - The value is a secret. Ansible cannot mark a lookup's value as such, so keep it out of the output and logs
    yourself; see the notes.
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
  format:
    description:
      - The encoding of the private keys, as the O(huaweicloud.kps.kps_private_key_export#module:format) option
        of M(huaweicloud.kps.kps_private_key_export).
      - V(openssh) is the OpenSSH private key format, which every OpenSSH since 6.5 loads for every key type.
      - V(pkcs8) is PKCS#8 PEM (C(BEGIN PRIVATE KEY)); OpenSSH does not load it for ED25519 keys.
      - V(pem) is traditional PEM (PKCS#1 for RSA, SEC1 for ECDSA). ED25519 keys have none; asking it for an
        ED25519 key pair fails the lookup before any export call.
      - V(kps) keeps the encoding KPS returned the key in.
    type: str
    choices: [openssh, pkcs8, pem, kps]
    default: openssh
extends_documentation_fragment:
  - huaweicloud.kps.auth
  - huaweicloud.kps.auth.lookup
notes:
  - >-
    Keep the key out of the output and logs. Set C(no_log: true) on every task whose arguments or result hold it
    (a C(set_fact) storing it, a C(copy) whose C(content) it is, which shows it in its diff with C(--diff)). Never
    print it with M(ansible.builtin.debug), and never put it in a task's name or in C(environment).
  - >-
    A lookup runs on the controller each time its value is used, in check mode too: a variable holding a
    C(lookup()) exports the key again on every reference. To export once, store the key with
    M(ansible.builtin.set_fact) (with C(no_log: true)) and use that fact.
  - M(ansible.builtin.copy) first writes C(content) to a temporary file on the controller. To write a key on a
    managed host without that, pass it to M(huaweicloud.kps.kps_private_key_file), or export straight into files
    with M(huaweicloud.kps.kps_private_key_export).
seealso:
  - module: huaweicloud.kps.kps_private_key_export
    description: Exports hosted private keys into files, idempotently, without downloading the keys of files that are right.
  - module: huaweicloud.kps.kps_private_key_file
    description: Writes a private key given as a value into a file on a managed host.
  - plugin: huaweicloud.kps.kps_public_key
    plugin_type: lookup
    description: The public keys of key pairs.
"""

EXAMPLES = r"""
- name: Export the key of the key pair deploy once (the connection options come from HW_* variables)
  ansible.builtin.set_fact:
    deploy_key: "{{ lookup('huaweicloud.kps.kps_private_key', 'deploy') }}"
  no_log: true

- name: Install it for the user deploy
  ansible.builtin.copy:
    content: "{{ deploy_key }}"
    dest: /home/deploy/.ssh/id_deploy
    owner: deploy
    mode: "0600"
  no_log: true

- name: Several keys in PKCS#8 PEM, with one batch export call, as a dictionary name -> key
  ansible.builtin.set_fact:
    tls_keys: "{{ dict(names | zip(query('huaweicloud.kps.kps_private_key', names, format='pkcs8', **kps_auth))) }}"
  vars:
    names: [api-1, api-2]
    kps_auth:
      region: cn-north-4
      access_key: "{{ vault_hw_access_key }}"
      secret_key: "{{ vault_hw_secret_key }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - The unencrypted private key of each key pair of the terms, in their order, in the encoding O(format)
      names, each ending in a newline.
    - With C(lookup()) one key is a string and several are joined with commas; use C(query()) (or
      C(wantlist=true)) for a list.
  type: list
  elements: str
  sample:
    - "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA...\n-----END OPENSSH PRIVATE KEY-----\n"
"""

from typing import Any

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import load_private_key, traditional_pem_error
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    KpsClient,
    keypairs_without_format,
    unavailable,
    unavailable_problems,
)
from ansible_collections.huaweicloud.kps.plugins.plugin_utils._lookup import KpsLookup


class LookupModule(KpsLookup):

    lookup_name = 'huaweicloud.kps.kps_private_key'

    def values(self, kps: KpsClient, unique: list[str], found: dict[str, dict[str, Any]]) -> dict[str, Any]:
        fmt = self.get_option('format')
        unformattable = keypairs_without_format([found[name] for name in unique if found.get(name)], fmt)
        if unformattable:
            raise KpsError(traditional_pem_error(unformattable))
        problems = unavailable_problems(*unavailable(unique, found))
        if problems:
            raise KpsError('Cannot export: %s.' % '; '.join(problems))
        pems, warnings = kps.export_private_keys([found[name] for name in unique])
        for text in warnings:
            self.warn('%s: %s' % (self.lookup_name, text))
        return dict((name, load_private_key(pem).private_text(fmt)) for name, pem in pems.items())
