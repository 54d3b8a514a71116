# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nox sessions of antsibull-nox, configured in antsibull-nox.toml (`make lint` runs extra-checks)."""
from __future__ import annotations

import antsibull_nox

antsibull_nox.load_antsibull_nox_toml()
