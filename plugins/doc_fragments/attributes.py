# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this doc fragment is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time.

from __future__ import annotations


class ModuleDocFragment:

    # Base fragment; the attribute descriptions come from ansible.builtin.action_common_attributes.
    DOCUMENTATION = r"""
options: {}
"""

    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/huaweicloud.kps.kps) in C(module_defaults) to set the connection options of this module once.
    support: full
    membership:
      - huaweicloud.kps.kps
"""

    CHECK_MODE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: In check mode the module reads the current state and reports what it would change, without writing anything.
"""

    DIFF_MODE = r"""
options: {}
attributes:
  diff_mode:
    support: full
    description: The diff shows key pair metadata (name, fingerprint, public key, hosting state), never private key material.
"""
