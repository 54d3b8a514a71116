# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The one rule for key pair names, for the KPS modules and the host side alike. Standard library only.

KPS key pair names: letters, digits, '_' and '-' (so also safe file names: ``kps_host_keys`` makes
``~/.ssh/id_NAME`` of them, and a name such as ``x/../../etc/cron.d/x`` must never reach a path). CreateKeypair
and ClearPrivateKey take up to 255 characters (SDK create_keypair_action, current API pages), so any key pair
that exists can be shown, listed, exported and cleared by such a name.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural

NAME_MAX = 255
NAME_RE = re.compile(r'^[A-Za-z0-9_-]{1,%d}\Z' % NAME_MAX)


def invalid_names(names: Iterable[Any]) -> list[Any]:
    """The items of ``names`` that are not key pair names."""
    return [item for item in names if not isinstance(item, str) or not NAME_RE.match(item)]


class KeypairNameError(KpsError):
    """A key pair name KPS would refuse; found before any call or file access."""


def _shown_name(item: Any) -> str:
    """An invalid name as a message quotes it: a long one cut (and said to be too long), never in full."""
    text = str(item)
    if len(text) > NAME_MAX:
        return '%r... (%d characters: too long)' % (text[:40], len(text))
    return repr(text[:80]) + ('...' if len(text) > 80 else '')


def check_names(names: Iterable[Any]) -> None:
    """Raise KeypairNameError naming every invalid name of ``names`` and the rule."""
    invalid = invalid_names(names)
    if invalid:
        raise KeypairNameError('Invalid key pair %s: %s. A key pair name has 1 to %d letters, digits, "_" or "-".' % (
            plural(len(invalid), 'name'), ', '.join(_shown_name(item) for item in invalid), NAME_MAX))
