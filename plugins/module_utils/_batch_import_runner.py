# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_private_key_import with ``keys``: many private keys hosted in one task (a migration).

plan: check every item (names, duplicates, KMS options) before anything is read or sent -> read and parse each
private key locally (a key that cannot be used fails alone) -> one lookup of every name (``find_keypairs``: a
listing) -> ``decide()`` per key, as the one-key form decides.
apply: the key pairs to create go in batch-import calls of at most 10; a key pair that exists without its key
takes the one import call it needs; then one lookup of the key pairs written reports what KPS holds.
result: one entry per key, in the order of ``keys``; after the others are done, the task fails naming every
key that failed and why, so that a re-run finishes the rest. Nothing here puts key material into a result.
"""

from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._import_runner import (
    CREATE,
    HOSTED,
    IMPORT,
    MISMATCH,
    MISSING,
    REIMPORT,
    KeyImportError,
    api_error_message,
    check_import_name,
    decide,
    diff_state,
    message,
    read_private_key,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    BATCH_IMPORT_MAX,
    KEYPAIR_FIELDS,
    key_matches,
    keypair_summary,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import check_names
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan

# Options of the task that every item of ``keys`` takes unless it sets its own.
SHARED_OPTIONS = ('private_key_passphrase', 'encryption_type', 'kms_key_name', 'kms_key_id', 'user_id')
# Failures named in the message; the rest are counted (every one is in ``keys``).
MESSAGE_FAILURES = 20
_ACTION_NAMES = {CREATE: 'create', IMPORT: 'import', REIMPORT: 'reimport', HOSTED: 'none'}


class Entry:
    """One item of ``keys`` through the run: its options, parsed key, state before and after, outcome."""

    def __init__(self, item: Mapping[str, Any]) -> None:
        self.item = item
        self.name = item['name']
        self.key = None
        self.before = None
        self.after = None
        self.action = None   # a decide() answer, None when the key could not be read
        self.done = False    # True: written; None: the write's outcome is unknown until the re-read
        self.error = None    # why this key failed (no key material)
        self.weak = self.passphrase_unused = False  # what read_private_key noticed, for the warnings

    @property
    def writes(self) -> bool:
        return self.error is None and self.action in (CREATE, IMPORT, REIMPORT)

    def fail(self, reason: str) -> None:
        self.error = reason
        self.done = False
        self.after = _summary(self.before)  # as it was: nothing was written for it

    def protection(self) -> dict[str, Any]:
        options = ('encryption_type', 'kms_key_name', 'kms_key_id', 'user_id')
        return dict((option, self.item[option]) for option in options)

    def report(self, applied: bool) -> dict[str, Any]:
        changed = bool(self.done) if applied else self.writes
        if self.error is not None:
            msg = self.error
        else:
            msg = message(self.action, self.name, check_mode=not applied)
        return {'name': self.name, 'action': _ACTION_NAMES.get(self.action), 'changed': changed,
                'failed': self.error is not None, 'msg': msg, 'keypair': self.after}


class BatchImportError(KpsError):
    """Some keys of ``keys`` failed; the details hold the whole per-key result."""


def merged_items(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items of ``keys`` with the task's shared options filled in, checked before anything is read or sent."""
    items = [dict(item, **dict((option, params[option] if item.get(option) is None else item[option])
                               for option in SHARED_OPTIONS)) for item in params['keys']]
    if not items:
        raise KeyImportError('keys is empty: give at least one key, with name and private_key or private_key_path.')
    names = [item['name'] for item in items]
    check_names(names)
    twice = sorted(set(name for name in names if names.count(name) > 1)) if len(set(names)) < len(names) else []
    if twice:
        raise KeyImportError('keys names key pair %s more than once; give each key pair once. Nothing was read or '
                             'sent.' % ', '.join(twice))
    no_kms = [item['name'] for item in items
              if item['encryption_type'] == 'kms' and not (item['kms_key_name'] or item['kms_key_id'])]
    if no_kms:
        raise KeyImportError('encryption_type is kms but no kms_key_name or kms_key_id is given for key pair %s; '
                             'set one for the task or for each of those keys. Nothing was read or sent.'
                             % ', '.join(no_kms))
    return items


def chunks(entries: list[Entry], size: int) -> list[list[Entry]]:
    return [entries[start:start + size] for start in range(0, len(entries), size)]


def _outcome_unknown(exc: HuaweiCloudError) -> bool:
    """A POST that got no answer (timeout, broken connection) or a 5xx may still have been carried out."""
    return exc.status is None or exc.status >= 500


class BatchImportRunner(KpsRunner):
    """Runs kps_private_key_import with ``keys`` for one ``KpsModule``."""

    def plan(self) -> Plan:
        if self.params['state'] != 'present':
            raise KeyImportError('keys takes state=present only. To clear hosted private keys, give name with '
                                 'state=absent (in a loop for several). Nothing was read or sent.')
        entries = [Entry(item) for item in merged_items(self.params)]
        for entry in entries:
            try:
                entry.key, entry.weak, entry.passphrase_unused = read_private_key(
                    entry.name, entry.item['private_key'], entry.item['private_key_path'],
                    entry.item['private_key_passphrase'])
            except KpsError as exc:
                entry.fail(exc.msg)
        self._warn(entries)
        found = self.module.kps.find_keypairs([entry.name for entry in entries])
        for entry in entries:
            entry.before = found.get(entry.name)
            entry.after = _summary(entry.before)
            if entry.error is not None:
                continue
            entry.action = decide('present', entry.before, entry.key, force=self.params['force'],
                                  create=self.params['create'])
            try:
                if entry.action in (MISSING, MISMATCH):
                    raise KeyImportError(message(entry.action, entry.name, keypair=entry.before, key=entry.key))
                if entry.action in (IMPORT, REIMPORT):
                    check_import_name(entry.name)
            except KpsError as exc:
                entry.fail(exc.msg)
                continue
            if entry.writes:
                entry.after = _predicted(entry)
        return Plan(changed=any(entry.writes for entry in entries), entries=entries)

    def apply(self, plan: Plan) -> None:
        entries = [entry for entry in plan.entries if entry.writes]
        self._create([entry for entry in entries if entry.action == CREATE])
        for entry in entries:
            if entry.action in (IMPORT, REIMPORT):
                self._import(entry)
        written = [entry for entry in entries if entry.done is not False]
        now = self.module.kps.find_keypairs([entry.name for entry in written]) if written else {}
        for entry in written:
            keypair = now.get(entry.name)
            if entry.done is None:
                if keypair is not None and keypair.get('is_key_protection') and key_matches(keypair, entry.key):
                    entry.done = True  # the call got no answer, but KPS acted on it
                else:
                    entry.fail('The %s call for key pair %s got no answer KPS reported on, and KPS does not host '
                               'its private key now; run the task again.' % (_ACTION_NAMES[entry.action], entry.name))
            entry.after = _summary(keypair) or entry.after
        plan.changed = any(entry.done for entry in plan.entries)

    def result(self, plan: Plan) -> dict[str, Any]:
        entries = plan.entries
        result = {'key_results': [entry.report(plan.applied) for entry in entries]}
        for field, actions in (('created', (CREATE,)), ('imported', (IMPORT, REIMPORT)), ('unchanged', (HOSTED,))):
            result[field] = [entry.name for entry in entries if entry.error is None and entry.action in actions]
        failed = [entry for entry in entries if entry.error is not None]
        result['failed_keys'] = [entry.name for entry in failed]
        result['msg'] = _summary_message(result, len(entries), plan)
        if failed:
            # A failed task still reports every key (and what changed), so a re-run can finish the rest.
            shown = '; '.join('%s: %s' % (entry.name, entry.error) for entry in failed[:MESSAGE_FAILURES])
            more = len(failed) - MESSAGE_FAILURES
            result['msg'] += ' Failed: %s%s' % (shown, ' (and %d more, see key_results)' % more if more > 0 else '')
            result['changed'] = plan.changed
            if self.module._diff:
                result['diff'] = self.diff(plan)
            raise BatchImportError(result.pop('msg'), **result)
        return result

    def diff(self, plan: Plan) -> dict[str, Any]:
        shown = [entry for entry in plan.entries if entry.writes or entry.done]
        return {'before': dict((entry.name, diff_state(entry.before)) for entry in shown),
                'after': dict((entry.name, diff_state(entry.after)) for entry in shown)}

    def _warn(self, entries: list[Entry]) -> None:
        prefix = 'huaweicloud.kps.kps_private_key_import: '
        for test, text in (
                (lambda entry: entry.error is None and entry.weak,
                 'the RSA keys of key pair %s have under 2048 bits; they are weak, replace them with longer ones.'),
                (lambda entry: entry.error is None and entry.passphrase_unused,
                 'private_key_passphrase was given, but the private key of key pair %s is not encrypted; the '
                 'passphrase was not used.'),
                (lambda entry: entry.item['encryption_type'] != 'kms' and (entry.item['kms_key_name'] or
                                                                           entry.item['kms_key_id']),
                 'kms_key_name and kms_key_id only apply with encryption_type=kms; they were not used for key '
                 'pair %s.')):
            names = [entry.name for entry in entries if test(entry)]
            if names:
                self.module.warn(prefix + text % ', '.join(names))

    def _create(self, entries: list[Entry]) -> None:
        """The key pairs of ``entries``, with their private keys hosted, in batch-import calls of at most 10."""
        kps = self.module.kps
        for chunk in chunks(entries, BATCH_IMPORT_MAX):
            bodies = [kps.keypair_body(entry.name, public_key=entry.key.public_key, private_key=entry.key.pem,
                                       scope=entry.item['scope'], **entry.protection()) for entry in chunk]
            try:
                created, failed = kps.batch_import_keypairs(bodies)
            except HuaweiCloudError as exc:
                if not _outcome_unknown(exc):
                    for entry in chunk:
                        entry.fail(api_error_message(entry.name, exc))
                    continue
                created, failed = set(), {}
            for entry in chunk:
                if entry.name in failed:
                    entry.fail('KPS did not create key pair %s: %s' % (entry.name, failed[entry.name]))
                else:
                    entry.done = True if entry.name in created else None  # unreported: the re-read decides

    def _import(self, entry: Entry) -> None:
        try:
            self.module.kps.import_private_key(entry.name, entry.key.pem, **entry.protection())
        except HuaweiCloudError as exc:
            if _outcome_unknown(exc) and entry.action == IMPORT:
                entry.done = None
            elif _outcome_unknown(exc):
                entry.fail('%s. KPS may or may not have re-imported the private key with the requested encryption; '
                           'run the task again.' % api_error_message(entry.name, exc))
            else:
                entry.fail(api_error_message(entry.name, exc))
            return
        entry.done = True


def _summary(keypair: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a listing reports of a key pair (missing fields None); None for no key pair."""
    return None if keypair is None else keypair_summary(keypair, KEYPAIR_FIELDS)


def _predicted(entry: Entry) -> dict[str, Any]:
    """The key pair as it will be after the write: the check mode result, and a real run's when the re-read gives none."""
    if entry.action == CREATE:
        return dict(dict((field, None) for field in KEYPAIR_FIELDS), name=entry.name, type='ssh',
                    scope=entry.item['scope'] or 'user', public_key=entry.key.public_key,
                    fingerprint=entry.key.fingerprint, is_key_protection=True, frozen_state=0)
    return dict(_summary(entry.before), is_key_protection=True)


def _summary_message(result: Mapping[str, Any], total: int, plan: Plan) -> str:
    parts = []
    if result['created']:
        parts.append(plan.say('would create %d %s with the private keys hosted by KPS',
                              'created %d %s with the private keys hosted by KPS')
                     % (len(result['created']), plural(len(result['created']), 'key pair')))
    if result['imported']:
        parts.append(plan.say('would import the private keys of %d existing %s', 'imported the private keys of %d '
                              'existing %s') % (len(result['imported']), plural(len(result['imported']), 'key pair')))
    if result['unchanged']:
        parts.append('%d already hosted' % len(result['unchanged']))
    if result['failed_keys']:
        parts.append('%d failed' % len(result['failed_keys']))
    return '%d %s: %s.' % (total, plural(total, 'key'), ', '.join(parts))
