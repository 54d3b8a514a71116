# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each test starts without the secrets an earlier one registered (_http keeps them for one module run)."""
from __future__ import annotations

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._http import forget_secrets


@pytest.fixture(autouse=True)
def _forget_registered_secrets():
    forget_secrets()
    yield
    forget_secrets()
