# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python tests/kps_emulator`` runs this file with tests/kps_emulator as sys.path[0]: import as a package."""
from __future__ import annotations

import os
import sys

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kps_emulator.cli import main  # noqa: E402  pylint: disable=wrong-import-position

sys.exit(main())
