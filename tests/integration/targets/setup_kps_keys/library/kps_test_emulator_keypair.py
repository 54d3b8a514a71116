#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_test_emulator_keypair
short_description: Test helper, check what the KPS emulator holds for a key pair
description:
  - Reads the KPS emulator's record of a key pair through its control API, derives the public key of the hosted
    private key with C(cryptography), and fails when the record differs from what the options expect.
  - Returns public facts only, never the hosted private key.
  - Only for the integration tests of huaweicloud.kps; deliberately independent of the collection's own code.
author:
  - huaweicloud.kps contributors
options:
  url:
    description: Base URL of the emulator's control API (C(.../_emulator)).
    type: str
    required: true
  name:
    description: Key pair name.
    type: str
    required: true
  exists:
    description: Whether the key pair must exist.
    type: bool
    default: true
  hosted:
    description: Whether the emulator must host a private key for the key pair (not checked when omitted).
    type: bool
  public_key:
    description: The C(<type> <base64>) the key pair and its hosted private key must have (not checked when omitted).
    type: str
  fingerprint:
    description: The fingerprint the key pair must have (not checked when omitted).
    type: str
  encryption_type:
    description: How the hosted key must be encrypted, C(default) or C(kms) (not checked when omitted).
    type: str
"""

EXAMPLES = r"""
- name: The emulator hosts the key of "web"
  kps_test_emulator_keypair:
    url: "{{ kps_emulator_url }}/_emulator"
    name: web
    hosted: true
    public_key: "{{ web_public_key }}"
"""

RETURN = r"""
keypair:
  description: The record without the private key, plus C(hosted_public_key) and C(hosted_pem_header).
  returned: success
  type: dict
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible.module_utils.urls import open_url
from cryptography.hazmat.primitives import serialization


def hosted_public_key(pem):
    data = to_bytes(pem).strip() + b'\n'
    key = serialization.load_pem_private_key(data, password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode('ascii')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', required=True),
            name=dict(type='str', required=True),
            exists=dict(type='bool', default=True),
            hosted=dict(type='bool'),
            public_key=dict(type='str', no_log=False),
            fingerprint=dict(type='str'),
            encryption_type=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        record = json.loads(open_url('%s/keypairs/%s' % (params['url'], quote(params['name'], safe=''))).read())
    except HTTPError as exc:
        if exc.code != 404:
            module.fail_json(msg='control API answered HTTP %s' % exc.code)
        record = None
    if record is None:
        if params['exists']:
            module.fail_json(msg='the emulator has no key pair %s' % params['name'])
        module.exit_json(changed=False, keypair=None)
    if not params['exists']:
        module.fail_json(msg='the emulator has a key pair %s' % params['name'])

    private_key = record.pop('private_key', None)
    record['hosted_public_key'] = hosted_public_key(private_key) if private_key else None
    record['hosted_pem_header'] = private_key.splitlines()[0] if private_key else None
    private_key = None

    problems = []
    if params['hosted'] is not None and record.get('is_key_protection') is not params['hosted']:
        problems.append('is_key_protection is %s' % record.get('is_key_protection'))
    if params['hosted'] and record['hosted_pem_header'] not in (
            '-----BEGIN RSA PRIVATE KEY-----', '-----BEGIN EC PRIVATE KEY-----', '-----BEGIN PRIVATE KEY-----'):
        problems.append('the hosted key is not unencrypted PEM (%s)' % record['hosted_pem_header'])
    if params['public_key'] is not None:
        if ' '.join(record.get('public_key', '').split()[:2]) != params['public_key']:
            problems.append('the key pair has another public key')
        if record['hosted_public_key'] is not None and record['hosted_public_key'] != params['public_key']:
            problems.append('the hosted private key belongs to another public key')
    if params['fingerprint'] is not None and record.get('fingerprint') != params['fingerprint']:
        problems.append('the fingerprint is %s' % record.get('fingerprint'))
    if params['encryption_type'] is not None and (record.get('encryption') or {}).get('type') != params['encryption_type']:
        problems.append('the encryption is %s' % record.get('encryption'))
    if problems:
        module.fail_json(msg='key pair %s: %s' % (params['name'], '; '.join(problems)), keypair=record)
    module.exit_json(changed=False, keypair=record)


if __name__ == '__main__':
    main()
