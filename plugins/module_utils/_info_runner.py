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
Nothing is written, so check mode runs exactly the same. The filters are applied to what was read (the API
has none); ``details`` adds one show per key pair that a listing found, for the fields a listing lacks.
"""

from __future__ import annotations

import datetime
import fnmatch
from typing import Any, Iterable, Mapping

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    KEYPAIR_DETAIL_FIELDS,
    api_scope,
    keypair_summary,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import check_names
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan


class InfoError(KpsError):
    """A problem the user must fix; ``details`` go into the failed result."""


def wanted_names(names: Iterable[str] | None) -> list[str] | None:
    """The names to look up, checked locally and without repeats (first occurrence kept); None means all."""
    if names is None:
        return None
    check_names(names)
    unique = []
    for item in names:
        if item not in unique:
            unique.append(item)
    return unique


# Reported by show only in some regions and API versions: returned when KPS sends them.
OPTIONAL_FIELDS = ('key_id', 'algorithm')
# create_time below this is in seconds, not milliseconds (the API page says seconds, its example and Terraform ms).
_MS_THRESHOLD = 10 ** 11


def iso_time(value: object) -> str | None:
    """An epoch time from KPS (milliseconds, or seconds) as ISO 8601 UTC, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = value / 1000.0 if value >= _MS_THRESHOLD else float(value)
    try:
        moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def info_summary(keypair: Mapping[str, Any]) -> dict[str, Any]:
    """Every field KPS reported for a key pair: the documented ones (None when not read), the optional ones when
    present, and create_time in ISO 8601."""
    summary = keypair_summary(keypair, KEYPAIR_DETAIL_FIELDS)
    summary['create_time_iso'] = iso_time(summary['create_time'])
    for field in OPTIONAL_FIELDS:
        if keypair.get(field) is not None:
            summary[field] = keypair[field]
    return summary


def matches(summary: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether a key pair passes the client-side filters of the task."""
    pattern = params.get('name_pattern')
    if pattern is not None and not fnmatch.fnmatchcase(summary['name'] or '', pattern):
        return False
    wanted_fingerprint = params.get('fingerprint')
    if wanted_fingerprint is not None and (summary['fingerprint'] or '').lower() != wanted_fingerprint.strip().lower():
        return False
    hosted = params.get('is_key_protection')
    if hosted is not None and bool(summary['is_key_protection']) is not hosted:
        return False
    return params.get('scope') is None or summary['scope'] == api_scope(params['scope'])


class InfoRunner(KpsRunner):
    """Runs kps_keypair_info for one ``KpsModule``."""

    def plan(self) -> Plan:
        """Reads only: this module never changes anything."""
        names = self.params['names'] if self.params.get('name') is None else [self.params['name']]
        names = wanted_names(names)
        if names == []:
            return Plan(keypairs=[], missing=[])
        found = self.module.kps.find_keypairs(names)
        ordered = sorted(found) if names is None else [name for name in names if name in found]
        missing = [] if names is None else [name for name in names if name not in found]
        keypairs = [kp for kp in (info_summary(found[name]) for name in ordered) if matches(kp, self.params)]
        if self.params.get('details'):
            keypairs = [self._with_details(kp) for kp in keypairs]
        if missing and self.params['fail_on_missing']:
            raise InfoError('%s %s %s not exist in KPS.' % (
                plural(len(missing), 'Key pair'), ', '.join(missing), plural(len(missing), 'does', 'do')),
                keypairs=keypairs, missing=missing)
        return Plan(keypairs=keypairs, missing=missing)

    def result(self, plan: Plan) -> dict[str, Any]:
        return dict(keypairs=plan.keypairs, missing=plan.missing)

    def _with_details(self, summary: dict[str, Any]) -> dict[str, Any]:
        """``summary`` with the fields only show reports; one show when a listing found it."""
        if summary['create_time'] is not None:
            return summary
        detail = self.module.kps.show_keypair(summary['name'])
        return info_summary(detail) if detail else summary
