# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_keypair_info: one read of the key pairs' metadata, never a private key.

The names are checked locally, then ``KpsClient.find_keypairs`` (the same lookup kps_private_key_export
uses) reads them: a show for a single name; for several names a listing, or show calls when those are fewer
(the rule is in find_keypairs); the whole listing for all key pairs.
Nothing is written, so check mode runs exactly the same.
"""

from __future__ import annotations

from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import invalid_names, keypair_summary, name_rule
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsRunner, TaskError


class InfoError(TaskError):
    """A problem the user must fix; ``details`` go into the failed result."""


def wanted_names(names):
    """The names to look up, checked locally and without repeats (first occurrence kept); None means all."""
    if names is None:
        return None
    invalid = invalid_names(names)
    if invalid:
        raise InfoError(
            'Invalid key pair name%s: %s. %s'
            % ('s' if len(invalid) > 1 else '', ', '.join(repr(str(item)[:80]) for item in invalid), name_rule()))
    unique = []
    for item in names:
        if item not in unique:
            unique.append(item)
    return unique


class InfoRunner(KpsRunner):
    """Runs kps_keypair_info for one ``KpsModule``."""

    def _execute(self):
        names = wanted_names(self.params['names'])
        if names == []:
            return dict(changed=False, keypairs=[], missing=[])
        found = self.module.kps.find_keypairs(names)
        if names is None:
            keypairs = [keypair_summary(found[name]) for name in sorted(found)]
            missing = []
        else:
            keypairs = [keypair_summary(found[name]) for name in names if name in found]
            missing = [name for name in names if name not in found]
        if missing and self.params['fail_on_missing']:
            raise InfoError('Key pair%s %s %s not exist in KPS.' % (
                's' if len(missing) > 1 else '', ', '.join(missing), 'do' if len(missing) > 1 else 'does'),
                keypairs=keypairs, missing=missing)
        return dict(changed=False, keypairs=keypairs, missing=missing)
