# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the execution environment definitions without a container runtime.

Usage: check_ee.py INSTALL_DIR CONTEXT_DIR
- ``ansible-builder introspect --sanitize INSTALL_DIR`` (the collection as ``make galaxy`` installed it, which
  reads its meta/execution-environment.yml) lists requests, cryptography and bcrypt;
- the top-level execution-environment.yml installs this version of the collection (its tarball name matches
  galaxy.yml) and ``ansible-builder create`` turns it into a build context in CONTEXT_DIR: a Containerfile,
  the galaxy requirements and the collection tarball.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDER = os.path.join(os.path.dirname(sys.executable), 'ansible-builder')
REQUIRED_PYTHON = ('requests', 'cryptography', 'bcrypt')


def run(argv):
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit('%s failed (rc=%d):\n%s%s' % (' '.join(argv[:3]), proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def check_introspection(install_dir):
    data = yaml.safe_load(run([BUILDER, 'introspect', '--sanitize', install_dir])) or {}
    python = data.get('python') or []
    names = {re.split(r'[<>=!~ \[;#]', line.strip(), maxsplit=1)[0].lower() for line in python}
    missing = [name for name in REQUIRED_PYTHON if name not in names]
    if missing or not all('huaweicloud.kps' in line for line in python):
        sys.exit('ansible-builder introspect of %s does not list %s for huaweicloud.kps:\n%s'
                 % (install_dir, ', '.join(missing) or 'every requirement', yaml.safe_dump(data)))
    print('introspect: python %s; system %d entries' % (', '.join(sorted(names)), len(data.get('system') or [])))


def check_definition():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        galaxy = yaml.safe_load(handle)
    with open(os.path.join(ROOT, 'execution-environment.yml')) as handle:
        definition = yaml.safe_load(handle)
    tarball = '%s-%s-%s.tar.gz' % (galaxy['namespace'], galaxy['name'], galaxy['version'])
    collections = definition['dependencies']['galaxy']['collections']
    sources = [item['src'] for item in definition.get('additional_build_files', [])]
    if not any(item['name'].endswith('/' + tarball) for item in collections) or \
            not any(src.endswith('/' + tarball) for src in sources):
        sys.exit('execution-environment.yml must install %s (the version in galaxy.yml)' % tarball)
    missing = [src for src in sources if not os.path.exists(os.path.join(ROOT, src))]
    if missing:
        sys.exit('execution-environment.yml needs %s: run `make galaxy` first' % ', '.join(missing))
    return tarball


def check_create(context_dir, tarball):
    shutil.rmtree(context_dir, ignore_errors=True)
    run([BUILDER, 'create', '-f', 'execution-environment.yml', '--context', context_dir,
         '--output-filename', 'Containerfile'])
    containerfile = os.path.join(context_dir, 'Containerfile')
    with open(containerfile) as handle:
        text = handle.read()
    with open(os.path.join(context_dir, '_build', 'requirements.yml')) as handle:
        requirements = yaml.safe_load(handle)
    problems = []
    if 'ansible-galaxy collection install' not in text or 'FROM ' not in text:
        problems.append('the Containerfile does not install collections')
    if not os.path.isfile(os.path.join(context_dir, '_build', 'collections', tarball)):
        problems.append('the build context lacks _build/collections/%s' % tarball)
    if not any(item.get('name', '').endswith(tarball) for item in requirements.get('collections', [])):
        problems.append('_build/requirements.yml does not name the tarball')
    if problems:
        sys.exit('ansible-builder create: ' + '; '.join(problems))
    print('create: build context in %s (Containerfile, %d lines; collection %s)'
          % (os.path.relpath(context_dir, ROOT), len(text.splitlines()), tarball))


def main(install_dir, context_dir):
    check_introspection(install_dir)
    check_create(os.path.abspath(context_dir), check_definition())


if __name__ == '__main__':
    main(*sys.argv[1:])
