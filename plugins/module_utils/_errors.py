# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""KpsError, the one base of every error of the collection (see ``_runner.Runner`` for where it fails a task).

Standard library only: the host-side modules (kps_private_key_file, kps_host_keys) use it too.

An error is a problem the user must fix: ``msg`` says what is wrong and what to do, ``details`` go into the
failed result. Neither ever holds a secret; text that comes from a server is scrubbed where it is received
(``_http.HuaweiCloudError``). Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any


class KpsError(Exception):
    """A problem the user must fix: ``msg`` plus ``details`` for the failed result; never a secret."""

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self._details = details

    @property
    def msg(self) -> str:
        return str(self)

    @property
    def details(self) -> dict[str, Any]:
        return self._details

    def result(self, **extra: Any) -> dict[str, Any]:
        """The keyword arguments of fail_json: msg and details, updated with ``extra``."""
        result = dict(self.details, msg=self.msg)
        result.update(extra)
        return result


def plural(count: int, one: str, many: str | None = None) -> str:
    """``one`` for a count of 1, else ``many`` (default: ``one`` + 's'): plural(2, 'file') == 'files'."""
    return one if count == 1 else (many if many is not None else one + 's')
