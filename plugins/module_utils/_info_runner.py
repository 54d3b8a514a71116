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
import re
from typing import Any, Iterable, Mapping

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import KeyMaterialError, sha256_fingerprint
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
# create_time below this is in seconds, not milliseconds (the API page and the SDK say seconds, Terraform's provider
# reads milliseconds, the unit is unsettled; 10**11 s is the year 5138, 10**11 ms 1973).
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


# The fingerprint forms the filter takes: KPS's (MD5, bare), ssh-keygen -E md5 -l's (MD5:...) and ssh-keygen -l's
# (SHA256: and the unpadded base64 of 32 bytes).
_MD5_RE = re.compile(r'^(?:MD5:)?([0-9a-f]{2}(?::[0-9a-f]{2}){15})\Z', re.IGNORECASE)
_SHA256_RE = re.compile(r'^SHA256:[A-Za-z0-9+/]{43}\Z')
MD5 = 'md5'
SHA256 = 'sha256'


def fingerprint_filter(text: str) -> tuple[str, str]:
    """The form and the value to compare of the fingerprint filter: (MD5, 'xx:...:xx' lowercase) or
    (SHA256, 'SHA256:...'). InfoError for anything else, naming the forms it takes."""
    value = text.strip()
    md5 = _MD5_RE.match(value)
    if md5:
        return MD5, md5.group(1).lower()
    if _SHA256_RE.match(value.rstrip('=')):
        return SHA256, value.rstrip('=')
    raise InfoError('fingerprint %s is not a fingerprint this module can compare. Give it as KPS reports it (MD5, 16 '
                    'colon-separated hex pairs such as 3f:0a:62:c1:9b:11:8d:4e:27:5c:a0:69:0e:f2:d8:41), as ssh-keygen '
                    '-E md5 -l prints it (MD5:3f:0a:...), or as ssh-keygen -l prints it (SHA256: and 43 base64 '
                    'characters). Nothing was sent.' % value)


def fingerprint_of(summary: Mapping[str, Any], form: str) -> str | None:
    """The fingerprint of a key pair in ``form``: KPS's MD5, or the SHA256 one computed from its public key."""
    if form == MD5:
        return (summary['fingerprint'] or '').lower() or None
    try:
        return sha256_fingerprint(summary['public_key']) if summary['public_key'] else None
    except KeyMaterialError:
        return None


def matches(summary: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether a key pair passes the client-side filters of the task."""
    pattern = params.get('name_pattern')
    if pattern is not None and not fnmatch.fnmatchcase(summary['name'] or '', pattern):
        return False
    if params.get('fingerprint') is not None:
        form, wanted = fingerprint_filter(params['fingerprint'])
        if fingerprint_of(summary, form) != wanted:
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
        if self.params.get('fingerprint') is not None:
            fingerprint_filter(self.params['fingerprint'])  # a malformed one fails before any call
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
