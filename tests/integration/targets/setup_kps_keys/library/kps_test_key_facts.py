#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kps_test_key_facts
short_description: Test helper, public facts of a private key
description:
  - Reads a private key (PEM or OpenSSH format, unencrypted) with C(cryptography) and returns its OpenSSH
    public key and MD5 fingerprint, never the private key.
  - Only for the integration tests of huaweicloud.kps; deliberately independent of the collection's own code.
author:
  - huaweicloud.kps contributors
options:
  content:
    description: The private key as text.
    type: str
  path:
    description: A file holding the private key.
    type: path
"""

EXAMPLES = r"""
- name: Public key of the key KPS holds
  kps_test_key_facts:
    content: "{{ stored.json.private_key }}"
"""

RETURN = r"""
public_key:
  description: C(<type> <base64>).
  returned: success
  type: str
fingerprint:
  description: MD5 of the public key blob, colon separated.
  returned: success
  type: str
pem_header:
  description: The first line of the key, which names its format.
  returned: success
  type: str
"""

import base64
import hashlib

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from cryptography.hazmat.primitives import serialization


def main():
    module = AnsibleModule(
        argument_spec=dict(content=dict(type='str', no_log=True), path=dict(type='path')),
        required_one_of=[('content', 'path')],
        mutually_exclusive=[('content', 'path')],
    )
    if module.params['path']:
        with open(module.params['path'], 'rb') as handle:
            data = handle.read()
    else:
        data = to_bytes(module.params['content'])
    data = data.strip() + b'\n'
    if b'OPENSSH PRIVATE KEY' in data:
        key = serialization.load_ssh_private_key(data, password=None)
    else:
        key = serialization.load_pem_private_key(data, password=None)
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    digest = hashlib.md5(base64.b64decode(line.split()[1])).hexdigest()
    module.exit_json(changed=False, public_key=line.decode('ascii'),
                     fingerprint=':'.join(digest[i:i + 2] for i in range(0, 32, 2)),
                     pem_header=data.splitlines()[0].decode('ascii', 'replace'))


if __name__ == '__main__':
    main()
