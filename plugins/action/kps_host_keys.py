# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller side of kps_host_keys: runs the module on the host like any module, then cuts the host's
report down to what the task itself allows, so that no host decides which private keys it is sent.

``needs_private_keys`` comes from the host: a compromised host (or a replaced interpreter) can name any key pair.
Here, on the controller, it keeps only the key pairs of the task's own ``keys`` entries that install their
private key (``state: present``, ``private_key.install: true``), as templated for this host. A playbook that
exports and installs what the reports name (the role kps_key_distribution, the module's example) therefore never
exports a key pair for a host that has no entry installing it, nor sends it one. Doing it in the task that
produces the report costs no extra task per host.
"""
from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


def installed_names(keys):
    """The names of the entries of ``keys`` that install their private key (the module's defaults applied)."""
    names = set()
    for entry in keys if isinstance(keys, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get('name'), str):
            continue
        private_key = entry.get('private_key') or {}
        install = private_key.get('install') if isinstance(private_key, dict) else None
        installs = boolean(True if install is None else install, strict=False)
        if installs and (entry.get('state') or 'present') == 'present':
            names.add(entry['name'])
    return names


def granted(needs, names):
    """``needs`` (format -> key pair names, as the host reported) restricted to ``names``."""
    if not isinstance(needs, dict):
        return {}
    return dict((fmt, sorted(set(name for name in wanted if isinstance(name, str) and name in names)))
                for fmt, wanted in needs.items() if isinstance(fmt, str) and isinstance(wanted, list))


class ActionModule(ActionBase):
    """What the action plugin ``normal`` does, plus the cut of ``needs_private_keys``."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if 'needs_private_keys' in result:
            result['needs_private_keys'] = granted(result['needs_private_keys'],
                                                   installed_names(self._task.args.get('keys')))
        return result
