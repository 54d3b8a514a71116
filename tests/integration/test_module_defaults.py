# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/authentication.md, "Set it once: module_defaults": the group needs its full name.

What the page says a short ``group/kps`` does (with the collection under ``collections:``), ansible-core does:
the play stops with the error the page quotes. The full name works: every integration target uses it.
"""
from __future__ import annotations

import os
import re

from integration.harness import CONNECTION, TESTS_DIR

PAGE = os.path.join(os.path.dirname(TESTS_DIR), 'docs', 'authentication.md')


def test_a_short_group_name_fails_as_the_page_says(ansible):
    with open(PAGE, encoding='utf-8') as handle:
        text = ' '.join(handle.read().split())
    quoted = re.search(r'a short `group/kps` as `ansible\.builtin\.kps`, also when the play lists `huaweicloud\.kps` '
                       r'under `collections:`, and stops before the play with `([^`]+)`', text).group(1)
    play = {'name': 'short group name', 'hosts': 'localhost', 'gather_facts': False,
            'collections': ['huaweicloud.kps'], 'module_defaults': {'group/kps': dict(CONNECTION)},
            'tasks': [{'name': 'list', 'huaweicloud.kps.kps_keypair_info': {}}]}
    proc = ansible.playbook([play], check=False)
    assert proc.returncode != 0 and quoted in proc.stdout + proc.stderr, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert ansible.emulator.requests() == []
