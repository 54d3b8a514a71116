# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local Huawei Cloud KPS + IAM emulator for tests, the demo and the benchmark (docs/emulator.md)."""
from __future__ import annotations

from .server import CALLS, DEFAULTS, Emulator

__all__ = ['CALLS', 'DEFAULTS', 'Emulator']
