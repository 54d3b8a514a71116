# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The OpenSSH private key format (PROTOCOL.key in OpenSSH's sources), read and written with the standard library.

The one parser and writer of the format: ``_keys`` (the API side: encrypting keys) and ``_host_keys`` (the host
side: comments, headers, RSA public keys) both import it. Standard library only: it runs on managed hosts.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----'
END = '-----END OPENSSH PRIVATE KEY-----'
MAGIC = b'openssh-key-v1\x00'
# Fields of each key type in the private section, after the type name and before the comment.
_PRIVATE_FIELDS = {'ssh-rsa': 6, 'ssh-ed25519': 2, 'ecdsa-sha2-nistp256': 3, 'ecdsa-sha2-nistp384': 3,
                   'ecdsa-sha2-nistp521': 3, 'ssh-dss': 5}
# What parsing a damaged file raises besides ValueError.
PARSE_ERRORS = (ValueError, binascii.Error, struct.error, UnicodeDecodeError)


def read_string(data: bytes, offset: int) -> tuple[bytes, int]:
    """(the SSH wire-format string at ``offset``, the offset after it). Raises ValueError when it is cut short."""
    if offset + 4 > len(data):
        raise ValueError('truncated')
    (length,) = struct.unpack('>I', data[offset:offset + 4])
    end = offset + 4 + length
    if end > len(data):
        raise ValueError('truncated')
    return data[offset + 4:end], end


def ssh_string(value: bytes) -> bytes:
    """``value`` as an SSH wire-format string (uint32 length, then the bytes)."""
    return struct.pack('>I', len(value)) + value


def decode_armour(text: str | bytes) -> bytes:
    """The bytes inside the BEGIN/END lines of an OpenSSH-format file. Raises ValueError (or binascii.Error,
    UnicodeDecodeError)."""
    text = text.decode('ascii') if isinstance(text, bytes) else text
    start = text.index(BEGIN) + len(BEGIN)
    return base64.b64decode(''.join(text[start:text.index(END, start)].split()), validate=True)


def openssh_armour(raw: bytes) -> str:
    """The text of an OpenSSH-format private key from its decoded bytes: base64 in lines of 70 characters, as
    ssh-keygen writes it."""
    encoded = base64.b64encode(raw).decode('ascii')
    lines = [encoded[index:index + 70] for index in range(0, len(encoded), 70)]
    return '\n'.join([BEGIN] + lines + [END]) + '\n'


def openssh_parts(text: str | bytes) -> tuple[bytes, bytes, bytes, bytes, int, bytes, bytes, bytes]:
    """(cipher, KDF name, KDF options, public key blob, offset of the private section, private section, trailing
    bytes, the whole decoded file) of a single-key OpenSSH-format file, encrypted or not. Raises one of
    PARSE_ERRORS."""
    raw = decode_armour(text)
    if not raw.startswith(MAGIC):
        raise ValueError('no magic')
    offset = len(MAGIC)
    cipher, offset = read_string(raw, offset)
    kdf, offset = read_string(raw, offset)
    options, offset = read_string(raw, offset)
    (count,) = struct.unpack('>I', raw[offset:offset + 4])
    offset += 4
    if count != 1:
        raise ValueError('several keys')
    public, offset = read_string(raw, offset)
    private, end = read_string(raw, offset)
    return cipher, kdf, options, public, offset, private, raw[end:], raw


def split_unencrypted(text: str | bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(header bytes up to the private section, public key blob, private section, trailing bytes) of an
    unencrypted single-key OpenSSH-format file. Raises one of PARSE_ERRORS."""
    cipher, kdf, _options, public, offset, private, rest, raw = openssh_parts(text)
    if cipher != b'none' or kdf != b'none':
        raise ValueError('encrypted')
    return raw[:offset], public, private, rest


def private_fields(private: bytes) -> tuple[int, bytes, int]:
    """(offset of the comment string in an unencrypted private section, comment bytes, offset after it)."""
    offset = 8  # two check integers
    key_type, offset = read_string(private, offset)
    fields = _PRIVATE_FIELDS.get(key_type.decode('ascii', 'replace'))
    if fields is None:
        raise ValueError('unknown key type')
    for _skip in range(fields):
        _value, offset = read_string(private, offset)
    comment, end = read_string(private, offset)
    return offset, comment, end


def unencrypted_openssh_parts(text: str | bytes) -> tuple[bytes, bytes, bytes]:
    """(public key blob, the private key's fields and comment, trailing bytes) of an unencrypted single-key
    OpenSSH-format private key: what ``_keys.encrypt_openssh`` encrypts (the check integers and padding are left
    out). Raises ValueError for anything else."""
    try:
        _header, public, private, rest = split_unencrypted(text)
        _start, _comment, end = private_fields(private)
    except PARSE_ERRORS as exc:
        raise ValueError(str(exc))
    return public, private[8:end], rest


def padded(data: bytes, block: int) -> bytes:
    """``data`` with the padding of the OpenSSH private key format (1, 2, 3, ...) up to a multiple of ``block``."""
    return data + bytes(bytearray(range(1, 1 + (-len(data) % block))))


def kdf_salt_rounds(options: bytes) -> tuple[bytes, int]:
    """(salt, rounds) of the bcrypt KDF's options. Raises ValueError or struct.error."""
    salt, end = read_string(options, 0)
    (rounds,) = struct.unpack('>I', options[end:end + 4])
    return salt, rounds


def openssh_header(text: str | bytes) -> dict[str, Any] | None:
    """What the unencrypted header of an OpenSSH-format private key says, or None (another format, damaged):
    ``public_key`` ('<type> <base64>'), ``encrypted``, ``cipher``, ``kdf`` and ``rounds`` (of the bcrypt KDF, else
    None).

    The header's public key is not checked against the private key (without the passphrase it cannot be).
    """
    try:
        cipher, kdf, options, public, _offset, _private, _rest, _raw = openssh_parts(text)
        key_type, _end = read_string(public, 0)
        rounds = kdf_salt_rounds(options)[1] if kdf == b'bcrypt' else None
        return dict(public_key='%s %s' % (key_type.decode('ascii'), base64.b64encode(public).decode('ascii')),
                    encrypted=cipher != b'none', cipher=cipher.decode('ascii'), kdf=kdf.decode('ascii'),
                    rounds=rounds)
    except PARSE_ERRORS:
        return None
