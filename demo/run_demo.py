# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo: placeholder until the modules land (issue 7 fills it in)."""
from __future__ import annotations

print('huaweicloud.kps demo: the modules are not there yet.')
