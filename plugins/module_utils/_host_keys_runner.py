# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_host_keys on one managed host: inspect, plan (``_host_keys``), then write in one go.

Every user's ``~/.ssh`` is opened relative to the home directory without following a link (a link fails the
task, naming the path, before anything is written), and every file in it is read without following links, and
only when its content may go to that user (``_files.Directory.read`` with ``reader``): the user owns it, or could
read it himself and, if it has other hard links, owns it. Otherwise a user could rename or hard-link a root-only
file to ``~/.ssh/authorized_keys`` and be handed a copy of it in the rewritten file.
Files are written through the write core in ``_files``. Results, warnings and diffs hold paths, modes, owners
and public keys, never a private key.

Public keys of the key files are derived here, on the host: with cryptography where it is importable, else
with ``ssh-keygen -y``, else they are "unknown" (and such a file is rewritten when the task has its key). A
passphrase-protected OpenSSH-format file shows its public key in its unencrypted header (read with the standard
library); with the entry's passphrase it is also decrypted (cryptography and bcrypt, which an entry with a
passphrase needs on the host: checked before anything is read), and the decrypted key must match that header.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from typing import Any, Callable

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    MAX_AUTHORIZED_KEYS_BYTES,
    MAX_KEY_BYTES,
    Directory,
    NotReadableForError,
    group_name,
    missing_dirs,
    octal,
    open_dir,
    parse_mode,
    resolve_gid,
    user_name,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import (
    ANY_FORMAT,
    ENCRYPTED,
    HEADER_MISMATCH,
    MAX_KDF_ROUNDS,
    NOT_ENCRYPTED,
    NOT_OPENSSH_RSA,
    OTHER_PASSPHRASE,
    TOO_MANY_ROUNDS,
    WITH_PASSPHRASE,
    HostKeysError,
    authorized_lines,
    check_paths,
    encryption_wanted,
    kept_attributes,
    key_file_action,
    key_format,
    marker,
    normalise_keys,
    openssh_comment,
    openssh_rsa_public_key,
    public_blob,
    split_lines,
    with_openssh_comment,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import openssh_header
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan, Runner

# Key file actions that need the private key from KPS.
NEEDS_KEY = ('create', 'replace', 'convert')
# In check mode, the authorized_keys line of a key pair that KPS does not have yet.
UNKNOWN_KEY = '(public key of a key pair not in KPS yet)'


class Account:
    def __init__(self, entry: pwd.struct_passwd) -> None:
        self.name, self.uid, self.gid, self.home = entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir
        self._groups: list[int] | None = None

    @property
    def ssh_dir(self) -> str:
        return os.path.join(self.home, '.ssh')

    @property
    def reader(self) -> tuple[int, list[int]]:
        """(uid, gids) of this user, for ``Directory.read``: what he could read himself (groups looked up once)."""
        if self._groups is None:
            try:
                self._groups = os.getgrouplist(self.name, self.gid)
            except (KeyError, OSError):
                self._groups = [self.gid]
        return self.uid, self._groups


def derive_public_key(data: bytes, run_command: Callable[..., Any] | None = None) -> str | None:
    """'<type> <base64>' of the private key ``data`` (bytes), or None when it cannot be derived here.

    An OpenSSH-format RSA key (the role's default) with the standard library (``openssh_rsa_public_key``: fast and
    checked), others with cryptography where it is importable (imported only then: it costs about 0.1 s), else
    with ssh-keygen.
    """
    derived = openssh_rsa_public_key(data)
    if derived is not NOT_OPENSSH_RSA:
        return derived
    try:
        from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (  # pylint: disable=import-outside-toplevel
            HAS_CRYPTOGRAPHY,
            KeyMaterialError,
            load_private_key,
        )
    except ImportError:  # pragma: no cover - _keys guards its own cryptography import
        HAS_CRYPTOGRAPHY = False
    if HAS_CRYPTOGRAPHY:
        try:
            return public_blob(load_private_key(data).public_key)
        except KeyMaterialError:
            return None
    return _ssh_keygen_public_key(data, run_command)


def decrypted_public_key(data: bytes, passphrase: str) -> str | None:
    """'<type> <base64>' of the passphrase-protected private key ``data`` decrypted with ``passphrase``; None when the
    passphrase does not decrypt it (or it is damaged, or in an encryption this host's cryptography lacks)."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (  # pylint: disable=import-outside-toplevel
        KeyMaterialError,
        load_private_key,
    )
    try:
        return public_blob(load_private_key(data, passphrase).public_key)
    except KeyMaterialError:
        return None


def passphrase_decrypts(data: bytes, passphrase: str) -> bool:
    """Whether ``passphrase`` decrypts the passphrase-protected OpenSSH-format key ``data`` (its check integers);
    False also when this cannot be told."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (  # pylint: disable=import-outside-toplevel
        openssh_passphrase_decrypts,
    )
    return openssh_passphrase_decrypts(data, passphrase) is True


def passphrase_requirements_problem(names: list[str]) -> str | None:
    """Why this host cannot install the key pairs ``names`` with a passphrase (None: it can)."""
    if not names:
        return None  # cryptography is not even imported
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (  # pylint: disable=import-outside-toplevel
        missing_for_passphrases,
    )
    missing = missing_for_passphrases()
    if not missing:
        return None
    return ('private_key.passphrase (key pair %s) needs the Python libraries cryptography and bcrypt on this host, for '
            'the Python that runs the module (%s), which lacks %s. Install them (Debian, Ubuntu: apt install '
            'python3-cryptography python3-bcrypt; Fedora, RHEL: dnf install python3-cryptography python3-bcrypt; or '
            'pip install cryptography bcrypt), or leave passphrase out. Nothing was read or changed on this host.'
            % (', '.join(names), sys.executable, ' and '.join(missing)))


def _ssh_keygen_public_key(data: bytes, run_command: Callable[..., Any] | None) -> str | None:
    # The key goes to ssh-keygen through its standard input, never a path (-P '' so that an encrypted key
    # fails instead of prompting).
    if run_command is None:
        return None
    try:
        rc, out, _err = run_command(['ssh-keygen', '-y', '-P', '', '-f', '/dev/stdin'], data=data,
                                    binary_data=True, check_rc=False)
    except OSError:
        return None
    return public_blob(out) if rc == 0 else None


class HostKeysRunner(Runner):
    """Runs kps_host_keys for one AnsibleModule."""

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        self.check_mode = module.check_mode
        self.report_mode = self.params['private_keys'] is None
        self.done: list[dict[str, str]] = []  # what a real run changed so far (a failure lists it)
        self._dirs: dict[str, Directory | None] = {}  # path -> the _files.Directory opened there, None while it does not exist
        self._accounts: dict[str, Account | None] = {}

    def _failure(self, exc: KpsError) -> dict[str, Any]:
        return exc.result(changed=bool(self.done), files=self.done)

    def _close(self) -> None:
        for directory in self._dirs.values():
            if directory is not None:
                directory.close()

    # --- inputs -----------------------------------------------------------------------------------------------

    def _account(self, user: str, required: bool = True) -> Account | None:
        if user not in self._accounts:
            try:
                entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
            except KeyError:
                entry = None
            self._accounts[user] = Account(entry) if entry else None
        if self._accounts[user] is None and required:
            raise HostKeysError('No such user on this host: %s.' % user)
        return self._accounts[user]

    def _mode(self, entry: dict[str, Any]) -> int:
        return parse_mode(self.module, entry['mode'], what='mode %s of key pair %s' % (entry['mode'], entry['name']))

    def _plan_inputs(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Key files and authorized_keys files of this host: (key_files, auth_files), checked."""
        entries = normalise_keys(self.params['keys'])
        problem = passphrase_requirements_problem(sorted(set(
            entry['name'] for entry in entries if entry['state'] == 'present' and entry['install'] and entry['passphrase'])))
        if problem:
            raise HostKeysError(problem)
        me = user_name(os.geteuid())
        key_files, auth_files = [], {}
        for entry in entries:
            present = entry['state'] == 'present'
            if entry['install']:
                owner = self._account(entry['owner'] or me, required=present)
                if owner is not None or entry['path']:
                    group = resolve_gid(entry['group']) if entry['group'] else (owner.gid if owner else None)
                    path = entry['path'] or os.path.join(owner.ssh_dir, 'id_' + entry['name'])
                    key_files.append(dict(entry, path=path, account=owner, uid=owner.uid if owner else None, gid=group,
                                          mode_value=self._mode(entry) if present else None,
                                          ssh_dir=owner.ssh_dir if owner and not entry['path'] else None))
            for user in entry['authorized_users']:
                account = self._account(user, required=present)
                if account is None:
                    continue  # absent: nothing to remove for a user this host does not have
                auth = auth_files.setdefault(account.name, dict(account=account, present={}, absent=set()))
                if present:
                    auth['present'][entry['name']] = entry['options']
                else:
                    auth['absent'].add(entry['name'])
        check_paths([(item['path'], item['name']) for item in key_files])
        return key_files, auth_files

    def _public_keys(self, key_files: list[dict[str, Any]], auth_files: dict[str, dict[str, Any]]) -> dict[str, str]:
        """name -> '<type> <base64>' from KPS (public_keys); names KPS does not have (yet) -> None."""
        given = dict((name, public_blob(value)) for name, value in (self.params['public_keys'] or {}).items())
        wanted = set(item['name'] for item in key_files if item['state'] == 'present')
        for auth in auth_files.values():
            wanted.update(auth['present'])
        error = self.params['public_keys_error']
        if error and wanted:
            raise HostKeysError('Reading the key pairs from KPS failed: %s' % error)
        unknown = sorted(name for name in wanted if not given.get(name))
        if unknown:
            if not self.check_mode:
                raise HostKeysError('No such key pair in KPS: %s. Nothing was changed.' % ', '.join(unknown))
            count = len(unknown)
            self.module.warn('%s %s %s not exist in KPS yet: the files below show what would be installed once %s.'
                             % (plural(count, 'Key pair'), ', '.join(unknown), plural(count, 'does', 'do'),
                                plural(count, 'it does', 'they do')))
        return given

    # --- what is there ---------------------------------------------------------------------------------------------

    def _dir(self, path: str, owner: tuple[int, int] | None = None) -> Directory | None:
        """The open ``_files.Directory`` of ``path``, or None while it does not exist. Links on the way are
        followed only when nobody but root can have made them (see ``_files``); ~USER/.ssh linked by its user fails.

        ``owner``: (uid, gid) of a ~/.ssh that a real run creates (mode 0700) when it is missing.
        """
        create = owner is not None and not (self.check_mode or self.report_mode)
        if self._dirs.get(path) is None and (path not in self._dirs or create):
            if create:
                directory = open_dir(path, create=True, mode=0o700, uid=owner[0], gid=owner[1])
                self.done.extend(dict(path=created, action='create') for created in directory.created)
            else:
                directory = None if missing_dirs(path) else open_dir(path)
            self._dirs[path] = directory
        return self._dirs[path]

    def _inspect_ssh_dir(self, account: Account) -> dict[str, Any]:
        """The state of ~USER/.ssh and the change it needs (None, 'create' or 'attributes')."""
        directory = self._dir(account.ssh_dir)
        if directory is None:
            return dict(path=account.ssh_dir, action='create', mode=0o700, uid=account.uid, gid=account.gid)
        st = os.fstat(directory.fd)
        current = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        mode, uid, gid = kept_attributes(current, account.uid, account.gid, 0o700)
        return dict(path=account.ssh_dir, action='attributes' if current != (mode, uid, gid) else None, mode=mode,
                    uid=uid, gid=gid, before=self._describe_stat(st))

    def inspect_key_file(self, path: str, owner: Account | None = None, passphrase: str | None = None) -> dict[str, Any]:
        """What the key file at ``path`` holds: exists, type, mode, uid, gid, format, public key, comment, encryption.

        ``owner``: the user the file is for; a file he could not read himself is not read (no public key: it is
        rewritten, and ``state=absent`` leaves it). ``passphrase``: the entry's, tried on a passphrase-protected
        OpenSSH-format file."""
        folder, name = os.path.split(path)
        directory = self._dir(folder)
        st = directory.lstat(name) if directory is not None else None
        if st is None:
            return dict(exists=False, type=None)
        data = None
        if stat.S_ISREG(st.st_mode):
            try:
                data = directory.read(name, MAX_KEY_BYTES, expect=st, reader=owner.reader if owner else None)
            except NotReadableForError:
                return dict(exists=True, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid, st=st,
                            type='file', format=None, public_key=None, comment=None, unread=True)
        info = dict(exists=True, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid, st=st,
                    type='file' if data is not None else 'link' if stat.S_ISLNK(st.st_mode) else 'other')
        if data is not None:
            info['format'] = key_format(data)
            header = openssh_header(data) if info['format'] == 'openssh' else None
            if header is not None and header['encrypted']:
                info.update(self._inspect_encrypted(data, header, passphrase), comment=None)
                return info
            info['public_key'] = derive_public_key(data, self.module.run_command) if info['format'] else None
            info['comment'] = openssh_comment(data) if info['format'] == 'openssh' else None
            info['encryption'] = NOT_ENCRYPTED if info['format'] in ('openssh', 'pkcs8', 'pem') else None
        return info

    @staticmethod
    def _inspect_encrypted(data: bytes, header: dict[str, Any], passphrase: str | None) -> dict[str, Any]:
        """public_key and encryption of a passphrase-protected OpenSSH-format file: the public key of its header,
        which, when ``passphrase`` decrypts the file, must be the decrypted key's (else the file is damaged)."""
        if passphrase is None:
            return dict(public_key=header['public_key'], encryption=ENCRYPTED)
        if (header['rounds'] or 0) > MAX_KDF_ROUNDS:
            return dict(public_key=header['public_key'], encryption=TOO_MANY_ROUNDS)
        derived = decrypted_public_key(data, passphrase)
        if derived == header['public_key']:
            return dict(public_key=derived, encryption=WITH_PASSPHRASE)
        # cryptography also refuses a file whose header names another key than the one inside: only the check
        # integers tell a wrong passphrase (tested only then: it costs the KDF again).
        if derived is None and not passphrase_decrypts(data, passphrase):
            return dict(public_key=header['public_key'], encryption=OTHER_PASSPHRASE)
        return dict(public_key=None, encryption=HEADER_MISMATCH)

    def _read_authorized_keys(self, account: Account) -> tuple[str, os.stat_result | None, list[str]]:
        directory = self._dir(account.ssh_dir)
        path = os.path.join(account.ssh_dir, 'authorized_keys')
        st = directory.lstat('authorized_keys') if directory is not None else None
        if st is None:
            return path, None, []
        # Replacing a link with our lines alone would drop the lines of the file it points to: refuse instead.
        try:
            data = (directory.read('authorized_keys', MAX_AUTHORIZED_KEYS_BYTES, expect=st, reader=account.reader)
                    if stat.S_ISREG(st.st_mode) else None)
        except NotReadableForError as exc:
            # Its lines would go into a file the user can read: a root-only file renamed or linked there by him.
            raise HostKeysError('%s The role keeps the lines of an authorized_keys file in the file it writes, which %s '
                                'can read: if this is his file, give it to him (chown %s), otherwise remove it. Nothing '
                                'was read or changed on this host.' % (exc, account.name, account.name))
        if data is None:
            raise HostKeysError('%s is a symbolic link or not a regular file. The role never follows links in '
                                '~/.ssh: replace it with a regular file, then run again. Nothing was changed.' % path)
        if len(data) > MAX_AUTHORIZED_KEYS_BYTES:
            raise HostKeysError('%s is larger than %d bytes; not an authorized_keys file the role manages.'
                                % (path, MAX_AUTHORIZED_KEYS_BYTES))
        return path, st, split_lines(data.decode('utf-8', 'surrogateescape'))

    # --- the plan --------------------------------------------------------------------------------------------------

    def _find_changes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """What differs from ``keys`` on this host: (changes, the report of the key files); warns, writes nothing."""
        key_files, auth_files = self._plan_inputs()
        public_keys = self._public_keys(key_files, auth_files)
        changes, report, warnings = [], [], []
        ssh_dirs = {}
        for item in key_files:
            if item['ssh_dir'] and item['state'] == 'present':
                ssh_dirs[item['ssh_dir']] = item['account']
        for auth in auth_files.values():
            if auth['present']:
                ssh_dirs[auth['account'].ssh_dir] = auth['account']
        for path in sorted(ssh_dirs):
            change = self._inspect_ssh_dir(ssh_dirs[path])
            if change['action']:
                changes.append(dict(change, kind='directory'))
        for item in key_files:
            directory = os.path.dirname(item['path'])
            if item['ssh_dir'] is None and self._dir(directory) is None and item['state'] == 'present':
                problem = ('The directory %s of the private key of key pair %s does not exist; create it first (the '
                           'role creates only ~/.ssh).' % (directory, item['name']))
                if not self.check_mode:
                    raise HostKeysError(problem + ' Nothing was changed.')
                warnings.append(problem + ' An earlier task may create it.')
            present = item['state'] == 'present'
            current = self.inspect_key_file(item['path'], item['account'], item['passphrase'] if present else None)
            report.append(self._report_entry(item, current, public_keys.get(item['name'])))
            if present:
                action = key_file_action(current, public_keys.get(item['name']), item['format'], item['mode_value'],
                                         item['uid'], item['gid'], passphrase=item['passphrase'] is not None)
            else:
                action = self._absent_action(item, current, public_keys.get(item['name']), warnings)
            if action:
                changes.append(dict(kind='private_key', path=item['path'], name=item['name'], action=action,
                                    item=item, current=current, public_key=public_keys.get(item['name'])))
        for user in sorted(auth_files):
            auth = auth_files[user]
            path, st, lines = self._read_authorized_keys(auth['account'])
            present = dict((name, (options, public_keys.get(name) or UNKNOWN_KEY))
                           for name, options in auth['present'].items())
            new, removed, added = authorized_lines(lines, present, auth['absent'])
            account = auth['account']
            current = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) if st is not None else None
            wanted = kept_attributes(current, account.uid, account.gid, 0o600)
            if removed or added or (current is not None and current != wanted):
                changes.append(dict(kind='authorized_keys', path=path, action='update' if st is not None else 'create',
                                    account=account, lines=new, removed=removed, added=added, attributes=wanted,
                                    names=sorted(set(auth['present']) | auth['absent']), st=st))
        for warning in warnings:
            self.module.warn(warning)
        return changes, report

    @staticmethod
    def _absent_action(item: dict[str, Any], current: dict[str, Any], public_key: str | None,
                       warnings: list[str]) -> str | None:
        """'remove' for a key file the role installed, else None (with a warning when a file is left alone).

        Ours: an OpenSSH-format file carrying the role's comment, or (PEM formats have no comment, and a
        passphrase-protected file shows none without its passphrase) a file holding the key pair's key as KPS has
        it. Never a link, never someone else's key."""
        if not current['exists']:
            return None
        if current['type'] == 'file':
            if current.get('format') == 'openssh' and current.get('comment') == marker(item['name']):
                return 'remove'
            encrypted = current.get('encryption') not in (None, NOT_ENCRYPTED)
            if ((current.get('format') in ('pem', 'pkcs8') or (current.get('format') == 'openssh' and encrypted))
                    and public_key and current.get('public_key') == public_key):
                return 'remove'
        warnings.append('Left %s in place: it is not a private key file that the role installed for key pair %s '
                        '(a link, another key, or a key KPS cannot confirm). Remove it yourself if it should go.'
                        % (item['path'], item['name']))
        return None

    @staticmethod
    def _report_entry(item: dict[str, Any], current: dict[str, Any], public_key: str | None) -> dict[str, Any]:
        if not current['exists']:
            status = 'missing'
        elif current['type'] != 'file':
            status = current['type']
        elif current.get('public_key') is None:
            status = 'unknown'
        elif public_key is None:
            status = 'present'
        elif current['public_key'] != public_key:
            status = 'other_key'
        elif item['format'] != ANY_FORMAT and current.get('format') != item['format']:
            status = 'other_format'
        elif not encryption_wanted(current, item['passphrase'] is not None):
            status = 'other_encryption'
        else:
            status = 'matches'
        return dict(name=item['name'], path=item['path'], state=item['state'], status=status,
                    public_key=current.get('public_key'), format=current.get('format'))

    # --- run: plan -> apply -> result (the base calls apply() only for a plan that changes something) ------------

    def plan(self) -> Plan:
        """The changes this host needs; ``changed`` is False in report mode (no private_keys): nothing is applied."""
        if self.module._tmpdir is not None or self.module._keep_remote_files:
            self.module.warn('Pipelining is off for this host: Ansible puts every module and its arguments, the '
                             'private keys included, into a temporary file on the controller (and on the host) '
                             'before it runs them. Turn it on (ANSIBLE_PIPELINING=True or ansible_pipelining: true) '
                             'to keep private keys off the disks.')
        changes, report = self._find_changes()
        needs: dict[str, set[str]] = {}
        for change in changes:
            if change['kind'] == 'private_key' and change['action'] in NEEDS_KEY:
                needs.setdefault(change['item']['format'], set()).add(change['name'])
        return Plan(changed=bool(changes) and not self.report_mode, changes=changes, report=report,
                    needs_private_keys=dict((fmt, sorted(names)) for fmt, names in needs.items()))

    def apply(self, plan: Plan) -> None:
        """Writes the plan's changes; every private key it needs is checked first, so that a missing one changes nothing."""
        changes, private_keys = plan.changes, self.params['private_keys']
        wanted = [change for change in changes if change['kind'] == 'private_key' and change['action'] in NEEDS_KEY]
        missing = sorted(set(change['name'] for change in wanted if not private_keys.get(change['name'])))
        if missing:
            raise HostKeysError('The %s of %s %s not given; nothing was changed.' % (
                plural(len(missing), 'private key'), ', '.join(missing), plural(len(missing), 'was', 'were')))
        for change in wanted:
            fmt = key_format(private_keys[change['name']])
            if change['item']['format'] != ANY_FORMAT and fmt != change['item']['format']:
                raise HostKeysError('The private key given for key pair %s is in format %s, not %s as asked; the play '
                                    'probably lists the key pair with two formats on different hosts. Use one format '
                                    'per key pair. Nothing was changed.' % (change['name'], fmt, change['item']['format']))
        for change in changes:
            getattr(self, '_apply_' + change['kind'])(change, private_keys)

    def _apply_directory(self, change: dict[str, Any], _private_keys: dict[str, str]) -> None:
        directory = self._dir(change['path'], owner=(change['uid'], change['gid']))
        if change['action'] == 'attributes':
            os.fchmod(directory.fd, change['mode'])  # narrow first, then hand over (root's stays root's)
            os.fchown(directory.fd, change['uid'], change['gid'])
            self.done.append(dict(path=change['path'], action='attributes'))

    def _apply_private_key(self, change: dict[str, Any], private_keys: dict[str, str]) -> None:
        item = change['item']
        folder, name = os.path.split(item['path'])
        directory = self._dir(folder, owner=(item['uid'], item['gid']) if item['ssh_dir'] else None)
        if directory is None:
            raise HostKeysError('The directory %s does not exist.' % folder)
        if change['action'] == 'remove':
            directory.unlink(name)
        elif change['action'] == 'attributes':
            directory.set_attributes(name, item['mode_value'], item['uid'], item['gid'], expect=change['current']['st'])
        else:
            # The comment marks the file as the role's (state=absent removes only such files); with a passphrase it
            # is encrypted with the key, as ssh-keygen keeps it (ssh-keygen -p and ssh-add show it).
            content = with_openssh_comment(private_keys[item['name']].strip() + '\n', marker(item['name']))
            if item['passphrase'] is not None:
                content = self._encrypt(item['name'], content, item['passphrase'])
            directory.write(name, content, item['mode_value'], item['uid'], item['gid'])
        self.done.append(dict(path=item['path'], action=change['action']))

    @staticmethod
    def _encrypt(name: str, content: str, passphrase: str) -> str:
        from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (  # pylint: disable=import-outside-toplevel
            encrypt_openssh,
        )
        try:
            return encrypt_openssh(content, passphrase)
        except ValueError:
            raise HostKeysError('The private key given for key pair %s is not a single unencrypted key in the OpenSSH '
                                'format, which private_key.passphrase needs; export it with format=openssh.' % name)

    def _apply_authorized_keys(self, change: dict[str, Any], _private_keys: dict[str, str]) -> None:
        account = change['account']
        directory = self._dir(account.ssh_dir, owner=(account.uid, account.gid))
        content = ''.join(line + '\n' for line in change['lines']).encode('utf-8', 'surrogateescape')
        directory.write('authorized_keys', content, *change['attributes'])
        self.done.append(dict(path=change['path'], action=change['action']))

    # --- what users see -----------------------------------------------------------------------------------------------

    def result(self, plan: Plan) -> dict[str, Any]:
        return dict(key_files=plan.report, needs_private_keys=plan.needs_private_keys, pending=bool(plan.changes),
                    files=[self._file_result(change) for change in plan.changes], msg=self._message(plan))

    def diff(self, plan: Plan) -> list[dict[str, str]]:  # type: ignore[override]  # one diff per file
        return [self._file_diff(change) for change in plan.changes]

    def _message(self, plan: Plan) -> str:
        count = len(plan.changes)
        if not count:
            return 'Everything is up to date.'
        files = '%d %s' % (count, plural(count, 'file or directory', 'files or directories'))
        if self.report_mode:
            return '%s to change.' % files
        return '%s %s.' % (plan.say('Would change', 'Changed'), files)

    @staticmethod
    def _file_result(change: dict[str, Any]) -> dict[str, Any]:
        result = dict(path=change['path'], kind=change['kind'], action=change['action'])
        if change['kind'] == 'private_key':
            result['key_pair'] = change['name']
        elif change['kind'] == 'authorized_keys':
            result['key_pairs'] = change['names']
        return result

    @staticmethod
    def _describe_attributes(mode: int, uid: int, gid: int) -> str:
        return 'mode %s, owner %s, group %s' % (octal(mode), user_name(uid), group_name(gid))

    def _describe_stat(self, st: os.stat_result) -> str:
        return self._describe_attributes(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)

    def _file_diff(self, change: dict[str, Any]) -> dict[str, str]:
        header = dict(before_header=change['path'], after_header=change['path'])
        if change['kind'] == 'directory':
            after = 'directory, %s\n' % self._describe_attributes(change['mode'], change['uid'], change['gid'])
            before = 'directory, %s\n' % change['before'] if change.get('before') else '(absent)\n'
            return dict(header, before=before, after=after)
        if change['kind'] == 'authorized_keys':
            # The headers carry mode and owner; the texts, the lines removed and added (public keys and options).
            st = change['st']
            return dict(before_header='%s (%s)' % (change['path'], self._describe_stat(st) if st else 'absent'),
                        after_header='%s (%s)' % (change['path'], self._describe_attributes(*change['attributes'])),
                        before=''.join(line + '\n' for line in change['removed']),
                        after=''.join(line + '\n' for line in change['added']))
        item, current = change['item'], change['current']
        # Whether the file is encrypted, and with the entry's passphrase, is shown when either is: never the passphrase.
        shown = item.get('passphrase') is not None or current.get('encryption') not in (None, NOT_ENCRYPTED)
        before = self._describe_key_file(current, shown)
        if change['action'] == 'remove':
            return dict(header, before=before, after='(absent)\n')
        if change['action'] == 'attributes':
            fmt, encryption = current.get('format'), current.get('encryption')
        else:
            fmt = 'as KPS returns it' if item['format'] == ANY_FORMAT else item['format']
            encryption = WITH_PASSPHRASE if item.get('passphrase') is not None else NOT_ENCRYPTED
        after = 'private key of key pair %s, with public key: %s\nformat: %s\n%smode %s, owner %s, group %s\n' % (
            item['name'], change['public_key'] or '(not in KPS yet)', fmt,
            'encryption: %s\n' % encryption if shown else '', octal(item['mode_value']), user_name(item['uid']),
            group_name(item['gid']))
        return dict(header, before=before, after=after)

    @staticmethod
    def _describe_key_file(current: dict[str, Any], show_encryption: bool = False) -> str:
        if not current['exists']:
            return '(absent)\n'
        if current['type'] != 'file':
            return '(a %s, not a regular file)\n' % ('symbolic link' if current['type'] == 'link' else 'special file')
        attributes = 'mode %s, owner %s, group %s\n' % (octal(current['mode']), user_name(current['uid']),
                                                        group_name(current['gid']))
        if current.get('unread'):  # not "not a private key": what it holds was never looked at
            return '(not read: the user it is for could not read it himself)\n' + attributes
        encryption = current.get('encryption') if show_encryption else None
        return 'private key with public key: %s\nformat: %s\n%s%s' % (
            current.get('public_key') or '(unknown)', current.get('format') or '(not a private key)',
            'encryption: %s\n' % encryption if encryption else '', attributes)
