# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's ``main()`` in-process: module arguments in, the result dict of exit_json/fail_json out.

    with set_module_args({'name': 'web'}):
        result = run_module(kps_private_key_export.main)      # AnsibleExitJson -> dict
        failure = run_module(kps_private_key_export.main, fail=True)
"""
from __future__ import annotations

import contextlib
from unittest import mock

from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    patch_module_args = None


class AnsibleExitJson(Exception):
    """exit_json was called; ``result`` is its keyword arguments."""

    def __init__(self, result):
        super().__init__('exit_json')
        self.result = result


class AnsibleFailJson(Exception):
    """fail_json was called; ``result`` is its keyword arguments."""

    def __init__(self, result):
        super().__init__(result.get('msg'))
        self.result = result


def _exit_json(_module, **kwargs):
    kwargs.setdefault('changed', False)
    raise AnsibleExitJson(kwargs)


def _fail_json(module, **kwargs):
    kwargs['failed'] = True
    # Like the real fail_json, remove the temp files the module registered for cleanup.
    module.do_cleanup_files()
    raise AnsibleFailJson(kwargs)


@contextlib.contextmanager
def set_module_args(args):
    """Module arguments for AnsibleModule instances created inside the block."""
    args = dict(args)
    args.setdefault('_ansible_remote_tmp', '/tmp')
    args.setdefault('_ansible_keep_remote_files', False)
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    import json  # pylint: disable=import-outside-toplevel

    from ansible.module_utils.common.text.converters import to_bytes  # pylint: disable=import-outside-toplevel
    with mock.patch.object(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))):
        yield


def run_module(main, fail=False):
    """Call ``main()`` and return the result dict; ``fail`` says whether fail_json is expected.

    The module's warnings (texts of ``module.warn``) are in ``result['warnings']``.
    """
    warnings = []

    def warn(_module, warning, *_args, **_kwargs):
        warnings.append(warning)

    with mock.patch.multiple(basic.AnsibleModule, exit_json=_exit_json, fail_json=_fail_json, warn=warn):
        expected = AnsibleFailJson if fail else AnsibleExitJson
        try:
            main()
        except (AnsibleExitJson, AnsibleFailJson) as exc:
            if not isinstance(exc, expected):
                raise AssertionError('expected %s, got %r' % (expected.__name__, exc.result)) from None
            exc.result['warnings'] = warnings
            return exc.result
    raise AssertionError('the module neither exited nor failed')
