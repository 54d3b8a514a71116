# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create key pairs in the KPS emulator through the signed KPS API (test helper of this target).

Prints {"public_keys": {name: key}, "fingerprints": {name: fingerprint}} as JSON; the private keys stay in
the emulator and are never printed.
Usage: python seed_keypairs.py TESTS_DIR URL AK SK PROJECT_ID PREFIX COUNT [--not-hosted]
"""
from __future__ import annotations

import json
import sys


def main(argv):
    tests_dir, url, access_key, secret_key, project_id, prefix, count = argv[:7]
    sys.path.insert(0, tests_dir)
    from kps_emulator import keys  # pylint: disable=import-outside-toplevel
    from kps_emulator.testing import Client, seed_keypairs  # pylint: disable=import-outside-toplevel

    client = Client(url, access_key=access_key, secret_key=secret_key, project_id=project_id)
    hosted = '--not-hosted' not in argv
    # RSA: the keys KPS itself generates, and the kind ssh-keygen on the test host can read back.
    created = seed_keypairs(client, int(count), prefix=prefix, hosted=hosted, kind='rsa')
    public_keys = dict((name, keys.public_key_of(private)) for name, private in created.items())
    print(json.dumps({'public_keys': public_keys,
                      'fingerprints': dict((name, keys.fingerprint(key)) for name, key in public_keys.items())}))


if __name__ == '__main__':
    main(sys.argv[1:])
