# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_private_key_import: one read decides, at most one write acts.

One run is: check the name -> (present) read and parse the private key locally -> show the key pair ->
``decide()`` -> write unless in check mode -> read the key pair again after a write -> one result.
The result comes from the same code in check mode and real runs; in check mode, fields only KPS can
assign are None. Nothing here puts key material into a result, a warning or an error.
"""

from __future__ import annotations

from typing import Any, Mapping

from ansible.module_utils.basic import env_fallback

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import MAX_KEY_BYTES, read_option_file
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (
    KeyMaterialError,
    PrivateKey,
    load_private_key,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    IMPORT_NAME_MAX,
    KEYPAIR_DETAIL_FIELDS,
    key_matches,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import keypair_summary as _summary
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule, KpsRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import NAME_MAX, check_names
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan

# What decide() can answer.
CREATE = 'create'                  # key pair missing: create it with the private key hosted
IMPORT = 'import'                  # exists, hosts nothing, same public key
REIMPORT = 'reimport'              # hosts this key already, force=true
HOSTED = 'hosted'                  # hosts this key already: nothing to do
MISMATCH = 'mismatch'              # exists with another public key: fail before any write
MISSING = 'missing'                # key pair missing and create=false: fail
CLEAR = 'clear'                    # absent: hosts a key, clear it
ALREADY_CLEAR = 'already_clear'    # absent: exists, hosts nothing
NO_KEYPAIR = 'no_keypair'          # absent: the key pair does not exist
WRITES = (CREATE, IMPORT, REIMPORT, CLEAR)

WHO = 'huaweicloud.kps.kps_private_key_import'  # the start of its warnings

# The options that give a private key, as kps_private_key_import and kps_keypair take them; task_private_key()
# reads them.
PRIVATE_KEY_OPTIONS = dict(
    private_key=dict(type='str', no_log=True),
    private_key_path=dict(type='path', no_log=False),
    private_key_passphrase=dict(type='str', no_log=True, fallback=(env_fallback, ['HW_PRIVATE_KEY_PASSPHRASE'])),
)


class KeyImportError(KpsError):
    """A problem the user must fix; ``details`` go into the failed result. Never holds key material."""


# ----- pure helpers (unit tested on their own) ---------------------------------------------------------------

def check_import_name(name: str) -> None:
    """The import-private-key call's model allows 64 characters (create allows 255, so longer names exist)."""
    if len(name) > IMPORT_NAME_MAX:
        raise KeyImportError(
            'Key pair %s exists, but its name has %d characters and KPS\'s import call takes names of at most %d '
            '(its SDK model), so no private key can be imported into it. Nothing was changed. A new key pair '
            'created by this module (create=true) may have up to %d characters.'
            % (name, len(name), IMPORT_NAME_MAX, NAME_MAX))


def decide(state: str, keypair: Mapping[str, Any] | None, key: PrivateKey | None = None, force: bool = False,
           create: bool = True) -> str:
    """The action for ``keypair`` (show result or None) and the parsed private ``key`` (present only)."""
    if state == 'absent':
        if keypair is None:
            return NO_KEYPAIR
        return CLEAR if keypair.get('is_key_protection') else ALREADY_CLEAR
    if keypair is None:
        return CREATE if create else MISSING
    if not key_matches(keypair, key):
        return MISMATCH
    if keypair.get('is_key_protection'):
        return REIMPORT if force else HOSTED
    return IMPORT


def keypair_summary(keypair: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What show reports of a key pair (missing fields None), so what this module returns; None for no key pair."""
    return None if keypair is None else _summary(keypair, KEYPAIR_DETAIL_FIELDS)


def predicted(action: str, keypair: Mapping[str, Any] | None, key: PrivateKey | None, name: str,
              user_id: str | None = None) -> dict[str, Any] | None:
    """The key pair as it will be after ``action``, from what is known before the write.

    Used as the check mode result, and in a real run when the read after the write gives nothing.
    """
    if action == CREATE:
        after = dict((field, None) for field in KEYPAIR_DETAIL_FIELDS)
        after.update(name=name, type='ssh', public_key=key.public_key, fingerprint=key.fingerprint,
                     is_key_protection=True, user_id=user_id)
        return after
    after = keypair_summary(keypair)
    if after is not None and action in (IMPORT, REIMPORT):
        after['is_key_protection'] = True
    elif after is not None and action == CLEAR:
        after['is_key_protection'] = False
    return after


def diff_state(keypair: Mapping[str, Any] | None) -> dict[str, Any]:
    if keypair is None:
        return {'exists': False, 'is_key_protection': False, 'fingerprint': None}
    return {'exists': True, 'is_key_protection': bool(keypair.get('is_key_protection')),
            'fingerprint': keypair.get('fingerprint')}


def message(action: str, name: str, check_mode: bool = False, keypair: Mapping[str, Any] | None = None,
            key: PrivateKey | None = None) -> str:
    """What the run did (or in check mode would do), in words."""
    done = {
        CREATE: ('Created key pair %s with its private key hosted by KPS.',
                 'Would create key pair %s with its private key hosted by KPS.'),
        IMPORT: ('Imported the private key into key pair %s.',
                 'Would import the private key into key pair %s.'),
        REIMPORT: ('Re-imported the private key into key pair %s (force=true).',
                   'Would re-import the private key into key pair %s (force=true).'),
        CLEAR: ('Cleared the private key hosted for key pair %s; the key pair itself is kept.',
                'Would clear the private key hosted for key pair %s; the key pair itself is kept.'),
    }
    if action in done:
        return done[action][1 if check_mode else 0] % name
    if action == HOSTED:
        return 'KPS already hosts this private key for key pair %s.' % name
    if action == ALREADY_CLEAR:
        return 'Key pair %s hosts no private key: nothing to clear.' % name
    if action == NO_KEYPAIR:
        return 'Key pair %s does not exist: nothing to clear.' % name
    if action == MISSING:
        return ('Key pair %s does not exist, and create=false forbids creating it. Create the key pair first, '
                'or set create=true to create it from the public key of the private key.' % name)
    if action == MISMATCH:
        return ('The private key does not belong to key pair %s: the key pair has the public key with fingerprint '
                '%s, the given private key has the public key with fingerprint %s. Nothing was changed. Give the '
                'private key of this key pair, or another key pair name.'
                % (name, (keypair or {}).get('fingerprint') or 'unknown', key.fingerprint))
    raise ValueError('unknown action %r' % action)


def read_private_key(name: str, private_key: str | None, private_key_path: str | None,
                     passphrase: str | None) -> tuple[PrivateKey, bool, bool]:
    """The private key for key pair ``name`` from ``private_key`` or the file ``private_key_path``, parsed.

    Returns ``(key, weak: an RSA key under 2048 bits, passphrase given but not used)``; KeyImportError (or the
    file core's SecretFileError) names the key pair and what is wrong, never the key.
    """
    data = private_key
    if data is None:
        data = read_option_file(private_key_path, MAX_KEY_BYTES, 'private_key_path', 'private key')
    try:
        key = load_private_key(data, passphrase)
    except KeyMaterialError as exc:
        raise KeyImportError('Cannot use the private key for key pair %s: %s' % (name, exc.msg))
    return key, key.key_type == 'ssh-rsa' and key.key_size < 2048, bool(passphrase) and not key.was_encrypted


def task_private_key(module: KpsModule, name: str, who: str) -> PrivateKey:
    """The private key of the task's PRIVATE_KEY_OPTIONS (kps_private_key_import, kps_keypair), parsed, with the
    warnings of a weak key and an unused passphrase; ``who`` is the module's name for the warnings."""
    params = module.params
    key, weak, passphrase_unused = read_private_key(name, params['private_key'], params['private_key_path'],
                                                    params['private_key_passphrase'])
    if weak:
        module.warn('%s: the RSA key of key pair %s has only %d bits; RSA keys under 2048 bits are weak, replace it '
                    'with a longer one.' % (who, name, key.key_size))
    if passphrase_unused:
        module.warn('%s: private_key_passphrase was given, but the private key is not encrypted; the passphrase was '
                    'not used.' % who)
    return key


def host_private_key(module: KpsModule, name: str, key: PrivateKey, action: str, encryption_type: str,
                     who: str, scope: str | None = None) -> None:
    """The one write that makes KPS host ``key`` for key pair ``name`` (kps_private_key_import, kps_keypair).

    ``action`` CREATE creates the missing key pair from the key's public key with the key hosted, in one call;
    IMPORT and REIMPORT import it into the key pair. The KMS key and user come from the task's kms_key_name,
    kms_key_id and user_id. A call that got no answer (or a 5xx) may have been carried out: a read tells for
    CREATE and IMPORT (success with a warning when KPS now hosts the key), not for REIMPORT (fails saying so).
    """
    kps = module.kps
    protection = dict(encryption_type=encryption_type, kms_key_name=module.params['kms_key_name'],
                      kms_key_id=module.params['kms_key_id'], user_id=module.params['user_id'])
    try:
        if action == CREATE:
            kps.create_keypair(name, public_key=key.public_key, private_key=key.pem, scope=scope, **protection)
        else:
            kps.import_private_key(name, key.pem, **protection)
    except HuaweiCloudError as exc:
        if _outcome_unknown(exc) and action != REIMPORT and _write_landed(module, name, key):
            module.warn('%s: the %s call for key pair %s got %s, but KPS now hosts this private key for it; treating '
                        'the call as successful.' % (who, 'create' if action == CREATE else 'import', name,
                                                     'HTTP %s' % exc.status if exc.status else 'no answer'))
            return
        if _outcome_unknown(exc) and action == REIMPORT:
            # A read cannot tell: the re-imported key is the one already hosted, only its encryption differs.
            raise KeyImportError(
                '%s. KPS may or may not have re-imported the private key with the requested encryption; '
                'run the task again.' % api_error_message(name, exc), **exc.details)
        raise


def _write_landed(module: KpsModule, name: str, key: PrivateKey) -> bool:
    """After a POST without an answer: does KPS now host this key for the key pair?"""
    try:
        keypair = module.kps.show_keypair(name)
    except HuaweiCloudError:
        return False
    return keypair is not None and bool(keypair.get('is_key_protection')) and key_matches(keypair, key)


# KPS codes for which the user needs more than the server's words.
_ERROR_HINTS = {
    'KPS.6008': 'Check that the KMS key given by kms_key_name/kms_key_id exists in this region and is enabled.',
    'KPS.6010': 'Check that the KMS key given by kms_key_name/kms_key_id exists in this region and is enabled.',
    'KPS.6011': 'KPS says the private key does not belong to the key pair.',
}


def api_error_message(name: str, exc: HuaweiCloudError) -> str:
    text = 'Key pair %s: %s' % (name, exc)
    hint = _ERROR_HINTS.get(exc.error_code)
    return text + ('. ' + hint if hint else '')


# ----- the run ------------------------------------------------------------------------------------------------

class ImportRunner(KpsRunner):
    """Runs kps_private_key_import for one ``KpsModule``."""

    def __init__(self, module: KpsModule) -> None:
        super().__init__(module)
        self.name = module.params['name']

    def _failure(self, exc: KpsError) -> dict[str, Any]:
        if isinstance(exc, HuaweiCloudError):
            return exc.result(msg=api_error_message(self.name, exc))  # API errors name the key pair
        return exc.result()

    def plan(self) -> Plan:
        check_names([self.name])  # up to 255 characters: create and clear take them; see check_import_name
        present = self.params['state'] == 'present'
        key = self._private_key() if present else None
        if present:
            self._warn_unused_kms_options()
        before = self.module.kps.show_keypair(self.name)
        action = decide(self.params['state'], before, key, force=self.params['force'], create=self.params['create'])
        if action in (MISSING, MISMATCH):
            raise KeyImportError(message(action, self.name, keypair=before, key=key), keypair=keypair_summary(before))
        if action in (IMPORT, REIMPORT):
            check_import_name(self.name)
        return Plan(changed=action in WRITES, before=before,
                    after=predicted(action, before, key, self.name, self.params['user_id']), action=action, key=key)

    def apply(self, plan: Plan) -> None:
        plan.changed = self._write(plan.action, plan.key)
        plan.after = keypair_summary(self.module.kps.show_keypair(self.name)) or plan.after

    def result(self, plan: Plan) -> dict[str, Any]:
        if plan.action == CLEAR and not plan.changed:
            msg = message(ALREADY_CLEAR, self.name)  # cleared by someone else meanwhile
        else:
            msg = message(plan.action, self.name, check_mode=not plan.applied)
        return {'msg': msg, 'keypair': plan.after}

    def diff(self, plan: Plan) -> dict[str, Any]:
        return {'before': diff_state(plan.before), 'after': diff_state(plan.after)}

    def _private_key(self) -> PrivateKey:
        return task_private_key(self.module, self.name, WHO)

    def _warn_unused_kms_options(self) -> None:
        if self.params['encryption_type'] != 'kms':
            unused = [opt for opt in ('kms_key_name', 'kms_key_id') if self.params[opt]]
            if unused:
                self.module.warn('%s: %s only applies with encryption_type=kms; it was not used.'
                                 % (WHO, ' and '.join(unused)))

    def _write(self, action: str, key: PrivateKey | None) -> bool:
        """Send the one write of ``action``; returns whether it changed anything."""
        if action == CLEAR:
            return self.module.kps.clear_private_key(self.name)
        host_private_key(self.module, self.name, key, action, self.params['encryption_type'], WHO)
        return True


def _outcome_unknown(exc: HuaweiCloudError) -> bool:
    """A POST that got no answer (timeout, broken connection) or a 5xx may still have been carried out."""
    return exc.status is None or exc.status >= 500
