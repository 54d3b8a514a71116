# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KpsError is the one base of the collection's errors; Runner runs plan -> apply -> result and is the one place that
turns a KpsError into fail_json."""
from __future__ import annotations

import importlib
import inspect
import os

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan, Runner

MODULE_UTILS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'module_utils')
PACKAGE = 'ansible_collections.huaweicloud.kps.plugins.module_utils.'


def collection_errors():
    for file_name in sorted(os.listdir(MODULE_UTILS)):
        if file_name.endswith('.py') and file_name != '__init__.py':
            module = importlib.import_module(PACKAGE + file_name[:-3])
            for name, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, Exception) and cls.__module__ == module.__name__:
                    yield name, cls


# Internal signals that never reach the user: caught where they are raised.
INTERNAL = {'_DeadlineExceeded', '_TooLarge'}


def test_every_error_of_the_collection_is_a_kps_error():
    errors = dict(collection_errors())
    assert {'HuaweiCloudError', 'CredentialError', 'SecretFileError', 'KeyMaterialError', 'HostKeysError',
            'ExportError', 'KeyImportError', 'InfoError', 'KeypairError'} <= set(errors)
    assert sorted(name for name, cls in errors.items() if not issubclass(cls, KpsError)) == sorted(INTERNAL)


def test_message_and_details_make_the_failed_result():
    error = KpsError('Key pair a is missing.', keypair=None)
    assert error.msg == str(error) == 'Key pair a is missing.'
    assert error.result() == {'msg': 'Key pair a is missing.', 'keypair': None}
    assert error.result(changed=True, msg='other') == {'msg': 'other', 'keypair': None, 'changed': True}


def test_an_api_error_reports_what_it_holds_when_it_fails():
    error = HuaweiCloudError('show key pair', status=503, request_id='rid-1')
    error.reason = 'KPS is busy'  # set by the retry loop after the error was built
    error.attempts = 3
    assert error.result() == {
        'msg': "KPS call 'show key pair' failed: HTTP 503: KPS is busy (request id rid-1; gave up after 3 attempts)",
        'error_code': None, 'request_id': 'rid-1', 'status': 503, 'call': 'show key pair'}


class Module:
    params = {'path': '/p'}

    def __init__(self):
        self.exited = self.failed = None

    def exit_json(self, **result):
        self.exited = result
        raise SystemExit(0)

    def fail_json(self, **result):
        self.failed = result
        raise SystemExit(1)


class Work(Runner):
    def __init__(self, module, work):
        super().__init__(module)
        self.work = work
        self.closed = 0

    def _execute(self):
        return self.work()

    def _failure(self, exc):
        return exc.result(path=self.params['path'])

    def _close(self):
        self.closed += 1


def _raise(exc):
    raise exc


@pytest.mark.parametrize('work, exited, failed', [
    (lambda: {'changed': False}, {'changed': False}, None),
    (lambda: _raise(KpsError('No such file.', hint='h')), None, {'msg': 'No such file.', 'hint': 'h', 'path': '/p'}),
])
def test_the_runner_exits_or_fails_once_and_always_closes(work, exited, failed):
    module = Module()
    runner = Work(module, work)
    with pytest.raises(SystemExit):
        runner.execute()
    assert (module.exited, module.failed, runner.closed) == (exited, failed, 1)


def test_any_other_exception_is_a_bug_and_keeps_its_traceback():
    module = Module()
    runner = Work(module, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        runner.execute()
    assert (module.exited, module.failed, runner.closed) == (None, None, 1)


@pytest.mark.parametrize('count, words, expected', [
    (1, ('file',), 'file'), (2, ('file',), 'files'), (0, ('file',), 'files'), (1, ('does', 'do'), 'does'),
    (3, ('does', 'do'), 'do'),
])
def test_plural(count, words, expected):
    assert plural(count, *words) == expected


class Planned(Runner):
    """A runner on the plan -> apply -> result base that records what it was asked to do."""

    def __init__(self, module, changes, work=False):
        super().__init__(module)
        self.changes = changes
        self.work = work
        self.applied = 0

    def plan(self):
        return Plan(changed=self.changes, before={'exists': False}, after={'exists': self.changes}, work=self.work)

    def apply(self, plan):
        self.applied += 1

    def result(self, plan):
        return dict(msg=plan.say('Would create the file.', 'Created the file.') if plan.changed else 'Up to date.')


@pytest.mark.parametrize('check_mode, changes, applied, msg', [
    (True, True, 0, 'Would create the file.'),
    (False, True, 1, 'Created the file.'),
    (True, False, 0, 'Up to date.'),
    (False, False, 0, 'Up to date.'),
])
def test_apply_is_skipped_in_check_mode_and_the_result_follows_the_plan(check_mode, changes, applied, msg):
    module = Module()
    module.check_mode, module._diff = check_mode, True
    runner = Planned(module, changes)
    with pytest.raises(SystemExit):
        runner.execute()
    assert runner.applied == applied
    assert module.exited == {'changed': changes, 'msg': msg,
                             'diff': {'before': {'exists': False}, 'after': {'exists': changes}}}


@pytest.mark.parametrize('check_mode, applied', [(True, 0), (False, 1)])
def test_work_that_changes_nothing_is_applied_but_never_in_check_mode(check_mode, applied):
    module = Module()
    module.check_mode, module._diff = check_mode, False
    runner = Planned(module, False, work=True)
    with pytest.raises(SystemExit):
        runner.execute()
    assert runner.applied == applied
    assert module.exited == {'changed': False, 'msg': 'Up to date.'}
