# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the built tarball and its installed copy the way a Galaxy user would meet them.

Usage: check_build.py TARBALL INSTALL_DIR
- the tarball holds no test output, venvs, caches or build dirs;
- ``ansible-doc`` renders every module and lookup, the doc fragments (through them) and every role from the
  installed copy, with ANSIBLE_COLLECTIONS_PATH pointing only there.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile

FORBIDDEN = re.compile(r'(^|/)(\.venv[^/]*|build|dist|tests/output|__pycache__|\.pytest_cache|\.hypothesis|\.cache)(/|$)|\.pyc$')


def main(tarball, install_dir):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    bad = [name for name in names if FORBIDDEN.search(name)]
    if bad:
        sys.exit('the collection tarball contains build or test output: %s' % ', '.join(bad[:10]))
    root = os.path.join(install_dir, 'ansible_collections', 'huaweicloud', 'kps')
    modules_dir = os.path.join(root, 'plugins', 'modules')
    modules = sorted(name[:-3] for name in os.listdir(modules_dir) if name.endswith('.py')) if os.path.isdir(modules_dir) else []
    lookups_dir = os.path.join(root, 'plugins', 'lookup')
    lookups = sorted(name[:-3] for name in os.listdir(lookups_dir) if name.endswith('.py')) if os.path.isdir(lookups_dir) else []
    roles_dir = os.path.join(root, 'roles')
    roles = sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=install_dir)
    ansible_doc = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    for kind, names_ in (('module', modules), ('lookup', lookups), ('role', roles)):
        for name in names_:
            fqcn = 'huaweicloud.kps.' + name
            proc = subprocess.run([ansible_doc, '-t', kind, fqcn], env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0 or proc.stderr.strip() or fqcn not in proc.stdout:
                sys.exit('ansible-doc -t %s %s failed:\n%s%s' % (kind, fqcn, proc.stdout, proc.stderr))
            print('ansible-doc -t %s %s: %d lines' % (kind, fqcn, len(proc.stdout.splitlines())))
    print('tarball: %d files, none of them build or test output' % len(names))


if __name__ == '__main__':
    main(*sys.argv[1:])
