# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: stop ansible-playbook (SIGSTOP to itself) at the start of the first task whose name begins
with E(KPS_STOP_AT_TASK), before any host is given that task, so that a test kills the run exactly there.

Watching the output for the task's banner and killing then is late on a loaded machine: the task may have run
on some hosts already. The task start callback comes before the strategy queues the task for any host.
"""
from __future__ import annotations

DOCUMENTATION = r"""
name: kps_stop_at_task
type: aggregate
short_description: Stop the run before a named task (huaweicloud.kps tests only)
description:
  - Sends SIGSTOP to the ansible-playbook process when the first task whose name begins with the
    E(KPS_STOP_AT_TASK) environment variable starts.
options: {}
"""

import os
import signal

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'kps_stop_at_task'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prefix = os.environ.get('KPS_STOP_AT_TASK')

    def v2_playbook_on_task_start(self, task, is_conditional):
        if self._prefix and (task.name or '').startswith(self._prefix):
            self._prefix = None
            os.kill(os.getpid(), signal.SIGSTOP)
