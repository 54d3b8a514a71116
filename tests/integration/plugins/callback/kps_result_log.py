# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: record every result, warning and diff of a run for the secret guard.

tests/integration/harness.py enables it for every ansible-playbook / ansible process the tests run and
scans the file it writes (``KPS_RESULT_LOG``), so that a secret in a result that the stdout callback does
not show at the run's verbosity still fails the test. Results of ``no_log`` tasks arrive here censored,
as they do at every other callback.
"""
from __future__ import annotations

DOCUMENTATION = r"""
name: kps_result_log
type: aggregate
short_description: Record every task result, warning and diff as JSON lines (huaweicloud.kps tests only)
description:
  - Writes one JSON object per event to the file named by the E(KPS_RESULT_LOG) environment variable.
options: {}
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'kps_result_log'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('KPS_RESULT_LOG')

    def _record(self, event, result):
        if not self._path:
            return
        entry = {'event': event, 'host': result.host.get_name(), 'task': result.task_name,
                 'result': result.result,
                 'warnings': [repr(item) for item in getattr(result, 'warnings', None) or []],
                 'deprecations': [repr(item) for item in getattr(result, 'deprecations', None) or []]}
        data = (json.dumps(entry, default=repr, sort_keys=True) + '\n').encode('utf-8')
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)  # one write: lines never interleave
        finally:
            os.close(fd)

    def v2_runner_on_ok(self, result):
        self._record('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record('failed', result)

    def v2_runner_on_skipped(self, result):
        self._record('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._record('unreachable', result)

    def v2_runner_item_on_ok(self, result):
        self._record('item_ok', result)

    def v2_runner_item_on_failed(self, result):
        self._record('item_failed', result)

    def v2_runner_item_on_skipped(self, result):
        self._record('item_skipped', result)

    def v2_runner_retry(self, result):
        self._record('retry', result)

    def v2_on_file_diff(self, result):
        self._record('diff', result)
