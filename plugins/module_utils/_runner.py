# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""Runner, the base of every module's work: plan -> apply -> result, and the one place a KpsError fails a task.

Standard library only: the host-side modules (kps_private_key_file, kps_host_keys) use it too.

A runner's ``plan()`` reads and decides, and returns a Plan; ``apply(plan)`` carries it out, and the base
never calls it in check mode, nor for a plan that changes nothing and has no other ``work``; ``result(plan)``
reports it. ``changed`` and the diff come from the plan, and the wording from ``plan.say('Would ...',
'Did ...')``, so check mode and a real run cannot drift apart. Runners implement ``plan()``, ``apply()``,
``result()`` and, for a diff of their own, ``diff()``; ``_execute()`` is the base's own.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError


class Plan:
    """What a run does. ``changed``: whether it changes anything; ``before``/``after``: what the diff shows
    (None: no diff); ``work``: apply() has work to do even though it changes nothing (returning data it must
    fetch, tidying up), so it runs, but still never in check mode; any other keyword is kept as an attribute
    for apply() and result()."""

    def __init__(self, changed: bool = False, before: Any = None, after: Any = None, work: bool = False,
                 **facts: Any) -> None:
        self.changed = changed
        self.before = before
        self.after = after
        self.work = work
        self.applied = False  # set by the Runner once apply() ran
        self.__dict__.update(facts)

    def say(self, would: str, done: str) -> str:
        """The words for a change: ``would`` until the plan is applied (check mode), ``done`` after."""
        return done if self.applied else would


class Runner:
    """Runs one module's work for one AnsibleModule; ``execute()`` exits or fails the task.

    ``_failure(exc)`` may add to the failed result (e.g. what the run changed before it failed); ``_close()``
    releases what the run holds open, on success and on failure.
    """

    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params

    def execute(self) -> None:
        try:
            result = self._execute()
        except KpsError as exc:
            self.module.fail_json(**self._failure(exc))
        finally:
            self._close()
        self.module.exit_json(**result)

    def _execute(self) -> dict[str, Any]:
        """The base's run, the same for every runner (not overridden): plan -> apply (never in check mode) ->
        result, with ``changed`` and the diff added from the plan."""
        plan = self.plan()
        if (plan.changed or plan.work) and not self.module.check_mode:
            self.apply(plan)  # may update plan.changed and plan.after from what the write did
            plan.applied = True
        result = self.result(plan)
        result['changed'] = plan.changed
        diff = self.diff(plan) if self.module._diff else None
        if diff is not None:
            result['diff'] = diff
        return result

    def plan(self) -> Plan:
        """Read and decide; nothing is written here."""
        raise NotImplementedError

    def apply(self, plan: Plan) -> None:
        """Carry out a plan that changes something or has ``work``; never called in check mode."""
        raise NotImplementedError

    def result(self, plan: Plan) -> dict[str, Any]:
        """The module's result without ``changed`` and ``diff`` (the base adds those)."""
        raise NotImplementedError

    def diff(self, plan: Plan) -> dict[str, Any] | None:
        if plan.before is None and plan.after is None:
            return None
        return dict(before=plan.before, after=plan.after)

    def _failure(self, exc: KpsError) -> dict[str, Any]:
        return exc.result()

    def _close(self) -> None:
        pass
