# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``ansible-test integration`` in a copy of the collection, each target against a fresh KPS emulator.

Usage: VENV/bin/python hack/ansible_test_integration.py TREE [ansible-test integration arguments]
TREE is a copy of the collection under .../ansible_collections/huaweicloud/kps (ansible-test writes into it).
Targets seed the emulator with fixed names, so each one gets an emulator of its own (as in the pytest
harness). It listens on a free port, so that several versions can run at once, and
TREE/tests/integration/integration_config.yml is pointed at it. ansible-test comes from this Python's venv.
"""
from __future__ import annotations

import os
import subprocess
import sys

import yaml


def main(argv):
    tree = os.path.abspath(argv[0])
    sys.path.insert(0, os.path.join(tree, 'tests'))
    from kps_emulator.testing import EmulatorProcess  # pylint: disable=import-outside-toplevel

    config_path = os.path.join(tree, 'tests', 'integration', 'integration_config.yml')
    with open(config_path, encoding='utf-8') as handle:
        config = yaml.safe_load(handle)
    output_dir = os.path.join(tree, 'tests', 'output')
    os.makedirs(output_dir, exist_ok=True)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-test'), 'integration']
    listing = subprocess.run(command + ['--list-targets'] + argv[1:], cwd=tree, stdout=subprocess.PIPE, text=True,
                             check=True)
    targets = listing.stdout.split()
    options = [arg for arg in argv[1:] if arg not in targets]
    for target in targets:
        state_file = os.path.join(output_dir, 'kps-emulator-%s.json' % target)
        if os.path.exists(state_file):
            os.unlink(state_file)
        emulator = EmulatorProcess(state_file=state_file, access_key=config['kps_access_key'],
                                   secret_key=config['kps_secret_key'], project_id=config['kps_project_id'],
                                   region=config['kps_region'])
        with emulator:
            config['kps_emulator_url'] = emulator.url
            with open(config_path, 'w', encoding='utf-8') as handle:
                yaml.safe_dump(config, handle, default_flow_style=False)
            rc = subprocess.call(command + options + [target], cwd=tree)
        if rc:
            print('ansible-test integration: target %s failed (rc=%d)' % (target, rc), file=sys.stderr)
            return rc
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
