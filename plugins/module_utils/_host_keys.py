# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The pure logic of kps_host_keys: the plan of one host's key files and authorized_keys lines.

No file system access here (``_host_keys_runner`` does that), so every rule is unit-tested on plain data:
- ``normalise_keys``: the role's key list with its defaults filled in, checked (key pair names, relative paths, a key
  pair both present and absent, one path for two key pairs) before anything is read or written.
- ``authorized_lines``: the new content of one ``authorized_keys`` file.
- ``key_file_action``: what a key file needs (create, replace, convert, attributes, nothing).
- ``openssh_comment`` / ``with_openssh_comment``: the comment of an unencrypted OpenSSH-format private key,
  where the role marks the files it installs (``huaweicloud.kps:NAME``), so that ``state=absent`` removes only
  those.
- ``openssh_rsa_public_key``: the public key of an unencrypted OpenSSH-format RSA key, checked, without cryptography.
The OpenSSH private key format itself is read and written by ``_openssh``. Standard library only: this runs on
managed hosts (encryption, which needs cryptography and bcrypt, is in ``_keys``).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import check_names
from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import (
    PARSE_ERRORS,
    openssh_armour,
    padded,
    private_fields,
    read_string,
    split_unencrypted,
    ssh_string,
)

COMMENT_PREFIX = 'huaweicloud.kps:'
NOT_OPENSSH_RSA = object()
DEFAULT_FORMAT = 'openssh'
# 'kps': whatever encoding KPS returned; a file holding the right key in any encoding is then left alone.
ANY_FORMAT = 'kps'
# Formats of a private key file, by its PEM armour.
FORMATS = (
    ('-----BEGIN OPENSSH PRIVATE KEY-----', 'openssh'),
    ('-----BEGIN PRIVATE KEY-----', 'pkcs8'),
    ('-----BEGIN RSA PRIVATE KEY-----', 'pem'),
    ('-----BEGIN EC PRIVATE KEY-----', 'pem'),
    ('-----BEGIN ENCRYPTED PRIVATE KEY-----', 'encrypted'),
)
# The encryption of a key file (``inspect_key_file``'s ``encryption``), as the diff shows it: never the passphrase,
# only whether the entry's passphrase decrypts the file.
NOT_ENCRYPTED = 'not encrypted'
WITH_PASSPHRASE = 'encrypted with the passphrase'
OTHER_PASSPHRASE = 'encrypted with another passphrase'
# The passphrase decrypts the file, but the public key of its header is not the key inside (a forged or damaged
# header): what the header names cannot be trusted.
HEADER_MISMATCH = 'encrypted with the passphrase, but its header does not match the key inside'
ENCRYPTED = 'encrypted'  # the entry has no passphrase: not tried
# More KDF rounds than this are not tried: a user who owns the file could otherwise make the task hang (each round
# costs about 7 ms; ssh-keygen writes 16, the role too).
MAX_KDF_ROUNDS = 1024
TOO_MANY_ROUNDS = 'encrypted with more than %d KDF rounds (not tried)' % MAX_KDF_ROUNDS


class HostKeysError(KpsError):
    """A problem the user must fix; the message names what is wrong and never holds key material."""


def marker(name: str) -> str:
    """The comment that marks what the role manages for key pair ``name``."""
    return COMMENT_PREFIX + name


def normalise_keys(keys: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The key list (as the module's argument spec returns it) as a list of entries with every default known.

    Each entry: name, state, install, owner (None: the user running the module), group, path, mode, format,
    passphrase (None: the file is not encrypted), authorized_users, options (None: keep those of an existing line).
    Raises HostKeysError (KeypairNameError for a name KPS would refuse: a name makes the default path
    ~/.ssh/id_NAME, so '/..' in it must never reach a path) before anything is done.
    """
    keys = list(keys)
    check_names([key['name'] for key in keys])
    entries = []
    for key in keys:
        private_key = key.get('private_key') or {}
        path = private_key.get('path')
        if path and not path.startswith('/'):
            raise HostKeysError(
                'private_key.path of key pair %s must be an absolute path, not "%s": a relative path would depend on '
                'the directory the module runs in.' % (key['name'], path))
        fmt, passphrase = private_key.get('format') or DEFAULT_FORMAT, private_key.get('passphrase')
        if passphrase == '':
            raise HostKeysError('private_key.passphrase of key pair %s is empty. Give a non-empty passphrase, or leave '
                                'it out to install the key unencrypted.' % key['name'])
        if passphrase is not None and fmt != 'openssh':
            raise HostKeysError('private_key.passphrase of key pair %s needs private_key.format openssh: key files are '
                                'encrypted only in the OpenSSH private key format, as ssh-keygen -N writes them (format '
                                '%s cannot be). Use format openssh, or leave passphrase out.' % (key['name'], fmt))
        entries.append(dict(
            name=key['name'], state=key.get('state') or 'present',
            install=private_key.get('install', True) is not False,
            owner=private_key.get('owner') or None, group=private_key.get('group') or None,
            path=path or None, mode=private_key.get('mode'), format=fmt, passphrase=passphrase,
            authorized_users=list(key.get('authorized_users') or []),
            options=key.get('authorized_key_options')))
    present = set(entry['name'] for entry in entries if entry['state'] == 'present')
    formats = {}
    for entry in entries:
        if entry['state'] == 'present' and entry['install'] and formats.setdefault(entry['name'], entry['format']) != entry['format']:
            raise HostKeysError('Key pair %s is listed with two formats (%s and %s); install it in one format per host.'
                                % (entry['name'], formats[entry['name']], entry['format']))
    both = sorted(present & set(entry['name'] for entry in entries if entry['state'] == 'absent'))
    if both:
        raise HostKeysError('Key pairs listed both present and absent: %s. List each key pair with one state.'
                            % ', '.join(both))
    return entries


def kept_attributes(current: tuple[int, int, int] | None, uid: int, gid: int, mode: int) -> tuple[int, int, int]:
    """(mode, uid, gid) that ~USER/.ssh or its authorized_keys must have; ``current``: its (mode, uid, gid), None when
    it does not exist yet; ``uid``/``gid``: USER's, ``mode``: 0700 or 0600.

    Root's stays root's, with its group and its mode less the group and other write bits (which sshd's StrictModes
    refuses): an administrator made it so that USER cannot change it. Anything else becomes USER's, with ``mode``.
    """
    if current is not None and current[1] == 0 and uid != 0:
        return current[0] & ~0o022, 0, current[2]
    return mode, uid, gid


def check_paths(files: Iterable[tuple[str, str]]) -> None:
    """``files``: (path, name) of every key file of the plan. Two key pairs at one path cannot both be right."""
    owners = {}
    for path, name in files:
        if owners.setdefault(path, name) != name:
            raise HostKeysError('Key pairs %s and %s would both be installed at %s; give them different paths.'
                                % (owners[path], name, path))


def key_format(data: str | bytes) -> str | None:
    """'openssh', 'pkcs8', 'pem', 'encrypted' or None (not a private key we know), from the armour of ``data``."""
    text = data.decode('ascii', 'replace') if isinstance(data, bytes) else data
    head = text.lstrip()[:64]
    for armour, name in FORMATS:
        if head.startswith(armour):
            return 'encrypted' if 'Proc-Type: 4,ENCRYPTED' in text else name
    return None


def public_blob(public_key: str | None) -> str | None:
    """'<type> <base64>' of an OpenSSH public key line (the comment dropped), or None."""
    fields = (public_key or '').split()
    return ' '.join(fields[:2]) if len(fields) >= 2 else None


def encryption_wanted(current: Mapping[str, Any], passphrase: bool) -> bool:
    """Whether the key file ``current`` is encrypted as its entry wants: with the entry's passphrase when it has one
    (``passphrase``), else not at all. The one test of it, for the plan (``key_file_action``) and the report."""
    return (current.get('encryption') or NOT_ENCRYPTED) == (WITH_PASSPHRASE if passphrase else NOT_ENCRYPTED)


def key_file_action(current: Mapping[str, Any], public_key: str | None, wanted_format: str | None, mode: int,
                    uid: int, gid: int, passphrase: bool = False) -> str | None:
    """What the key file ``current`` (see the runner's ``inspect_key_file``) needs to hold ``public_key``,
    encrypted with the entry's passphrase if it has one (``passphrase``).

    'create' (missing), 'replace' (another key, unreadable, a link, encrypted with another passphrase or while the
    entry has none: a key that cannot be checked), 'convert' (the right key in another format than
    ``wanted_format``, or unencrypted where the entry has a passphrase), 'attributes' (mode/owner/group only) or
    None. Without ``public_key`` (KPS does not know the key pair yet) a missing file is 'create' and an existing
    one 'replace'.
    """
    if not current['exists']:
        return 'create'
    if current['type'] != 'file' or public_key is None or current.get('public_key') is None:
        return 'replace'
    if public_blob(current['public_key']) != public_blob(public_key):
        return 'replace'
    if wanted_format not in (None, ANY_FORMAT) and current.get('format') != wanted_format:
        return 'convert'
    if not encryption_wanted(current, passphrase):
        return 'convert' if (current.get('encryption') or NOT_ENCRYPTED) == NOT_ENCRYPTED else 'replace'
    if (current['mode'], current['uid'], current['gid']) != (mode, uid, gid):
        return 'attributes'
    return None


def split_lines(text: str) -> list[str]:
    """The lines of an authorized_keys file as sshd reads them: split at "\\n" only, without line ends.

    Not ``str.splitlines``, which also splits at CR, VT, FF, NEL and more: sshd keeps those inside a line, so text
    after a CR, inert there, would become a line (an active key) of its own in the rewritten file.
    """
    lines = text.split('\n')
    if lines[-1] == '':
        lines.pop()
    return lines


def _words(line: str) -> list[str]:
    return line.split()


def _carries(line: str, blob_b64: str | None, comment: str | None) -> bool:
    """Whether an authorized_keys line holds the key (its base64 as a word) or ends with the role's comment."""
    words = _words(line)
    if not words or words[0].startswith('#'):
        return False
    return (blob_b64 is not None and blob_b64 in words) or (comment is not None and words[-1] == comment)


# The key types sshd knows start so; a line whose first word is not one starts with options.
_KEY_TYPE_RE = re.compile(r'^(ssh-|ecdsa-sha2-|sk-)[A-Za-z0-9@.-]+$')


def line_options(line: str) -> str | None:
    """The options field of an authorized_keys line, or None: as sshd reads it, everything up to the first space or
    tab outside double quotes (a backslash escapes a quote), unless the line starts with a key type."""
    text = line.lstrip(' \t')
    words = text.split()
    if not words or _KEY_TYPE_RE.match(words[0]):
        return None
    quoted, index = False, 0
    while index < len(text) and (quoted or text[index] not in ' \t'):
        if text[index] == '\\' and text[index + 1:index + 2] == '"':
            index += 1
        elif text[index] == '"':
            quoted = not quoted
        index += 1
    return text[:index] or None


def authorized_lines(lines: Sequence[str], present: Mapping[str, tuple[str | None, str]],
                     absent: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """The new lines of an authorized_keys file, and the lines removed and added (for the diff).

    ``lines``: the current lines (without line ends). ``present``: name -> (options, '<type> <base64>'), options
    None to keep those of the existing line (an administrator's ``restrict,command="..."``; a new line has none),
    '' for none; ``absent``: names whose marked lines go. A present key's line replaces the first line that holds
    the same key or carries the role's comment for it (a key rotated in KPS replaces its old line); other such lines
    go (sshd would use the first one, whatever options ours has). Lines the role did not write stay as they are.
    Returns (new_lines, removed, added); ``removed == added == []`` when nothing changes.
    """
    new = list(lines)
    for name in sorted(absent):
        new = [line for line in new if not _carries(line, None, marker(name))]
    for name in present:  # in the order of the key list
        options, blob = present[name]
        parts = blob.split()
        blob_b64 = parts[1] if len(parts) == 2 else None  # None: a key KPS does not have yet (check mode)
        matches = [index for index, line in enumerate(new) if _carries(line, blob_b64, marker(name))]
        if options is None and matches:
            options = line_options(new[matches[0]])
        wanted = ' '.join(part for part in (options, blob, marker(name)) if part)
        if len(matches) == 1 and new[matches[0]] == wanted:
            continue
        if matches:
            first = matches[0]
            new = [line for index, line in enumerate(new) if index == first or index not in matches]
            new[first] = wanted
        else:
            new.append(wanted)
    if new == list(lines):
        return new, [], []
    return new, _lines_not_in(lines, new), _lines_not_in(new, lines)


def _lines_not_in(lines: list[str], other: list[str]) -> list[str]:
    """The lines of ``lines`` that ``other`` lacks, counting repeats (a line twice in ``lines``, once in ``other``,
    is listed once), in their order."""
    remaining = list(other)
    missing = []
    for line in lines:
        if line in remaining:
            remaining.remove(line)
        else:
            missing.append(line)
    return missing


# --- the comment of an OpenSSH-format private key (the format itself: _openssh) ----------------------------------


def openssh_comment(text: str | bytes) -> str | None:
    """The comment of an unencrypted OpenSSH-format private key, or None (another format, encrypted, damaged)."""
    try:
        _header, _public, private, _rest = split_unencrypted(text)
        return private_fields(private)[1].decode('utf-8')
    except PARSE_ERRORS:
        return None


def with_openssh_comment(text: str, comment: str) -> str:
    """``text`` (an unencrypted OpenSSH-format private key) with its comment set to ``comment``.

    Anything else is returned unchanged (PEM formats have no comment).
    """
    try:
        header, _public, private, rest = split_unencrypted(text)
        start, _old, end = private_fields(private)
    except PARSE_ERRORS:
        return text
    body = private[:start] + ssh_string(comment.encode('utf-8'))
    return openssh_armour(header + ssh_string(padded(body, 8)) + rest)


def _mpint(value: bytes) -> int:
    """The non-negative integer of an SSH mpint; ValueError for a negative one (cryptography refuses those)."""
    if value[:1] > b'\x7f':
        raise ValueError('negative mpint')
    return int(binascii.hexlify(value), 16) if value else 0


def _mpint_bytes(number: int) -> bytes:
    """The SSH mpint encoding of a non-negative integer, shortest form (as ssh-keygen and cryptography write it)."""
    return number.to_bytes((number.bit_length() + 8) // 8, 'big') if number else b''


# The largest RSA modulus OpenSSL checks (OPENSSL_RSA_MAX_MODULUS_BITS): a bigger key does not load there.
_RSA_MAX_BITS = 16384


def openssh_rsa_public_key(text: str | bytes) -> str | object | None:
    """'ssh-rsa <base64>' of an unencrypted OpenSSH-format RSA private key, derived from its private numbers.

    The standard library is enough, and fast: the numbers are checked for consistency (n = p * q, e * d = 1 mod
    lcm(p - 1, q - 1), iqmp * q = 1 mod p, and the file's public key holds the same e and n), as cheap arithmetic,
    without the primality tests that make loading an RSA key with cryptography take tens of milliseconds. The file
    must also pass the other checks of cryptography's ``load_ssh_private_key`` (no KDF, one key, no stray bytes,
    check integers, padding, the bounds of ``RSAPrivateNumbers``), so a key accepted here loads there too, with the
    same public key: re-encoded from e and n, as cryptography writes it.
    Returns None for a damaged key, and NOT_OPENSSH_RSA for anything that is not such a key.
    """
    try:
        _header, public, private, rest = split_unencrypted(text)
        key_type, offset = read_string(private, 8)  # after the two check integers
        if key_type != b'ssh-rsa':
            return NOT_OPENSSH_RSA
        numbers = []
        for _index in range(6):  # n, e, d, iqmp, p, q
            value, offset = read_string(private, offset)
            numbers.append(_mpint(value))
        _comment, offset = read_string(private, offset)
        check1, check2 = struct.unpack('>II', private[:8])
        public_type, public_offset = read_string(public, 0)
        public_e, public_offset = read_string(public, public_offset)
        public_n, public_offset = read_string(public, public_offset)
        public_numbers = (_mpint(public_e), _mpint(public_n))
    except (ValueError, binascii.Error, struct.error):
        return NOT_OPENSSH_RSA if key_format(text) != 'openssh' else None
    n, e, d, iqmp, p, q = numbers
    padding = private[offset:]
    well_formed = (not rest and public_offset == len(public) and len(private) % 8 == 0 and check1 == check2
                   and public_type == b'ssh-rsa' and public_numbers == (e, n)
                   and padding == bytes(bytearray(range(1, 1 + len(padding)))) and len(padding) <= 16)
    in_bounds = (n % 2 == 1 and n.bit_length() <= _RSA_MAX_BITS and 3 <= e < n and e % 2 == 1 and d < n
                 and 1 < p < n and 1 < q < n and iqmp < p)
    lcm = (p - 1) * (q - 1) // _gcd(p - 1, q - 1) if in_bounds else 0
    # (cryptography's other bounds, odd CRT exponents d mod (p - 1) and d mod (q - 1), follow from these.)
    consistent = well_formed and in_bounds and n == p * q and (e * d) % lcm == 1 and (iqmp * q) % p == 1
    if not consistent:
        return None
    blob = ssh_string(b'ssh-rsa') + ssh_string(_mpint_bytes(e)) + ssh_string(_mpint_bytes(n))
    return 'ssh-rsa ' + base64.b64encode(blob).decode('ascii')


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a
