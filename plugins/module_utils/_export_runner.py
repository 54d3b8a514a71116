# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_private_key_export: decide per file, export only what is needed, write atomically.

Files and returned values hold the exported key serialised by us in the asked ``format`` (see
``_keys.PrivateKey.private_text``), never the bytes KPS sent.

One run is, in ``plan()`` (see ``_runner``): check the names, paths, mode, owner and group -> open the
destination directory and read each existing file through the write core (``_files``: no link followed)
-> read the key pairs' metadata (one show, or one listing) -> fail for missing / not hosted key pairs ->
compare each existing file with its key pair's public key (and check that an RSA key's private numbers fit
together), and probe the attributes of the files whose content stays; then in ``apply()``, which check mode
never reaches: create missing directories and check that the directory is writable -> export the keys of
the files that must change (one export call, or batches of at most 10) -> stage every new file (0600 temp
file with its final owner and group, fsync, final mode) -> replace the destinations -> fix attributes.
Everything that can fail for a reason outside our control (API, archive, disk) happens before the
first destination is replaced, so a failed run leaves existing files as they were; a run that fails
after it changed something lists those paths in ``changed_files``.

Temp files are named by ``_files.temp_prefix``. A run that is killed (SIGKILL, power loss) cannot remove
its own; every later run that is not in check mode removes those of its destinations that ``_files``
finds stale (their process is gone), and warns about them.
"""

from __future__ import annotations

import collections
import os
import stat
from typing import TYPE_CHECKING, Any, Iterable

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    DEFAULT_MODE,
    MAX_KEY_BYTES,
    SecretFileError,
    attributes_differ,
    hard_linked,
    missing_dirs,
    octal,
    open_dir,
    other_file_args,
    task_mode,
    task_owner,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import key_format, openssh_rsa_public_key
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (
    KPS_FORMAT,
    NO_TRADITIONAL_PEM,
    OPENSSH,
    PRIVATE_FORMATS,
    TRADITIONAL,
    KeyMaterialError,
    PassphraseRequiredError,
    WrongPassphraseError,
    fingerprint,
    load_private_key,
    openssh_passphrase_decrypts,
    passphrase_problem,
    traditional_pem_error,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import (
    BATCH_EXPORT_MAX,
    key_matches,
    keypair_summary,
    keypairs_without_format,
    unavailable,
    unavailable_problems,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule, KpsRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import check_names
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan

if TYPE_CHECKING:  # annotations only
    from ansible_collections.huaweicloud.kps.plugins.module_utils._files import Directory, StagedFile
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import PrivateKey

# With names and dest each key goes to <name>.pem, and a file name has at most 255 bytes.
FILE_NAME_MAX = 255
PEM_SUFFIX = '.pem'
# A private key file is a few KiB; a bigger file is not one of ours and is simply replaced.
DIR_MODE = 0o700

CREATE = 'create'
REPLACE = 'replace'
REWRITE = 'rewrite'
REFORMAT = 'reformat'
ATTRIBUTES = 'attributes'
NONE = 'none'
WRITE_ACTIONS = (CREATE, REPLACE, REWRITE, REFORMAT)

# format=kps (KPS_FORMAT): the key in the encoding KPS returned it in (PKCS#1, SEC1 or PKCS#8 PEM), serialised by us.
FORMATS = PRIVATE_FORMATS + (KPS_FORMAT,)
DEFAULT_FORMAT = 'openssh'

# What a file's encryption is, in the diff (``FileState.encryption``): no file or no key (None), an unencrypted
# key, a key the task's passphrase decrypts, or an encrypted key it does not (or the task has no passphrase).
UNENCRYPTED = 'unencrypted'
PASSPHRASE = 'passphrase'
OTHER_PASSPHRASE = 'another passphrase'
# The passphrase decrypts the file, but its header names another public key than the key inside (cryptography
# refuses such a file as it refuses a wrong passphrase).
HEADER_MISMATCH = 'passphrase, but its header does not match the key inside'

NO_LOG_WARNING = ('huaweicloud.kps.kps_private_key_export: the result of this task holds private keys. '
                  'Set no_log: true on the task so that they are not shown or logged.')


class ExportError(KpsError):
    """A problem the user must fix; ``details`` go into the failed result. Never holds key material."""


# ----- pure helpers (unit tested on their own) ---------------------------------------------------------------

def requested_names(name: str | None, names: list[str] | None, dest: str | None = None) -> list[str]:
    """The key pair names of the task, checked locally: valid, at least one, no duplicates.

    With ``names`` and ``dest`` each name must also fit a file name as ``<name>.pem``.
    """
    wanted = [name] if name is not None else list(names or [])
    if not wanted:
        raise ExportError('names must list at least one key pair.')
    check_names(wanted)
    duplicates = sorted(item for item, count in collections.Counter(wanted).items() if count > 1)
    if duplicates:
        raise ExportError('names lists %s more than once; give each key pair once.' % ', '.join(duplicates))
    too_long = [item for item in wanted if len(item) > FILE_NAME_MAX - len(PEM_SUFFIX)] if name is None and dest else []
    if too_long:
        count = len(too_long)
        raise ExportError('Key pair %s %s too long for a file name: with names and dest each key is written to '
                          '<name>%s, and a file name has at most %d characters. Export %s with name and a dest file '
                          'path instead.' % (plural(count, 'name'), ', '.join(item[:40] + '...' for item in too_long),
                                             PEM_SUFFIX, FILE_NAME_MAX, plural(count, 'it', 'them')))
    return wanted


def chunked(items: Iterable[Any], size: int = BATCH_EXPORT_MAX) -> list[list[Any]]:
    """Split ``items`` into consecutive lists of at most ``size`` (the batch export limit)."""
    items = list(items)
    return [items[start:start + size] for start in range(0, len(items), size)]


def export_calls_needed(count: int) -> int:
    """API calls to export ``count`` keys: none, one export call, or one batch call per 10 keys."""
    if count <= 1:
        return count
    return len(chunked(range(count)))


class FileState:
    """What a destination holds now. ``key`` is the parsed private key, or None if there is none.

    ``name``: the file's name in its directory. ``symlink``: a link is there; it is replaced, never followed.
    """

    def __init__(self, path: str, name: str, exists: bool = False, mode: int | None = None,
                 key: PrivateKey | OpenSshRsaFileKey | None = None, uid: int | None = None, gid: int | None = None,
                 symlink: bool = False, st: os.stat_result | None = None, encryption: str | None = None) -> None:
        self.path = path
        self.name = name
        self.exists = exists
        self.mode = mode
        self.key = key
        self.uid = uid
        self.gid = gid
        self.symlink = symlink
        self.st = st  # the lstat result of the file inspected: only it gets its attributes fixed
        self.encryption = encryption  # UNENCRYPTED, PASSPHRASE, OTHER_PASSPHRASE or None (no key)

    @property
    def fingerprint(self) -> str | None:
        return self.key.fingerprint if self.key is not None else None

    def __repr__(self) -> str:
        return '<FileState %s exists=%s fingerprint=%s>' % (self.path, self.exists, self.fingerprint)


def damaged(key: PrivateKey) -> bool:
    """Whether an RSA private key's numbers do not fit together (say, broken CRT parameters).

    Loading skips OpenSSL's full check (about 60 ms per key, see ``_keys.PrivateKey.check``); these few
    multiplications find a damaged file without it. Primality is not tested: a file that held a key of ours
    only gets damaged, it does not get other primes.
    """
    if key.key_type != 'ssh-rsa':
        return False
    numbers = key._key.private_numbers()  # pylint: disable=protected-access
    p, q, d, e = numbers.p, numbers.q, numbers.d, numbers.public_numbers.e
    return not (p > 1 and q > 1 and p * q == numbers.public_numbers.n
                and numbers.dmp1 == d % (p - 1) and numbers.dmq1 == d % (q - 1)
                and numbers.iqmp * q % p == 1 and e * numbers.dmp1 % (p - 1) == 1)


class OpenSshRsaFileKey:
    """What ``decide`` and the result need of a file holding an unencrypted OpenSSH-format RSA key, read with the
    standard library (``_host_keys.openssh_rsa_public_key``), so that an unchanged export does not import
    cryptography (about 30 ms) nor have it check the key (30 to 60 ms)."""

    key_type = 'ssh-rsa'
    source_format = OPENSSH
    was_encrypted = False

    def __init__(self, public_key: str) -> None:
        self.public_key = public_key
        self.fingerprint = fingerprint(public_key)

    def __repr__(self) -> str:
        return '<OpenSshRsaFileKey %s>' % self.fingerprint


def file_key(data: bytes, passphrase: str | None = None) -> tuple[PrivateKey | OpenSshRsaFileKey | None, str | None]:
    """(key, encryption) of a file's ``data``: key is None when the file holds no undamaged private key that is
    unencrypted or that ``passphrase`` decrypts; encryption is UNENCRYPTED, PASSPHRASE, OTHER_PASSPHRASE,
    HEADER_MISMATCH or None.

    An unencrypted OpenSSH-format RSA key (the default format) is read with the standard library, which checks
    every private number (so ``damaged`` holds too); anything it does not vouch for (an encrypted file, a
    damaged key) is loaded with cryptography, so the outcome is the same either way.
    """
    if key_format(data) == OPENSSH:
        public_key = openssh_rsa_public_key(data)
        if isinstance(public_key, str):
            return OpenSshRsaFileKey(public_key), UNENCRYPTED
    try:
        key = load_private_key(data, passphrase)
    except (PassphraseRequiredError, WrongPassphraseError):
        # Replaced either way; the diff says why, blaming the passphrase only when it is wrong.
        if passphrase and openssh_passphrase_decrypts(data, passphrase):
            return None, HEADER_MISMATCH
        return None, OTHER_PASSPHRASE
    except KeyMaterialError:
        return None, None  # not a key, garbage: it gets replaced
    if damaged(key):
        return None, None
    return key, PASSPHRASE if key.was_encrypted else UNENCRYPTED


def inspect_file(folder: Directory | None, name: str, path: str, passphrase: str | None = None) -> FileState:
    """Read the destination ``name`` of the open ``folder`` (``_files.Directory``; None: it does not exist yet).

    A symbolic link is not read through: the state says ``symlink`` and the link gets replaced. A file that
    is not an undamaged private key, unencrypted or decrypted by ``passphrase``, has ``key=None``. Raises
    ExportError when the path cannot be used as a key file.
    """
    if folder is None:
        return FileState(path, name)
    st = folder.lstat(name)
    if st is None:
        return FileState(path, name)
    if stat.S_ISLNK(st.st_mode):
        return FileState(path, name, exists=True, symlink=True)
    if not stat.S_ISREG(st.st_mode):
        raise ExportError('%s exists and is not a regular file; give a file path.' % path)
    data = folder.read(name, MAX_KEY_BYTES, expect=st)
    if data is None:  # became a link or went away since the lstat
        return FileState(path, name, exists=True, symlink=True)
    key, encryption = file_key(data, passphrase) if len(data) <= MAX_KEY_BYTES else (None, None)
    if key is not None and hard_linked(st):
        key = None  # a file with other names (not ours alone): replaced by a new file
    return FileState(path, name, exists=True, mode=stat.S_IMODE(st.st_mode), key=key,
                     uid=st.st_uid, gid=st.st_gid, st=st, encryption=encryption)


def decide(state: FileState, keypair: dict[str, Any], force: bool = False, fmt: str = DEFAULT_FORMAT,
           encrypt: bool = False) -> str:
    """The content action for one file: create, replace, reformat, rewrite (force) or none.

    A file with the right key in another encoding than ``fmt``, or unencrypted when ``encrypt`` (the task has a
    passphrase), is reformatted; with format=kps any encoding of the right key is kept (which one KPS returns
    is only known after an export).
    """
    if not state.exists:
        return CREATE
    if state.key is None or not key_matches(keypair, state.key):
        return REPLACE
    if (fmt != KPS_FORMAT and state.key.source_format != fmt) or state.key.was_encrypted != encrypt:
        return REFORMAT
    return REWRITE if force else NONE


class ExportRunner(KpsRunner):
    """Runs kps_private_key_export for one ``KpsModule``.

    Without ``dest`` the plan changes nothing but has ``work``: the export, whose keys go into the result. With
    ``dest`` it decides each file's action; its ``work`` is removing stale temp files of killed runs.
    """

    def __init__(self, module: KpsModule) -> None:
        super().__init__(module)
        self.changed_files: list[str] = []  # paths created or replaced so far: a failed result lists them
        self._folder: Directory | None = None  # the destination directory once it exists
        self._uid: int | None = None
        self._gid: int | None = None
        # The key pairs that do not exist or have no hosted private key (skipped with fail_on_missing=false; in
        # check mode otherwise assumed to be created by an earlier task): the result reports both lists.
        self.unavailable: dict[str, list[str]] = dict(missing=[], not_hosted=[])

    def _close(self) -> None:
        if self._folder is not None:
            self._folder.close()

    def _failure(self, exc: KpsError) -> dict[str, Any]:
        if not self.changed_files:
            return exc.result()
        # A run that fails after it changed something says what it changed.
        return dict(exc.result(changed=True, changed_files=list(self.changed_files)),
                    msg='%s Changed before the failure: %s.' % (_sentence(exc.msg), ', '.join(self.changed_files)))

    # ----- plan: read and decide, nothing written or exported ----------------------------------------------

    def plan(self) -> Plan:
        dest, passphrase = self.params['dest'], self.params['passphrase']
        names = requested_names(self.params['name'], self.params['names'], dest)
        problem = passphrase_problem(passphrase, self.params['format'])
        if problem is None and passphrase is not None and dest is None:
            problem = ('passphrase encrypts the files at dest; without dest the keys are returned, unencrypted. '
                       'Give dest, or leave passphrase out.')
        if problem:
            raise ExportError('%s Nothing was exported or written.' % problem)
        if dest is None:
            keypairs = self._read_keypairs(names)  # fails for what cannot be exported: then no private key is returned
            names = [name for name in names if name in keypairs]
            if names and not self.module.no_log:
                self.module.warn(NO_LOG_WARNING)
            return Plan(work=bool(names), dest=None, names=names, keypairs=keypairs, texts={})

        # Local problems (paths, mode, owner, group, links) fail before any API call.
        directory, paths = self._plan_paths(names, dest)
        self._uid, self._gid = task_owner(self.module)
        missing = self._missing_dirs(directory)
        task_mode(self.module, DEFAULT_MODE)  # a bad mode fails here
        if not missing:
            self._folder = self._open_dir(directory)
        states = dict((name, inspect_file(self._folder, os.path.basename(paths[name]), paths[name], passphrase))
                      for name in names)
        keypairs = self._read_keypairs(names)
        names = [name for name in names if name in keypairs]
        if not names:
            missing = []  # every key pair was skipped: no directory for nothing
        actions = dict((name, self._decide(states[name], keypairs[name])) for name in names)
        file_names = [states[name].name for name in names]
        stale = self._folder.stale_temp_files(*file_names) if self._folder is not None else []
        return Plan(changed=bool(missing) or any(action != NONE for action in actions.values()), work=bool(stale),
                    dest=dest, directory=directory, missing=missing, names=names, states=states,
                    keypairs=keypairs, actions=actions, file_names=file_names, written={}, backups={})

    def _decide(self, state: FileState, keypair: dict[str, Any]) -> str:
        """The file's action: ``decide``'s, or ATTRIBUTES for a file whose content stays but whose mode, owner,
        group, SELinux context or file attributes differ (probed, nothing set)."""
        action = decide(state, keypair, self.params['force'], self.params['format'],
                        self.params['passphrase'] is not None)
        if action != NONE:
            return action
        mode = task_mode(self.module, state.mode)
        if (self._folder.set_attributes(state.name, mode, self._uid, self._gid, check=True, expect=state.st)
                or attributes_differ(self.module, self._folder.join(state.name))):
            return ATTRIBUTES
        return NONE

    def _plan_paths(self, names: list[str], dest: str) -> tuple[str, dict[str, str]]:
        """The directory that must exist and the file path of each key pair."""
        if self.params['name'] is not None:
            # A link to a directory is no directory here: like any link at the destination, it gets replaced.
            if (os.path.isdir(dest) and not os.path.islink(dest)) or dest.endswith('/'):
                raise ExportError('dest %s is a directory. With name, dest is the path of the private key file; '
                                  'use names to write <name>.pem files into a directory.' % dest)
            return os.path.dirname(os.path.abspath(dest)), {names[0]: dest}
        if os.path.lexists(dest) and not os.path.isdir(dest):
            raise ExportError('dest %s is not a directory. With names, dest is the directory that gets one '
                              '<name>.pem file per key pair.' % dest)
        return dest, dict((name, os.path.join(dest, name + '.pem')) for name in names)

    def _missing_dirs(self, directory: str) -> list[str]:
        """Directories to create, outermost first; fails unless create_dirs allows creating them."""
        missing = missing_dirs(directory)
        if missing and not self.params['create_dirs']:
            raise ExportError('The directory %s does not exist. Create it first, or set create_dirs: true.'
                              % directory)
        return missing

    def _open_dir(self, directory: str, create: bool = False) -> Directory:
        folder = open_dir(directory, create=create, mode=DIR_MODE)
        self.changed_files.extend(folder.created)
        return folder

    def _read_keypairs(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """Metadata of each name: one show for a single name, else one listing (cheaper than N shows).

        Fails, before any export, naming every key pair that is missing, has no hosted private key, or has
        no encoding in the asked format. With fail_on_missing=false the first two are left out of the result
        (``unavailable``) with a warning, in check mode too. Otherwise check mode only warns about them: an earlier
        task of the play (kps_private_key_import) may create them in a real run, so a first run in check mode
        works; a missing key pair then counts as one whose key is in no file yet.
        """
        found = self.module.kps.find_keypairs(names)
        missing, not_hosted = unavailable(names, found)
        unformattable = keypairs_without_format([found[name] for name in names if found.get(name)],
                                                self.params['format'])
        if unformattable:
            raise ExportError('%s Nothing was exported or written.' % traditional_pem_error(unformattable))
        if missing or not_hosted:
            problems = unavailable_problems(missing, not_hosted)
            self.unavailable = dict(missing=missing, not_hosted=not_hosted)
            if not self.params['fail_on_missing']:
                self.module.warn('huaweicloud.kps.kps_private_key_export: %s. fail_on_missing is false: %s skipped.'
                                 % ('; '.join(problems), plural(len(missing) + len(not_hosted), 'it is', 'they are')))
                return dict((name, found[name]) for name in names if name not in missing + not_hosted)
            if self.module.check_mode:
                self.module.warn('huaweicloud.kps.kps_private_key_export: %s. Check mode goes on as if an earlier '
                                 'task of the play had fixed that; a real run fails unless one does.'
                                 % '; '.join(problems))
                return dict((name, found.get(name) or dict(name=name)) for name in names)
            raise ExportError('Cannot export: %s. Nothing was exported or written.' % '; '.join(problems),
                              missing=missing, not_hosted=not_hosted)
        return found

    # ----- apply: never in check mode ---------------------------------------------------------------------

    def apply(self, plan: Plan) -> None:
        if plan.dest is None:
            keys = self._export([plan.keypairs[name] for name in plan.names])
            plan.texts = dict((name, key.private_text(self._format_of(key))) for name, key in keys.items())
            return
        if plan.work:
            self._remove_stale_temp_files(plan.file_names)
        to_export = [plan.keypairs[name] for name in plan.names if plan.actions[name] in WRITE_ACTIONS]
        if to_export:
            if self._folder is None:
                self._folder = self._open_dir(plan.directory, create=True)
            self._check_writable(plan.states[to_export[0]['name']])  # before any private key is downloaded
            keys = self._export(to_export)
            plan.written = dict((name, self._format_of(key)) for name, key in keys.items())
            passphrase = self.params['passphrase']
            plan.backups = self._write(dict((name, _bytes(key.private_text(plan.written[name], passphrase)))
                                            for name, key in keys.items()), plan.states)
        for name in plan.names:
            self._set_attributes(plan.states[name], plan.actions[name])

    def _export(self, keypairs: list[dict[str, Any]]) -> dict[str, PrivateKey]:
        """{name: parsed PrivateKey} with every key pair's key: one export call for one, else batch calls of at
        most 10.

        The client checks each key against its key pair's public key, falls back to one export call per key
        pair for a batch archive it cannot match (with a warning), and raises rather than leave a key out.
        Parsing its PEM again here costs well under a millisecond per key.
        """
        pems, warnings = self.module.kps.export_private_keys(keypairs)
        for text in warnings:
            self.module.warn('huaweicloud.kps.kps_private_key_export: %s' % text)
        return dict((name, load_private_key(pem)) for name, pem in pems.items())

    def _format_of(self, key: PrivateKey) -> str:
        """The encoding to write ``key`` (as exported) in; fails for traditional PEM of an ED25519 key."""
        fmt = self.params['format']
        if fmt == KPS_FORMAT:
            return key.source_format
        if fmt == TRADITIONAL and key.key_type in NO_TRADITIONAL_PEM:
            raise ExportError('%s Nothing was written.' % traditional_pem_error())
        return fmt

    def _remove_stale_temp_files(self, file_names: list[str]) -> None:
        """Remove the temp files that killed runs left next to our destinations; warn about them."""
        removed = self._folder.remove_stale_temp_files(*file_names)
        if removed:
            self.module.warn('huaweicloud.kps.kps_private_key_export: removed %d %s left by an interrupted run: %s'
                             % (len(removed), plural(len(removed), 'temporary file'), ', '.join(removed)))

    def _check_writable(self, state: FileState) -> None:
        try:
            self._folder.check_writable(state.name)
        except SecretFileError as exc:
            raise ExportError('%s Nothing was exported.' % exc.msg)

    def _write(self, pems: dict[str, bytes], states: dict[str, FileState]) -> dict[str, str | None]:
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
                # Hard links (or copies keeping owner, group and mode), taken before the first replace.
                for name, state, _item in staged:
                    if state.exists and not state.symlink:
                        backups[name] = self._folder.backup(state.name)
            for _name, state, item in staged:
                item.replace()
                self.changed_files.append(state.path)
        finally:
            for _name, _state, item in staged:
                item.discard()
            self._folder.fsync()
        return backups

    def _stage(self, state: FileState, content: bytes) -> StagedFile:
        return self._folder.stage(state.name, content, task_mode(self.module, DEFAULT_MODE), self._uid, self._gid)

    def _set_attributes(self, state: FileState, action: str) -> None:
        """Fix the mode, owner and group of an ATTRIBUTES file (a written one got them when staged), then give
        every changed file the task's SELinux context and file attributes."""
        if action == NONE:
            return
        changed = action != ATTRIBUTES or self._folder.set_attributes(
            state.name, task_mode(self.module, state.mode), self._uid, self._gid, expect=state.st)
        self.module.set_fs_attributes_if_different(other_file_args(self.module, self._folder.join(state.name)),
                                                   changed)

    # ----- result and diff --------------------------------------------------------------------------------

    def result(self, plan: Plan) -> dict[str, Any]:
        if plan.dest is None:
            result = self._keys_result(plan)
        else:
            files = [self._file_result(plan, name) for name in plan.names]
            result = dict(files=files, keypairs=[keypair_summary(plan.keypairs[name]) for name in plan.names],
                          msg=self._message(plan, files))
        result.update(self.unavailable)
        if not self.params['fail_on_missing'] and (self.unavailable['missing'] or self.unavailable['not_hosted']):
            result['msg'] += ' Skipped: %s.' % '; '.join(unavailable_problems(**self.unavailable))
        return result

    def diff(self, plan: Plan) -> list[dict[str, Any]] | None:
        """One diff per file (none without dest)."""
        if plan.dest is None:
            return None
        return [self._file_diff(plan, name) for name in plan.names]

    def _keys_result(self, plan: Plan) -> dict[str, Any]:
        """The exported keys in the asked format (None in check mode), and the key pairs."""
        names, texts = plan.names, plan.texts
        result = dict(keypairs=[keypair_summary(plan.keypairs[name]) for name in names])
        if self.params['name'] is not None:
            result['private_key'] = texts.get(names[0]) if names else None
        else:
            result['private_keys'] = dict((name, texts.get(name)) for name in names)
        if not names:
            result['msg'] = 'Nothing exported.'
            return result
        calls = export_calls_needed(len(names))
        result['msg'] = '%s %d %s with %d %s %s.' % (
            plan.say('Would export', 'Exported'), len(names), plural(len(names), 'private key'),
            calls, 'export' if len(names) == 1 else 'batch export', plural(calls, 'call'))
        return result

    def _format_after(self, plan: Plan, name: str) -> str | None:
        """The encoding the file holds after the run: None if unknown (check mode, format=kps)."""
        state = plan.states[name]
        if plan.actions[name] not in WRITE_ACTIONS:
            return state.key.source_format if state.key is not None else None
        if name in plan.written:
            return plan.written[name]
        return None if self.params['format'] == KPS_FORMAT else self.params['format']

    def _file_result(self, plan: Plan, name: str) -> dict[str, Any]:
        action = plan.actions[name]
        return dict(name=name, path=plan.states[name].path, fingerprint=plan.keypairs[name].get('fingerprint'),
                    action=action, changed=action != NONE, backup_file=plan.backups.get(name),
                    format=self._format_after(plan, name))

    def _file_diff(self, plan: Plan, name: str) -> dict[str, Any]:
        state, action = plan.states[name], plan.actions[name]
        before = dict(exists=state.exists, mode=octal(state.mode), fingerprint=state.fingerprint,
                      format=state.key.source_format if state.key is not None else None)
        if action == NONE:
            after = dict(before)
        else:
            base = state.mode if action == ATTRIBUTES else DEFAULT_MODE
            after = dict(exists=True, mode=octal(task_mode(self.module, base)),
                         fingerprint=plan.keypairs[name].get('fingerprint'), format=self._format_after(plan, name))
        if self.params['passphrase'] is not None or state.encryption == OTHER_PASSPHRASE:
            # Why a file is rewritten for its encryption: never the passphrase, only whether it decrypts the file.
            before['encryption'] = state.encryption
            after['encryption'] = (state.encryption if action in (NONE, ATTRIBUTES)
                                   else PASSPHRASE if self.params['passphrase'] is not None else UNENCRYPTED)
        return dict(before=before, after=after, before_header=state.path, after_header=state.path)

    def _message(self, plan: Plan, files: list[dict[str, Any]]) -> str:
        reformatted = sum(1 for item in files if item['action'] == REFORMAT)
        written = sum(1 for item in files if item['action'] in WRITE_ACTIONS) - reformatted
        fixed = sum(1 for item in files if item['action'] == ATTRIBUTES)
        unchanged = len(files) - written - reformatted - fixed
        parts = []
        if plan.missing:
            parts.append('%s %s' % (plan.say('would create', 'created'), ', '.join(plan.missing)))
        if written or reformatted:
            done = []
            if written:
                done.append('%s %d of %d %s' % (plan.say('would write', 'wrote'), written, len(files),
                                                plural(len(files), 'private key file')))
            if reformatted:
                done.append('%s %d %s holding the right key to the %s format%s' % (
                    plan.say('would rewrite', 'rewrote'), reformatted, plural(reformatted, 'file'),
                    self.params['format'], ' with the passphrase' if self.params['passphrase'] is not None else ''))
            exported = written + reformatted
            calls = export_calls_needed(exported)
            parts.append('%s (%d %s %s)' % (
                ', '.join(done), calls, 'export' if exported == 1 else 'batch export', plural(calls, 'call')))
        if fixed:
            parts.append('%s the mode or owner of %d %s' % (plan.say('would fix', 'fixed'), fixed, plural(fixed, 'file')))
        if unchanged:
            parts.append('%d already up to date' % unchanged)
        if not files:
            return 'No private key file to write; nothing exported.'
        if not written and not reformatted and not fixed and not plan.missing:
            return 'All %d %s already up to date; nothing exported.' % (
                len(files), plural(len(files), 'private key file'))
        text = '; '.join(parts)
        return text[:1].upper() + text[1:] + '.'


def _sentence(text: str) -> str:
    return text if text.endswith('.') else text + '.'


def _bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode('utf-8')
