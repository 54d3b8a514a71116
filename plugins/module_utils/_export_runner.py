# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_private_key_export: decide per file, export only what is needed, write atomically.

One run is: check the names and paths -> read the key pairs' metadata (one show, or one listing) ->
fail for missing / not hosted key pairs -> compare each existing file with its key pair's public key
-> export the keys of the files that must change (one export call, or batches of at most 10) ->
stage every new file (temp file, 0600, fsync) -> replace the destinations -> fix attributes.
Everything that can fail for a reason outside our control (API, archive, disk) happens before the
first destination is replaced, so a failed run leaves existing files as they were. Check mode walks
the same path and stops before the export.

Temp files are named by ``_files.temp_prefix``. A run that is killed (SIGKILL, power loss) cannot remove
its own; every later run that is not in check mode removes those of its destinations that ``_files``
finds stale (their process is gone), and warns about them.
"""

from __future__ import annotations

import collections
import errno
import os
import stat

from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    SecretFileError,
    backup_file,
    fsync_dir,
    remove_stale_temp_files,
    stage_secret_file,
    task_file_args,
    task_mode,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (
    KeyMaterialError,
    load_private_key,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    BATCH_EXPORT_MAX,
    NAME_RE,
    key_matches,
    keypair_summary,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsRunner, TaskError

# A private key file is a few KiB; a bigger file is not one of ours and is simply replaced.
MAX_KEY_FILE_BYTES = 1024 * 1024
DEFAULT_MODE = 0o600
DIR_MODE = 0o700

CREATE = 'create'
REPLACE = 'replace'
REWRITE = 'rewrite'
ATTRIBUTES = 'attributes'
NONE = 'none'
WRITE_ACTIONS = (CREATE, REPLACE, REWRITE)

NO_LOG_WARNING = ('huaweicloud.kps.kps_private_key_export: the result of this task holds private keys. '
                  'Set no_log: true on the task so that they are not shown or logged.')


class ExportError(TaskError):
    """A problem the user must fix; ``details`` go into the failed result. Never holds key material."""


# ----- pure helpers (unit tested on their own) ---------------------------------------------------------------

def requested_names(name, names):
    """The key pair names of the task, checked locally: valid, at least one, no duplicates."""
    wanted = [name] if name is not None else list(names or [])
    if not wanted:
        raise ExportError('names must list at least one key pair.')
    invalid = [item for item in wanted if not isinstance(item, str) or not NAME_RE.match(item)]
    if invalid:
        raise ExportError(
            'Invalid key pair name%s: %s. A key pair name has 1 to 64 letters, digits, "_" or "-".'
            % ('s' if len(invalid) > 1 else '', ', '.join(repr(str(item)[:80]) for item in invalid)))
    duplicates = sorted(item for item, count in collections.Counter(wanted).items() if count > 1)
    if duplicates:
        raise ExportError('names lists %s more than once; give each key pair once.' % ', '.join(duplicates))
    return wanted


def chunked(items, size=BATCH_EXPORT_MAX):
    """Split ``items`` into consecutive lists of at most ``size`` (the batch export limit)."""
    items = list(items)
    return [items[start:start + size] for start in range(0, len(items), size)]


def export_calls_needed(count):
    """API calls to export ``count`` keys: none, one export call, or one batch call per 10 keys."""
    if count <= 1:
        return count
    return len(chunked(range(count)))


class FileState(object):
    """What a destination holds now. ``key`` is the parsed private key, or None if there is none."""

    def __init__(self, path, real_path, exists=False, mode=None, key=None, uid=None, gid=None):
        self.path = path
        self.real_path = real_path
        self.exists = exists
        self.mode = mode
        self.key = key
        self.uid = uid
        self.gid = gid

    @property
    def fingerprint(self):
        return self.key.fingerprint if self.key is not None else None

    def __repr__(self):
        return '<FileState %s exists=%s fingerprint=%s>' % (self.path, self.exists, self.fingerprint)


def inspect_file(path):
    """Read a destination: does it exist, its mode and owner, and which private key it holds.

    A symbolic link is followed (its target is what gets written). A file that is not an unencrypted
    private key has ``key=None``. Raises ExportError when the path cannot be used as a key file.
    """
    real_path = os.path.realpath(path) if os.path.islink(path) else path
    try:
        st = os.stat(real_path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return FileState(path, real_path)
        raise ExportError('Cannot check %s: %s.' % (path, exc.strerror or exc))
    if not stat.S_ISREG(st.st_mode):
        raise ExportError('%s exists and is not a regular file; give a file path.' % path)
    try:
        with open(real_path, 'rb') as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except (IOError, OSError) as exc:
        raise ExportError('Cannot read %s to compare it with the key pair: %s.' % (path, exc.strerror or exc))
    key = None
    if len(data) <= MAX_KEY_FILE_BYTES:
        try:
            key = load_private_key(data)
        except KeyMaterialError:
            key = None  # not a key, an encrypted key, garbage: it gets replaced
    return FileState(path, real_path, exists=True, mode=stat.S_IMODE(st.st_mode), key=key,
                     uid=st.st_uid, gid=st.st_gid)


def decide(state, keypair, force=False):
    """The content action for one file: create, replace, rewrite (force) or none."""
    if not state.exists:
        return CREATE
    if state.key is None or not key_matches(keypair, state.key):
        return REPLACE
    return REWRITE if force else NONE


def _octal(mode):
    return None if mode is None else '0%03o' % mode


class ExportRunner(KpsRunner):
    """Runs kps_private_key_export for one ``KpsModule``."""

    # ----- the run --------------------------------------------------------------------------------------

    def _execute(self):
        names = requested_names(self.params['name'], self.params['names'])
        dest = self.params['dest']
        if dest is None:
            return self._return_keys(names)

        # Local problems (paths, mode) fail before any API call.
        directory, paths = self._plan_paths(names, dest)
        missing_dirs = self._missing_dirs(directory)
        self._mode(DEFAULT_MODE)
        keypairs = self._read_keypairs(names)
        states = dict((name, inspect_file(paths[name])) for name in names)
        actions = dict((name, decide(states[name], keypairs[name], self.params['force'])) for name in names)
        to_export = [keypairs[name] for name in names if actions[name] in WRITE_ACTIONS]

        if not self.module.check_mode:
            self._remove_stale_temp_files(states[name].real_path for name in names)
        backups = {}
        if not self.module.check_mode and to_export:
            pems = self._export(to_export)
            self._create_dirs(missing_dirs)
            backups = self._write(dict((kp['name'], pems[kp['name']]) for kp in to_export), states)
        for name in names:
            if actions[name] not in WRITE_ACTIONS:
                if self._set_attributes(states[name], False):
                    actions[name] = ATTRIBUTES
            elif not self.module.check_mode:
                self._set_attributes(states[name], True)

        files = [self._file_result(name, paths[name], keypairs[name], actions[name], backups.get(name))
                 for name in names]
        changed = bool(missing_dirs) or any(item['changed'] for item in files)
        result = dict(changed=changed, files=files, keypairs=[keypair_summary(keypairs[name]) for name in names],
                      msg=self._message(files, len(to_export), missing_dirs))
        if self.module._diff:
            result['diff'] = [self._diff(states[name], keypairs[name], actions[name]) for name in names]
        return result

    def _return_keys(self, names):
        if not self.module.no_log:
            self.module.warn(NO_LOG_WARNING)
        keypairs = self._read_keypairs(names)
        ordered = [keypairs[name] for name in names]
        pems = {} if self.module.check_mode else self._export(ordered)
        result = dict(changed=False, keypairs=[keypair_summary(kp) for kp in ordered])
        if self.params['name'] is not None:
            result['private_key'] = _text(pems.get(names[0]))
        else:
            result['private_keys'] = dict((name, _text(pems.get(name))) for name in names)
        calls = export_calls_needed(len(names))
        result['msg'] = '%s %d private key%s with %d %s call%s.' % (
            'Would export' if self.module.check_mode else 'Exported', len(names), 's' if len(names) > 1 else '',
            calls, 'export' if len(names) == 1 else 'batch export', 's' if calls > 1 else '')
        return result

    # ----- paths and metadata ----------------------------------------------------------------------------

    def _plan_paths(self, names, dest):
        """The directory that must exist and the file path of each key pair."""
        if self.params['name'] is not None:
            if os.path.isdir(dest):
                raise ExportError('dest %s is a directory. With name, dest is the path of the private key file; '
                                  'use names to write <name>.pem files into a directory.' % dest)
            return os.path.dirname(os.path.abspath(dest)), {names[0]: dest}
        if os.path.lexists(dest) and not os.path.isdir(dest):
            raise ExportError('dest %s is not a directory. With names, dest is the directory that gets one '
                              '<name>.pem file per key pair.' % dest)
        return dest, dict((name, os.path.join(dest, name + '.pem')) for name in names)

    def _missing_dirs(self, directory):
        """Directories to create, outermost first; fails unless create_dirs allows creating them."""
        missing = []
        current = os.path.abspath(directory)
        while not os.path.isdir(current):
            if os.path.lexists(current):
                raise ExportError('%s is not a directory, so %s cannot be created.' % (current, directory))
            missing.insert(0, current)
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        if missing and not self.params['create_dirs']:
            raise ExportError('The directory %s does not exist. Create it first, or set create_dirs: true.'
                              % directory)
        return missing

    def _create_dirs(self, missing):
        for path in missing:
            try:
                os.mkdir(path, DIR_MODE)
            except OSError as exc:
                if exc.errno != errno.EEXIST or not os.path.isdir(path):
                    raise ExportError('Cannot create the directory %s: %s.' % (path, exc.strerror or exc))

    def _read_keypairs(self, names):
        """Metadata of each name: one show for a single name, else one listing (cheaper than N shows).

        Fails, before any export, naming every key pair that is missing or has no hosted private key.
        """
        found = self.module.kps.find_keypairs(names)
        missing = [name for name in names if not found.get(name)]
        not_hosted = [name for name in names if found.get(name) and not found[name].get('is_key_protection')]
        if missing or not_hosted:
            problems = []
            if missing:
                problems.append('key pair%s %s %s not exist in KPS' % (
                    's' if len(missing) > 1 else '', ', '.join(missing), 'do' if len(missing) > 1 else 'does'))
            if not_hosted:
                problems.append('KPS hosts no private key for key pair%s %s (import one with '
                                'huaweicloud.kps.kps_private_key_import)'
                                % ('s' if len(not_hosted) > 1 else '', ', '.join(not_hosted)))
            raise ExportError('Cannot export: %s. Nothing was exported or written.' % '; '.join(problems),
                              missing=missing, not_hosted=not_hosted)
        return found

    # ----- export ----------------------------------------------------------------------------------------

    def _export(self, keypairs):
        """{name: PEM bytes}: one export call for one key pair, else batch calls of at most 10."""
        kps = self.module.kps
        if len(keypairs) == 1:
            keypair = keypairs[0]
            pem = kps.export_private_key(keypair['name'])
            try:
                key = load_private_key(pem)
            except KeyMaterialError:
                raise ExportError('KPS returned something that is not an unencrypted private key for key pair %s.'
                                  % keypair['name'])
            if not key_matches(keypair, key):
                raise ExportError('KPS returned a private key for key pair %s whose public key (fingerprint %s) '
                                  'is not the key pair\'s (fingerprint %s). Nothing was written.'
                                  % (keypair['name'], key.fingerprint, keypair.get('fingerprint')))
            return {keypair['name']: _bytes(pem)}
        pems = {}
        for chunk in chunked(keypairs):
            # The client matches every archive entry to its key pair by public key and fails on any surprise.
            for name, pem in kps.batch_export_private_keys(chunk).items():
                pems[name] = _bytes(pem)
        return pems

    # ----- files -----------------------------------------------------------------------------------------

    def _remove_stale_temp_files(self, real_paths):
        """Remove the temp files that killed runs left next to our destinations; warn about them."""
        removed = [path for real_path in real_paths for path in remove_stale_temp_files(real_path)]
        if removed:
            self.module.warn('huaweicloud.kps.kps_private_key_export: removed %d temporary file%s left by an '
                             'interrupted run: %s' % (len(removed), 's' if len(removed) > 1 else '',
                                                      ', '.join(removed)))

    def _mode(self, base_mode):
        """The numeric mode a file should get; symbolic modes apply to ``base_mode``."""
        try:
            return task_mode(self.module, base_mode, DEFAULT_MODE)
        except ValueError as exc:
            raise ExportError(str(exc))

    def _write(self, pems, states):
        """Stage every file, then replace the destinations; returns {name: backup path}.

        Staging (the part that can run out of space or permissions) completes for all files before the
        first destination changes; on any failure the temp files are removed.
        """
        staged = []  # [(name, FileState, StagedFile)]
        try:
            for name in sorted(pems):
                staged.append((name, states[name], self._stage(states[name], pems[name])))
            backups = {}
            if self.params['backup']:
                # Hard links, taken before the first replace, so a failed backup changes nothing.
                for name, state, _item in staged:
                    if state.exists:
                        backups[name] = backup_file(state.real_path)
            for _name, state, item in staged:
                try:
                    item.replace()
                except OSError as exc:
                    raise ExportError('Could not replace %s: %s.' % (state.path, exc.strerror or exc))
        finally:
            for _name, _state, item in staged:
                item.discard()
        for directory in set(os.path.dirname(item.dest) for _name, _state, item in staged):
            fsync_dir(directory)
        return backups

    def _stage(self, state, pem):
        # Written exactly as KPS returned it, plus the final newline that some ssh versions insist on.
        content = pem if pem.endswith(b'\n') else pem + b'\n'
        try:
            item = stage_secret_file(state.path, content, self._mode(DEFAULT_MODE))
        except SecretFileError as exc:
            raise ExportError(exc.msg + '.')  # this module's messages end with a full stop
        self.module.add_cleanup_file(item.tmp)
        return item

    def _file_args(self, state, base_mode):
        return task_file_args(self.module, state.real_path, self._mode(base_mode), state.uid, state.gid)

    def _set_attributes(self, state, written):
        """Apply mode/owner/group/...; in check mode only report whether they differ."""
        base_mode = DEFAULT_MODE if written else state.mode
        return self.module.set_fs_attributes_if_different(self._file_args(state, base_mode), written)

    # ----- result ----------------------------------------------------------------------------------------

    def _file_result(self, name, path, keypair, action, backup):
        return dict(name=name, path=path, fingerprint=keypair.get('fingerprint'), action=action,
                    changed=action != NONE, backup_file=backup)

    def _diff(self, state, keypair, action):
        before = dict(exists=state.exists, mode=_octal(state.mode), fingerprint=state.fingerprint)
        if action == NONE:
            after = dict(before)
        else:
            base = state.mode if action == ATTRIBUTES else DEFAULT_MODE
            after = dict(exists=True, mode=_octal(self._mode(base)), fingerprint=keypair.get('fingerprint'))
        return dict(before=before, after=after, before_header=state.path, after_header=state.path)

    def _message(self, files, exported, missing_dirs):
        check = self.module.check_mode
        written = sum(1 for item in files if item['action'] in WRITE_ACTIONS)
        fixed = sum(1 for item in files if item['action'] == ATTRIBUTES)
        unchanged = len(files) - written - fixed
        parts = []
        if missing_dirs:
            parts.append('%s %s' % ('would create' if check else 'created', ', '.join(missing_dirs)))
        if written:
            calls = export_calls_needed(exported)
            parts.append('%s %d of %d private key file%s (%d %s call%s)' % (
                'would write' if check else 'wrote', written, len(files), 's' if len(files) > 1 else '',
                calls, 'export' if exported == 1 else 'batch export', 's' if calls > 1 else ''))
        if fixed:
            parts.append('%s the mode or owner of %d file%s' % (
                'would fix' if check else 'fixed', fixed, 's' if fixed > 1 else ''))
        if unchanged:
            parts.append('%d already up to date' % unchanged)
        if not written and not fixed and not missing_dirs:
            return 'All %d private key file%s already up to date; nothing exported.' % (
                len(files), 's' if len(files) > 1 else '')
        text = '; '.join(parts)
        return text[:1].upper() + text[1:] + '.'


def _bytes(pem):
    return pem if isinstance(pem, bytes) else pem.encode('utf-8')


def _text(pem):
    return pem.decode('utf-8', 'replace') if isinstance(pem, bytes) else pem
