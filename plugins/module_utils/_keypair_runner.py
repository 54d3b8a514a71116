# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_keypair: the key pair itself (create, describe, delete), one read decides.

One run is: check the options locally (name, description, public key, private key, dest) -> show the key
pair -> ``decide()`` (a key pair KPS must generate needs somewhere for its private key to go) -> the writes of
that action unless in check mode -> read the key pair again after a write -> one result. A given private key is
read and hosted by kps_private_key_import's own functions (task_private_key, host_private_key). KPS returns a
generated private key once, in the create answer: it is checked against the new key pair and delivered (written
to ``dest`` and/or returned) before the run ends; if it cannot be delivered and KPS does not host it either, the
new key pair is deleted again, so that no key pair is left whose private key nobody has. Nothing here puts key
material into a warning, an error or a diff.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    DEFAULT_MODE,
    MAX_PUBLIC_KEY_BYTES,
    SecretFileError,
    open_dir,
    read_option_file,
    write_secret_file,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._import_runner import CREATE as CREATE_HOSTED
from ansible_collections.huaweicloud.kps.plugins.module_utils._import_runner import IMPORT as IMPORT_KEY
from ansible_collections.huaweicloud.kps.plugins.module_utils._import_runner import (
    api_error_message,
    check_import_name,
    host_private_key,
    task_private_key,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (
    KEY_TYPE_NAMES,
    KEY_TYPES,
    KPS_FORMAT,
    KPS_GENERATES,
    NO_TRADITIONAL_PEM,
    PRIVATE_FORMATS,
    TRADITIONAL,
    KeyMaterialError,
    PrivateKey,
    fingerprint,
    generate_private_key,
    key_type_of,
    load_private_key,
    passphrase_problem,
    public_key_blob,
    traditional_pem_error,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    DESCRIPTION_MAX,
    KEYPAIR_DETAIL_FIELDS,
    api_scope,
    key_matches,
    keypair_summary,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import check_names
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan

# The encodings of a generated private key in dest and in the result, as the export module's format option:
# ours (OpenSSH, PKCS#8, traditional PEM), or 'kps', the encoding KPS returned it in.
FORMATS = PRIVATE_FORMATS + (KPS_FORMAT,)

# What decide() can answer.
CREATE = 'create'          # missing: create it
RECREATE = 'recreate'      # differs in what only creation sets, force=true: delete, then create
UPDATE = 'update'          # only the description differs: update it in place
HOST = 'host'              # a private key is given, the key pair has its public key and hosts none: import it
NONE = 'none'              # as requested
MISMATCH = 'mismatch'      # differs in what only creation sets, force=false: fail before any write
DELETE = 'delete'          # absent: delete it
NO_KEYPAIR = 'no_keypair'  # absent: it does not exist
WRITES = (CREATE, RECREATE, UPDATE, HOST, DELETE)

WHO = 'huaweicloud.kps.kps_keypair'  # the start of its warnings
NO_LOG_WARNING = ('%s: the result of this task holds a private key. Set no_log: true on the task so that it is not '
                  'shown or logged.' % WHO)


class KeypairError(KpsError):
    """A problem the user must fix; ``details`` go into the failed result. Never holds key material."""


# ----- pure helpers (unit tested on their own) ---------------------------------------------------------------

class Wanted:
    """What the task asks for, checked locally. ``public_key`` is '<type> <base64>' or None (generated);
    ``private_key`` the parsed private key that KPS is to host (its public key is ``public_key``), or None;
    ``key_type`` the KEY_TYPES entry a generated key pair must have, or None (what KPS generates)."""

    def __init__(self, name: str, public_key: str | None = None, scope: str | None = None,
                 description: str | None = None, encryption_type: str | None = None, dest: str | None = None,
                 return_private_key: bool = False, key_type: str | None = None) -> None:
        self.name = name
        self.public_key = public_key
        self.scope = scope
        self.description = description
        self.encryption_type = encryption_type
        self.dest = dest
        self.return_private_key = return_private_key
        self.key_type = key_type
        self.private_key: PrivateKey | None = None

    @property
    def generated(self) -> bool:
        """Whether the key pair is generated: by KPS, or by the module (``local``)."""
        return self.public_key is None

    @property
    def local(self) -> bool:
        """Whether the module generates the key (a key_type that KPS does not generate), in memory."""
        return self.generated and self.key_type not in (None, KPS_GENERATES)

    @property
    def hosted(self) -> bool:
        """Whether KPS is to host the private key: one given, or a generated one with encryption_type."""
        return self.private_key is not None or (self.generated and bool(self.encryption_type))

    @property
    def fingerprint(self) -> str | None:
        return fingerprint(self.public_key) if self.public_key else None


def differences(keypair: Mapping[str, Any], wanted: Wanted) -> list[str]:
    """What differs between ``keypair`` (KPS metadata) and ``wanted`` that only creating the key pair can set.

    A list of phrases for messages, empty when nothing does.
    """
    found = []
    if wanted.public_key is not None and not _same_public_key(keypair, wanted.public_key):
        found.append('public key (fingerprint %s; the task asks for %s)'
                     % (keypair.get('fingerprint') or 'unknown', wanted.fingerprint))
    if wanted.scope is not None and keypair.get('scope') != wanted.scope:
        found.append('scope (%s; the task asks for %s)' % (keypair.get('scope'), wanted.scope))
    old_type = key_type_of(keypair.get('public_key')) if keypair.get('public_key') else None
    if wanted.generated and wanted.key_type and old_type != wanted.key_type:
        found.append('key type (%s; the task asks for %s)'
                     % (KEY_TYPE_NAMES.get(old_type, 'unknown'), KEY_TYPE_NAMES[wanted.key_type]))
    if wanted.generated and wanted.encryption_type and not keypair.get('is_key_protection'):
        found.append('hosting (KPS hosts no private key for it; encryption_type asks for a generated key '
                     'that KPS hosts, which KPS can only do when it creates the key pair)')
    return found


def _same_public_key(keypair: Mapping[str, Any], public_key: str) -> bool:
    if keypair.get('public_key'):
        try:
            return public_key_blob(keypair['public_key']) == public_key
        except KeyMaterialError:
            pass
    return bool(keypair.get('fingerprint')) and keypair['fingerprint'].strip().lower() == fingerprint(public_key)


def decide(state: str, keypair: Mapping[str, Any] | None, wanted: Wanted, force: bool = False) -> str:
    """The action for ``keypair`` (show result or None) and ``wanted``."""
    if state == 'absent':
        return NO_KEYPAIR if keypair is None else DELETE
    if keypair is None:
        return CREATE
    if differences(keypair, wanted):
        return RECREATE if force else MISMATCH
    if wanted.private_key is not None and not keypair.get('is_key_protection'):
        return HOST
    if _new_description(keypair, wanted):
        return UPDATE
    return NONE


def _new_description(keypair: Mapping[str, Any], wanted: Wanted) -> bool:
    return wanted.description is not None and (keypair.get('description') or '') != wanted.description


def summary(keypair: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The documented fields of a key pair (missing ones None), or None when there is no key pair."""
    return None if keypair is None else keypair_summary(keypair, KEYPAIR_DETAIL_FIELDS)


def predicted(action: str, keypair: Mapping[str, Any] | None, wanted: Wanted,
              user_id: str | None = None) -> dict[str, Any] | None:
    """The key pair as it will be after ``action``, from what is known before any write.

    The check mode result, and the fallback when the read after a write gives nothing.
    """
    if action in (CREATE, RECREATE):
        after = dict((field, None) for field in KEYPAIR_DETAIL_FIELDS)
        after.update(name=wanted.name, type='ssh', scope=wanted.scope or 'user', public_key=wanted.public_key,
                     fingerprint=wanted.fingerprint, is_key_protection=wanted.hosted,
                     description=wanted.description or '', user_id=user_id)
        return after
    if action in (DELETE, NO_KEYPAIR):
        return None
    after = summary(keypair)
    if action == HOST:
        after['is_key_protection'] = True
    if action in (UPDATE, HOST) and wanted.description is not None:
        after['description'] = wanted.description
    return after


def diff_state(keypair: Mapping[str, Any] | None) -> dict[str, Any]:
    """The metadata a diff shows; never key material."""
    if keypair is None:
        return {'exists': False}
    return {'exists': True, 'fingerprint': keypair.get('fingerprint'), 'scope': keypair.get('scope'),
            'description': keypair.get('description') or '', 'is_key_protection': bool(keypair.get('is_key_protection'))}


def _generated_where(wanted: Wanted) -> str:
    where = []
    if wanted.encryption_type:
        where.append('hosted by KPS')
    if wanted.dest:
        where.append('written to %s' % wanted.dest)
    if wanted.return_private_key:
        where.append('returned in private_key')
    return ', '.join(where)


def _generator(wanted: Wanted) -> str:
    if wanted.local:
        return ('an %s key generated by the module in memory (KPS generates RSA 2048 only)'
                % KEY_TYPE_NAMES[wanted.key_type])
    return 'generated by KPS'


def nowhere_message(action: str, wanted: Wanted, changes: list[str] | None = None) -> str:
    """Why a key pair that KPS would generate is not created when its private key would go nowhere."""
    why = ('does not exist' if action == CREATE
           else 'would be deleted and re-created (force=true; it differs in %s)' % '; '.join(changes or []))
    return ('Key pair %s %s, and neither public_key nor public_key_path is given, so %s would generate the key '
            'pair and return its private key once, at creation. Say where that private key goes: encryption_type '
            '(KPS hosts it), dest (a file) and/or return_private_key=true; or give the public key of a key pair '
            'you made yourself. Nothing was changed.' % (wanted.name, why, 'the module' if wanted.local else 'KPS'))


def message(action: str, wanted: Wanted, check_mode: bool = False, keypair: Mapping[str, Any] | None = None,
            changes: list[str] | None = None) -> str:
    """What the run did (or in check mode would do), in words."""
    name = wanted.name
    if action in (CREATE, RECREATE):
        how = (', %s, its private key %s' % (_generator(wanted), _generated_where(wanted)) if wanted.generated
               else ' from the given private key, hosted by KPS' if wanted.private_key is not None
               else ' from the given public key')
        if action == CREATE:
            return '%s key pair %s%s.' % ('Would create' if check_mode else 'Created', name, how)
        return '%s key pair %s%s (force=true; it differed in %s).' % (
            'Would delete and re-create' if check_mode else 'Deleted and re-created', name, how, '; '.join(changes))
    if action == UPDATE:
        return '%s the description of key pair %s.' % ('Would update' if check_mode else 'Updated', name)
    if action == HOST:
        described = keypair is not None and _new_description(keypair, wanted)
        return '%s the private key into key pair %s%s.' % (
            'Would import' if check_mode else 'Imported', name,
            (' and update its description' if check_mode else ' and updated its description') if described else '')
    if action == DELETE:
        hosted = ' and the private key KPS hosts for it' if (keypair or {}).get('is_key_protection') else ''
        return '%s key pair %s%s.' % ('Would delete' if check_mode else 'Deleted', name, hosted)
    if action == NONE:
        return 'Key pair %s is as requested.' % name
    if action == NO_KEYPAIR:
        return 'Key pair %s does not exist: nothing to delete.' % name
    if action == MISMATCH:
        return ('Key pair %s exists and differs in what only its creation sets: %s. Nothing was changed. Use '
                'another name, or set force=true to delete the key pair and create it again (whoever logs in '
                'with its current private key loses access).' % (name, '; '.join(changes)))
    raise ValueError('unknown action %r' % action)


# ----- the run ------------------------------------------------------------------------------------------------

class KeypairRunner(KpsRunner):
    """Runs kps_keypair for one ``KpsModule``."""

    def _failure(self, exc: KpsError) -> dict[str, Any]:
        if isinstance(exc, HuaweiCloudError):
            return exc.result(msg=api_error_message(self.params['name'], exc))  # API errors name the key pair
        return exc.result()

    def plan(self) -> Plan:
        wanted = self._wanted()
        before = self.module.kps.show_keypair(wanted.name)
        action = decide(self.params['state'], before, wanted, self.params['force'])
        changes = differences(before, wanted) if action in (RECREATE, MISMATCH) else None
        if action == MISMATCH:
            raise KeypairError(message(action, wanted, keypair=before, changes=changes), keypair=summary(before))
        if action in (CREATE, RECREATE) and wanted.generated and not _generated_where(wanted):
            raise KeypairError(nowhere_message(action, wanted, changes), keypair=summary(before))
        if action == HOST:
            check_import_name(wanted.name)
        if action in (CREATE, RECREATE) and wanted.dest and os.path.lexists(wanted.dest) and not self.params['force']:
            raise KeypairError(
                'dest %s already exists. A key pair that KPS generates gets a new private key, and the module '
                'does not overwrite an existing file with it (the file may be the only copy of another key). '
                'Remove the file, choose another dest, or set force=true to replace it. Nothing was changed.'
                % wanted.dest, keypair=summary(before))
        if action in (CREATE, RECREATE) and wanted.dest:
            self._check_dest_writable(wanted.dest, before)
        if action == NONE and wanted.dest and not os.path.lexists(wanted.dest):
            self.module.warn('%s: key pair %s already exists, so KPS generates no private key and nothing is written '
                             'to %s. If KPS hosts its private key, write it with '
                             'huaweicloud.kps.kps_private_key_export.' % (WHO, wanted.name, wanted.dest))
        # What the write hands back (the generated private key, whether dest was written); None/False until then.
        delivered = {}
        if wanted.return_private_key:
            delivered['private_key'] = None
        if wanted.dest:
            delivered['dest_written'] = False
        return Plan(changed=action in WRITES, before=before, action=action, wanted=wanted, changes=changes,
                    after=predicted(action, before, wanted, self.params['user_id']), delivered=delivered)

    def apply(self, plan: Plan) -> None:
        plan.changed = self._write(plan.action, plan.wanted, plan.before, plan.delivered)
        if plan.action == DELETE:
            plan.after = None
        else:
            plan.after = summary(self.module.kps.show_keypair(plan.wanted.name)) or plan.after

    def result(self, plan: Plan) -> dict[str, Any]:
        if plan.action == DELETE and plan.applied and not plan.changed:
            msg = message(NO_KEYPAIR, plan.wanted)  # deleted by someone else meanwhile
        else:
            msg = message(plan.action, plan.wanted, not plan.applied, plan.before, plan.changes)
        return dict(plan.delivered, msg=msg, keypair=plan.after)

    def diff(self, plan: Plan) -> dict[str, Any]:
        return {'before': diff_state(plan.before), 'after': diff_state(plan.after)}

    # ----- options ------------------------------------------------------------------------------------------

    def _wanted(self) -> Wanted:
        """The task's options, checked before any call."""
        params = self.params
        name = params['name']
        check_names([name])
        description = params['description']
        if description is not None and len(description) > DESCRIPTION_MAX:
            raise KeypairError('description has %d characters; KPS allows at most %d.'
                               % (len(description), DESCRIPTION_MAX))
        wanted = Wanted(name, scope=api_scope(params['scope']), description=description)
        if params['state'] == 'absent':
            return wanted
        public_key = params['public_key']
        if params['public_key_path'] is not None:
            public_key = read_option_file(params['public_key_path'], MAX_PUBLIC_KEY_BYTES, 'public_key_path',
                                          'public key').decode('ascii', 'replace')
        private = params['private_key'] is not None or params['private_key_path'] is not None
        if params['encryption_type'] and public_key is not None and not private:
            raise KeypairError('encryption_type makes KPS host a private key, and with public_key or public_key_path '
                               'alone KPS has none. Give the private key too (private_key or private_key_path), or '
                               'leave encryption_type out to create the key pair from the public key only. Nothing '
                               'was sent.')
        if (public_key is not None or private) and params['return_private_key']:
            raise KeypairError('return_private_key applies to a key pair that KPS generates; with a public or private '
                               'key given there is no private key to return.')
        if public_key is not None:
            try:
                wanted.public_key = public_key_blob(public_key)
            except KeyMaterialError as exc:
                raise KeypairError('Cannot use the public key for key pair %s: %s' % (name, exc.msg))
        if private:
            # The same reading, parsing and warnings as kps_private_key_import's.
            wanted.private_key = task_private_key(self.module, name, WHO)
            if wanted.public_key is not None and wanted.public_key != wanted.private_key.public_key:
                raise KeypairError('Key pair %s: the public key (fingerprint %s) is not the public key of the private '
                                   'key (fingerprint %s). Give the matching pair, or the private key alone. Nothing was '
                                   'sent.' % (name, wanted.fingerprint, wanted.private_key.fingerprint))
            wanted.public_key = wanted.private_key.public_key
            wanted.encryption_type = params['encryption_type'] or 'default'
        if wanted.public_key is not None:
            return wanted
        wanted.encryption_type = params['encryption_type']
        wanted.dest = params['dest']
        wanted.return_private_key = params['return_private_key']
        wanted.key_type = params['key_type']
        if params['format'] == TRADITIONAL and set(KEY_TYPES.get(wanted.key_type, ())) & set(NO_TRADITIONAL_PEM):
            raise KeypairError('%s Nothing was sent.' % traditional_pem_error())
        if wanted.dest:
            self._check_dest(wanted.dest)
        problem = passphrase_problem(params['passphrase'], params['format'])
        if problem:
            raise KeypairError('%s Nothing was sent.' % problem)
        if wanted.return_private_key and not self.module.no_log:
            self.module.warn(NO_LOG_WARNING)
        return wanted

    @staticmethod
    def _check_dest(dest: str) -> None:
        if os.path.isdir(dest):
            raise KeypairError('dest %s is a directory; give the path of the private key file to write.' % dest)
        directory = os.path.dirname(os.path.abspath(dest))
        if not os.path.isdir(directory):
            raise KeypairError('The directory of dest, %s, does not exist. Create it first. Nothing was sent.'
                               % directory)

    def _check_dest_writable(self, dest: str, before: Mapping[str, Any] | None) -> None:
        """Fail before the create call when the write core would refuse dest's directory (a link another user
        made) or cannot write into it: found after it, KPS would have generated a key that has to be deleted."""
        directory, name = os.path.split(os.path.abspath(dest))
        try:
            with open_dir(directory) as folder:
                if not self.module.check_mode:
                    folder.check_writable(name)
        except SecretFileError as exc:
            raise KeypairError('%s Nothing was changed.' % exc.msg, keypair=summary(before))

    # ----- writes -------------------------------------------------------------------------------------------

    def _write(self, action: str, wanted: Wanted, before: Mapping[str, Any] | None, result: dict[str, Any]) -> bool:
        """Send the writes of ``action``; returns whether anything changed. Fills private_key / dest_written."""
        kps = self.module.kps
        if action == DELETE:
            return kps.delete_keypair(wanted.name)  # False: deleted by someone else meanwhile
        if action == HOST:
            host_private_key(self.module, wanted.name, wanted.private_key, IMPORT_KEY, wanted.encryption_type, WHO)
        if action in (UPDATE, HOST):
            if _new_description(before, wanted):
                kps.update_keypair_description(wanted.name, wanted.description)
            return True
        if action == RECREATE:
            kps.delete_keypair(wanted.name)
        if wanted.private_key is not None:  # the create call of kps_private_key_import
            host_private_key(self.module, wanted.name, wanted.private_key, CREATE_HOSTED, wanted.encryption_type, WHO,
                             scope=wanted.scope)
        elif wanted.local:  # a key type KPS does not generate: the module's, created as a given key would be
            key = generate_private_key(wanted.key_type)
            if wanted.encryption_type:
                host_private_key(self.module, wanted.name, key, CREATE_HOSTED, wanted.encryption_type, WHO,
                                 scope=wanted.scope)
            else:
                try:
                    kps.create_keypair(wanted.name, public_key=key.public_key, scope=wanted.scope,
                                       user_id=self.params['user_id'])
                except HuaweiCloudError as exc:
                    self._create_landed(wanted, exc, key.public_key)
            self._hand_over(wanted, key, result)
        else:
            try:
                created = kps.create_keypair(
                    wanted.name, public_key=wanted.public_key, scope=wanted.scope, user_id=self.params['user_id'],
                    encryption_type=wanted.encryption_type if wanted.generated else None,
                    kms_key_name=self.params['kms_key_name'], kms_key_id=self.params['kms_key_id'])
            except HuaweiCloudError as exc:
                created = self._create_landed(wanted, exc)
            if wanted.generated:
                self._deliver(wanted, created, result)
        if wanted.description:
            kps.update_keypair_description(wanted.name, wanted.description)
        return True

    def _create_landed(self, wanted: Wanted, exc: HuaweiCloudError, public_key: str | None = None) -> dict[str, Any]:
        """After a create call that got no answer (timeout, broken connection, 5xx): what KPS did.

        The key pair made from a known public key (given, or of the key the module generated, ``public_key``) is
        kept if it is there; one KPS generated is useless without the lost answer's private key, so it is deleted
        again unless KPS hosts its private key.
        """
        public_key = public_key or wanted.public_key
        if exc.status is not None and exc.status < 500:
            raise exc
        try:
            landed = self.module.kps.show_keypair(wanted.name)
        except HuaweiCloudError:
            landed = None
        if landed is None:
            raise exc
        what = 'HTTP %s' % exc.status if exc.status else 'no answer'
        if public_key is not None and _same_public_key(landed, public_key):
            self.module.warn('%s: the create call for key pair %s got %s, but KPS now has the key pair with this '
                             'public key; treating the call as successful.' % (WHO, wanted.name, what))
            return landed
        if public_key is None and not wanted.encryption_type:
            raise KeypairError(self._undo_creation(wanted, 'the answer to the create call, which holds the only copy '
                                                   'of the generated private key, was lost (%s)' % what))
        raise KeypairError('Key pair %s: the create call got %s, but KPS has created the key pair. %s'
                           % (wanted.name, what, 'KPS hosts its private key: get it with '
                              'huaweicloud.kps.kps_private_key_export.' if public_key is None else
                              'Run the task again to compare it with the task.'))

    def _deliver(self, wanted: Wanted, created: Mapping[str, Any], result: dict[str, Any]) -> None:
        """Check the private key KPS generated and hand it over; undo the creation if it would be lost."""
        pem = created.get('private_key')
        try:
            if not isinstance(pem, str) or not pem.strip():
                raise KeypairError('KPS returned no private key for the key pair it generated')
            try:
                key = load_private_key(pem)
            except KeyMaterialError:
                raise KeypairError('KPS returned something that is not an unencrypted private key')
            if not key_matches(created, key):
                raise KeypairError('KPS returned a private key (fingerprint %s) that does not belong to the new key '
                                   'pair (fingerprint %s)' % (key.fingerprint, created.get('fingerprint')))
        except KpsError as exc:
            raise KeypairError(self._undo_creation(wanted, exc.msg))
        self._hand_over(wanted, key, result)

    def _hand_over(self, wanted: Wanted, key: PrivateKey, result: dict[str, Any]) -> None:
        """Write the generated private key to dest and / or return it; undo the creation if it would be lost."""
        try:
            fmt = self.params['format']
            text = key.private_text(key.source_format if fmt == KPS_FORMAT else fmt, self.params['passphrase'])
            if wanted.dest:
                write_secret_file(wanted.dest, text, DEFAULT_MODE)
                result['dest_written'] = True
        except KpsError as exc:  # e.g. format=pem for a key type that has none, or dest not writable
            raise KeypairError(self._undo_creation(wanted, exc.msg))
        if wanted.return_private_key:
            result['private_key'] = text

    def _undo_creation(self, wanted: Wanted, problem: str) -> str:
        """The failure message after a generated key could not be delivered; deletes the key pair if nobody has its
        private key."""
        problem = problem.rstrip('.')  # a clause of this message
        if wanted.encryption_type:
            return ('Key pair %s was created and KPS hosts its private key, but %s. Get the private key with '
                    'huaweicloud.kps.kps_private_key_export.' % (wanted.name, problem))
        try:
            self.module.kps.delete_keypair(wanted.name)
        except HuaweiCloudError as exc:
            return ('Key pair %s was created, but %s, and deleting it again failed (%s): delete it, since nobody has '
                    'its private key.' % (wanted.name, problem, exc))
        return ('Key pair %s was created, but %s. The new key pair was deleted again, since nobody would have its '
                'private key.' % (wanted.name, problem))
