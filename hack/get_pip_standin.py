# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for get-pip.py, which ansible-test downloads before it builds a venv.

The Makefile copies this file to ~/.ansible/test/cache/get_pip_<version>.py next to the pip wheel it
downloaded from PyPI; ansible-test looks there before it tries the network.
"""
from __future__ import annotations

import glob
import os
import sys

WHEELS = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pip-*.whl')))
sys.path.insert(0, WHEELS[-1])

from pip._internal.cli.main import main  # noqa: E402  pylint: disable=wrong-import-position

ARGS = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', '--upgrade', '--force-reinstall'] + ARGS))
