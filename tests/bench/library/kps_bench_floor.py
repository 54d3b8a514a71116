# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The floor of the per-task benchmark: the least an unchanged export must do (test only, never shipped).

A minimal module on the collection's stack: it imports requests and cryptography, makes one GET to KPS (the
show call the export makes, with an IAM token as the ``uri`` variant sends it), reads the key file and derives
its public key with cryptography's defaults, checks that it is the key pair's, and exits unchanged.
"""

from __future__ import annotations

import requests
from ansible.module_utils.basic import AnsibleModule
from cryptography.hazmat.primitives import serialization


def main():
    module = AnsibleModule(argument_spec=dict(url=dict(type='str', required=True),
                                              token=dict(type='str', required=True, no_log=True),
                                              path=dict(type='path', required=True)),
                           supports_check_mode=True)
    response = requests.get(module.params['url'], headers={'X-Auth-Token': module.params['token']}, timeout=30)
    if response.status_code != 200:
        module.fail_json(msg='show call failed: HTTP %d' % response.status_code)
    hosted = response.json()['keypair']['public_key'].split()[:2]
    with open(module.params['path'], 'rb') as handle:
        key = serialization.load_ssh_private_key(handle.read(), password=None)
    derived = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    if derived.decode('ascii').split() != hosted:
        module.fail_json(msg='%s does not hold the key of the key pair' % module.params['path'])
    module.exit_json(changed=False)


if __name__ == '__main__':
    main()
