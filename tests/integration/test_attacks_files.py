# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attacks on the key writes of kps_private_key_file, kps_private_key_export and kps_keypair, by a real unprivileged user.

The modules run as root through real ansible-playbook processes against the emulator (check mode, real run,
repeat). The attacker (tests/integration/attacker.py) owns its home directory, as every user does, and shares
a sticky world-writable directory. Each test asserts what a defender would check by hand: the victim file is
unchanged (content, owner, mode, inode), nothing was created through a link, the key file belongs to root or
to the owner asked for, and the attacker cannot read it, nor, while 30 keys are written, any byte of them.
"""
from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time

import pytest

from integration.attacker import Group, file_state, needs_root
from integration.harness import CONNECTION, exported_text
from kps_emulator import keys
from kps_emulator.testing import seed_keypairs

pytestmark = needs_root

VICTIM_CONTENT = b'root:$6$victim-hash:19000:0:99999:7:::\n'


@pytest.fixture
def victim(base):
    """A root-owned file the attacker cannot read (think /etc/shadow), in a root-only directory."""
    directory = os.path.join(base, 'etc')
    os.mkdir(directory, 0o755)
    path = os.path.join(directory, 'shadow')
    with open(path, 'wb') as handle:
        handle.write(VICTIM_CONTENT)
    os.chmod(path, 0o640)
    return path


@pytest.fixture
def root_dir(base):
    """A root-owned directory with nothing in it, that links may point into."""
    path = os.path.join(base, 'root-only')
    os.mkdir(path, 0o700)
    return path


@pytest.fixture
def shared(base):
    """A sticky world-writable directory, like /tmp."""
    path = os.path.join(base, 'shared')
    os.mkdir(path)
    os.chmod(path, 0o1777)
    return path


@pytest.fixture
def keypairs(ansible):
    """{name: private PEM} of 30 hosted key pairs, registered with the secret guard."""
    seeded = seed_keypairs(ansible.emulator.client(), 30, prefix='atk-', kind='ed25519')
    for private in seeded.values():
        ansible.add_secret(private)
    return seeded


@pytest.fixture
def secret(ansible):
    private = keys.generate('ed25519')[0]
    ansible.add_secret(private)
    return private


def run_task(ansible, module, args, check_mode=False, extra_vars=None):
    """One task of ``module`` in a playbook (failures kept); returns its registered result."""
    result_file = os.path.join(ansible.workdir, 'result.json')
    ansible.playbook([{
        'name': 'attack', 'hosts': 'localhost', 'gather_facts': False,
        'module_defaults': {'group/huaweicloud.kps.kps': CONNECTION},
        'tasks': [
            {'name': 'the task under attack', module: args, 'register': 'out', 'ignore_errors': True,
             'no_log': True},
            {'name': 'keep the result', 'ansible.builtin.copy': {
                'content': '{{ out | to_json }}', 'dest': result_file, 'mode': '0600'}, 'check_mode': False},
        ]}], *(['--check'] if check_mode else []), extra_vars=extra_vars)
    with open(result_file) as handle:
        return json.load(handle)


def private_key_file(ansible, secret, path, check_mode=False, **options):
    return run_task(ansible, 'huaweicloud.kps.kps_private_key_file',
                    dict(path=str(path), content='{{ attack_private_key }}', **options), check_mode,
                    extra_vars={'attack_private_key': secret})


def export(ansible, check_mode=False, **args):
    return run_task(ansible, 'huaweicloud.kps.kps_private_key_export', args, check_mode)


def check_real_repeat(run, expect_changed=True):
    """Check mode, real run, repeat: returns the real run's result."""
    checked = run(True)
    assert not checked.get('failed'), checked.get('msg')
    assert checked['changed'] is expect_changed
    real = run(False)
    assert not real.get('failed'), real.get('msg')
    assert real['changed'] is expect_changed
    again = run(False)
    assert not again.get('failed') and again['changed'] is False, again.get('msg')
    return real


def assert_regular(path, content, uid, gid, mode=0o600):
    st = os.lstat(str(path))
    assert stat.S_ISREG(st.st_mode), '%s is not a regular file' % path
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid, gid, mode)
    with open(str(path)) as handle:
        assert handle.read() == content


# ----- (a) a link in the attacker's own home to a root-owned file --------------------------------------------

def test_private_key_file_replaces_a_link_to_a_root_file_and_leaves_the_file_alone(ansible, attacker, victim, secret):
    link = os.path.join(attacker.home, 'id_web')
    attacker.symlink(victim, link)
    before = file_state(victim)

    checked = private_key_file(ansible, secret, link, check_mode=True, owner=attacker.name)
    assert checked['changed'] is True and os.path.islink(link) and file_state(victim) == before

    check_real_repeat(lambda check: private_key_file(ansible, secret, link, check, owner=attacker.name))
    assert file_state(victim) == before
    assert_regular(link, secret, attacker.uid, os.getegid())


def test_private_key_file_refuses_a_directory_link_to_a_root_directory(ansible, attacker, root_dir, secret):
    ssh_dir = os.path.join(attacker.home, 'keys')
    attacker.symlink(root_dir, ssh_dir)
    path = os.path.join(ssh_dir, 'id_web')
    expected = ('%s is a symbolic link that another user could have made or can change; it is not followed and '
                'nothing was written. Make it a real directory, or give the path it points to.' % ssh_dir)
    for check_mode in (True, False):
        failed = private_key_file(ansible, secret, path, check_mode, owner=attacker.name)
        assert failed['failed'] is True and failed['msg'] == expected
    assert os.listdir(root_dir) == [] and stat.S_IMODE(os.stat(root_dir).st_mode) == 0o700
    assert os.stat(root_dir).st_uid == 0


def test_export_replaces_a_link_to_a_root_file_and_leaves_the_file_alone(ansible, attacker, victim, keypairs):
    name = sorted(keypairs)[0]
    dest = os.path.join(attacker.home, 'x')
    attacker.symlink(victim, dest)
    before = file_state(victim)
    real = check_real_repeat(lambda check: export(ansible, check, name=name, dest=dest))
    assert real['files'][0]['action'] == 'replace'
    assert file_state(victim) == before
    assert_regular(dest, exported_text(keypairs[name]), 0, 0)
    assert not attacker.can_read(dest)


# ----- (b) the attacker creates the file first, in a shared sticky directory ---------------------------------

def test_export_over_a_file_the_attacker_created_gives_it_to_root(ansible, attacker, shared, keypairs):
    name = sorted(keypairs)[0]
    planted = os.path.join(shared, '%s.pem' % name)
    attacker.run(['sh', '-c', 'umask 0; echo planted > "$1"', 'sh', planted])
    assert os.stat(planted).st_uid == attacker.uid and attacker.can_read(planted)

    real = check_real_repeat(lambda check: export(ansible, check, names=[name], dest=shared))
    assert real['files'][0]['action'] == 'replace'
    assert_regular(planted, exported_text(keypairs[name]), 0, 0)
    assert not attacker.can_read(planted)


def test_private_key_file_over_a_file_the_attacker_created_gives_it_to_root(ansible, attacker, shared, secret):
    planted = os.path.join(shared, 'id_deploy')
    attacker.run(['sh', '-c', 'umask 0; echo planted > "$1"', 'sh', planted])
    check_real_repeat(lambda check: private_key_file(ansible, secret, planted, check))
    assert_regular(planted, secret, 0, 0)
    assert not attacker.can_read(planted)


# ----- (c) planted links, dangling or not, in a world-writable directory ------------------------------------

def test_export_into_a_shared_directory_replaces_planted_links(ansible, attacker, shared, victim, root_dir, keypairs):
    first, second, third = sorted(keypairs)[:3]
    before = file_state(victim)
    attacker.symlink(victim, os.path.join(shared, '%s.pem' % first))                            # to a root file
    attacker.symlink(os.path.join(root_dir, 'created'), os.path.join(shared, '%s.pem' % second))  # dangling

    real = check_real_repeat(lambda check: export(ansible, check, names=[first, second, third], dest=shared))
    assert [item['action'] for item in real['files']] == ['replace', 'replace', 'create']
    assert file_state(victim) == before
    assert os.listdir(root_dir) == []
    for name in (first, second, third):
        assert_regular(os.path.join(shared, '%s.pem' % name), exported_text(keypairs[name]), 0, 0)


def test_private_key_file_replaces_a_dangling_link_without_creating_its_target(
        ansible, attacker, shared, root_dir, secret):
    path = os.path.join(shared, 'id_web')
    attacker.symlink(os.path.join(root_dir, 'authorized_keys'), path)
    check_real_repeat(lambda check: private_key_file(ansible, secret, path, check))
    assert os.listdir(root_dir) == []
    assert_regular(path, secret, 0, 0)


# ----- (d) a watcher as the attacker while 30 group-readable keys are written ---------------------------------

WATCHER = r'''
import json, os, sys
directory, ready, stop, out = sys.argv[1:5]
loops, seen, read, denied = 0, set(), {}, 0
open(ready, 'w').close()
while not os.path.exists(stop):
    loops += 1
    try:
        names = os.listdir(directory)
    except OSError:
        continue
    for name in names:
        seen.add(name)
        try:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            denied += 1
            continue
        try:
            data = os.read(fd, 1 << 16)
        except OSError:
            data = b''
        finally:
            os.close(fd)
        if data:
            read[name] = read.get(name, 0) + len(data)
with open(out, 'w') as handle:
    json.dump(dict(loops=loops, seen=sorted(seen), read=read, denied=denied), handle)
'''


def test_a_watcher_never_reads_a_key_byte_during_a_30_key_export(ansible, attacker, base, keypairs):
    """mode 0640 and a group the attacker is not in, in a setgid directory of the attacker's group (so every
    new file starts in the attacker's group): the temp files are 0600 and in the final group before they get
    the final mode, so there is no moment at which the attacker may read."""
    readers = Group()
    try:
        watched = os.path.join(base, 'watched')
        os.mkdir(watched)
        os.chown(watched, 0, attacker.gid)
        os.chmod(watched, 0o2750)
        script = os.path.join(base, 'watcher.py')
        with open(script, 'w') as handle:
            handle.write(WATCHER)
        os.chmod(script, 0o644)
        ready, stop, out = (os.path.join(attacker.home, name) for name in ('ready', 'stop', 'watch.json'))
        python = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable
        watcher = attacker.spawn([python, script, watched, ready, stop, out])
        deadline = time.time() + 30
        while not os.path.exists(ready) and time.time() < deadline:
            time.sleep(0.05)
        assert os.path.exists(ready), 'the watcher did not start'

        names = sorted(keypairs)
        result = export(ansible, names=names, dest=watched, mode='0640', group=readers.name)
        with open(stop, 'w'):
            pass
        watcher.wait(60)
        with open(out) as handle:
            watch = json.load(handle)
    finally:
        readers.remove()

    assert not result.get('failed'), result.get('msg')
    assert watch['read'] == {}, 'the attacker read %s' % watch['read']
    assert watch['loops'] > 10 and watch['denied'] > 0
    assert set('%s.pem' % name for name in names) <= set(watch['seen'])
    for name in names:
        assert_regular(os.path.join(watched, '%s.pem' % name), exported_text(keypairs[name]), 0, readers.gid, 0o640)


# ----- kps_keypair: a generated key written to dest in the attacker's home -------------------------------------

def keypair(ansible, check_mode=False, **args):
    return run_task(ansible, 'huaweicloud.kps.kps_keypair', args, check_mode)


def test_keypair_refuses_a_planted_directory_link_before_kps_generates_a_key(ansible, attacker, root_dir):
    keys_dir = os.path.join(attacker.home, 'keys')
    attacker.symlink(root_dir, keys_dir)
    expected = ('%s is a symbolic link that another user could have made or can change; it is not followed and '
                'nothing was written. Make it a real directory, or give the path it points to. Nothing was changed.'
                % keys_dir)
    ansible.emulator.clear_requests()
    for check_mode in (True, False):
        failed = keypair(ansible, check_mode, name='atk-gen', dest=os.path.join(keys_dir, 'gen.pem'))
        assert failed['failed'] is True and failed['msg'] == expected
    assert [entry['call'] for entry in ansible.emulator.requests()] == ['show_keypair', 'show_keypair']
    assert ansible.emulator.keypair('atk-gen') is None
    assert os.listdir(root_dir) == [] and os.stat(root_dir).st_uid == 0


def test_keypair_force_replaces_a_planted_file_link_and_leaves_the_root_file_alone(ansible, attacker, victim):
    link = os.path.join(attacker.home, 'gen.pem')
    attacker.symlink(victim, link)
    before = file_state(victim)
    refused = keypair(ansible, name='atk-gen2', dest=link)
    assert refused['failed'] is True and refused['msg'].startswith('dest %s already exists.' % link)
    real = keypair(ansible, name='atk-gen2', dest=link, force=True)
    assert not real.get('failed'), real.get('msg')
    assert real['dest_written'] is True
    assert file_state(victim) == before
    st = os.lstat(link)
    assert stat.S_ISREG(st.st_mode) and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, os.getegid(), 0o600)
    assert not attacker.can_read(link)


# ----- (e) another file swapped in between the look at a key file and the fix of its mode and owner ------------

def swap_when_asked(ansible, attacker, source, dest, errors):
    """As the attacker, rename ``source`` over ``dest`` once the module asks KPS about the key pair: it has
    looked at ``dest`` by then, and the emulator holds its answer (a hold fault) until the file has changed."""
    try:
        deadline = time.time() + 120
        while not ansible.emulator.requests('show_keypair'):
            if time.time() > deadline:
                raise AssertionError('the module never asked KPS about the key pair')
            time.sleep(0.05)
        attacker.run(['mv', '-f', source, dest])
    except Exception as exc:  # pylint: disable=broad-exception-caught
        errors.append(exc)
    finally:
        ansible.emulator.release()


def test_export_fixes_the_mode_and_owner_only_of_the_file_it_checked(ansible, attacker, keypairs):
    """The attacker owns the directory (their home), so they can put another file at the name after the module
    read the key there and before it fixes the mode and owner: root must not give that file to root:readers."""
    name = sorted(keypairs)[0]
    keys_dir = os.path.join(attacker.home, 'keys')
    attacker.run(['mkdir', '-m', '0755', keys_dir])
    dest = os.path.join(keys_dir, '%s.pem' % name)
    first = export(ansible, name=name, dest=dest)
    assert not first.get('failed') and first['changed'] is True, first.get('msg')
    assert_regular(dest, exported_text(keypairs[name]), 0, 0)
    mine = os.path.join(keys_dir, 'mine')
    attacker.run(['sh', '-c', 'umask 0; echo "the attacker\'s key" > "$1"', 'sh', mine])

    readers = Group()
    try:
        ansible.emulator.clear_requests()
        # Held until the swap is done (a fixed delay could end first on a loaded machine), at most 25 s: less
        # than the module's 30 s timeout, so that the answer is never read as a timeout.
        ansible.emulator.add_faults({'call': 'show_keypair', 'hold': 25})
        errors = []
        swapper = threading.Thread(target=swap_when_asked, args=(ansible, attacker, mine, dest, errors))
        swapper.start()
        raced = export(ansible, name=name, dest=dest, mode='0640', owner='root', group=readers.name)
        swapper.join(150)
        assert errors == []
    finally:
        readers.remove()

    assert raced['failed'] is True
    assert raced['msg'] == ('%s was replaced by another file while the task ran; nothing was read from or changed '
                            'on it. Find out who replaces it, then run the task again.' % dest)
    st = os.lstat(dest)
    assert stat.S_ISREG(st.st_mode)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (attacker.uid, attacker.gid, 0o666)
    with open(dest) as handle:
        assert handle.read() == "the attacker's key\n"


# ----- (f) a key file option pointed at a file only root may read, by a link the attacker planted -------------

@pytest.fixture
def root_key(root_dir):
    """Root's own key pair (think /root/.ssh/id_ed25519 and .pub), in a root-only directory."""
    private, public = keys.generate('ed25519')
    path = os.path.join(root_dir, 'id_ed25519')
    for name, text in ((path, private), (path + '.pub', public + '\n')):
        with open(name, 'w') as handle:
            handle.write(text)
        os.chmod(name, 0o600)
    return path, private, public


def refused_read(option, path, link, real):
    return ('Cannot read %s %s on the host running the module: %s is a symbolic link that another user could '
            'have made or can change, so it is not followed and nothing was read. If the file it leads to (%s) '
            'is the one to read, give that path.' % (option, path, link, real))


def import_key(ansible, check_mode=False, **args):
    return run_task(ansible, 'huaweicloud.kps.kps_private_key_import', args, check_mode)


def test_import_does_not_send_roots_key_through_a_link_the_attacker_planted(ansible, attacker, shared, root_key):
    path, private, _public = root_key
    ansible.add_secret(private)
    planted = [(os.path.join(attacker.home, 'web.pem'), os.path.join(attacker.home, 'web.pem')),  # in their home
               (os.path.join(shared, 'web.pem'), os.path.join(shared, 'web.pem')),                # in a shared dir
               (os.path.join(attacker.home, 'keys', 'id_ed25519'), os.path.join(attacker.home, 'keys'))]
    attacker.symlink(path, planted[0][0])
    attacker.symlink(path, planted[1][0])
    attacker.symlink(os.path.dirname(path), planted[2][1])
    ansible.emulator.clear_requests()
    for key_path, link in planted:
        for check_mode in (True, False):
            failed = import_key(ansible, check_mode, name='atk-stolen', private_key_path=key_path)
            assert failed['failed'] is True
            assert failed['msg'] == refused_read('private_key_path', key_path, link, path)
    assert ansible.emulator.keypair('atk-stolen') is None
    assert [entry['call'] for entry in ansible.emulator.requests() if entry['call'] == 'import_private_key'] == []

    # Root can still name its own key by its real path (as the message says), and root's links still work.
    os.symlink(path, os.path.join(os.path.dirname(path), 'current'))
    done = import_key(ansible, name='atk-own', private_key_path=os.path.join(os.path.dirname(path), 'current'))
    assert not done.get('failed') and done['changed'] is True, done.get('msg')
    assert keys.same_public_key(ansible.emulator.keypair('atk-own')['public_key'], root_key[2])


def test_keypair_does_not_read_a_root_only_file_through_a_link_the_attacker_planted(ansible, attacker, root_key):
    path = root_key[0] + '.pub'
    link = os.path.join(attacker.home, 'id.pub')
    attacker.symlink(path, link)
    for check_mode in (True, False):
        failed = keypair(ansible, check_mode, name='atk-pub', public_key_path=link)
        assert failed['failed'] is True and failed['msg'] == refused_read('public_key_path', link, link, path)
    assert ansible.emulator.keypair('atk-pub') is None


# ----- (g) the same, by a hard link the attacker made to root's key (fs.protected_hardlinks=0) ---------------

@pytest.fixture
def linkable_root_key(root_key, root_dir):
    """Root's key pair, 0600, in a root-owned directory others may traverse (/etc/ssh, or a 0755 /root)."""
    os.chmod(root_dir, 0o755)
    return root_key


def refused_hard_link(option, path):
    return ('Cannot read %s %s on the host running the module: %s has other hard links, and another user can '
            'write to %s: they could have made this name for a file they cannot read, so nothing was read or sent. '
            'Give a path in a directory only root or you can write, or remove the extra link.'
            % (option, path, path, os.path.dirname(path)))


def test_import_does_not_send_roots_key_through_a_hard_link_the_attacker_made(
        ansible, attacker, shared, linkable_root_key, unprotected_hardlinks):
    path, private, public = linkable_root_key
    ansible.add_secret(private)
    assert not attacker.can_read(path)
    planted = [os.path.join(attacker.home, 'web.pem'), os.path.join(shared, 'web.pem')]  # their home, a shared dir
    for name in planted:
        attacker.run(['ln', path, name])
    assert os.stat(path).st_nlink == 3 and os.stat(planted[1]).st_uid == 0  # the attacker's names for root's file
    ansible.emulator.clear_requests()
    for key_path in planted:
        for check_mode in (True, False):
            failed = import_key(ansible, check_mode, name='atk-stolen', private_key_path=key_path)
            assert failed['failed'] is True
            assert failed['msg'] == refused_hard_link('private_key_path', key_path)
    assert ansible.emulator.keypair('atk-stolen') is None
    assert ansible.emulator.requests() == []  # nothing was sent, not even a look-up

    # Root's key keeps its extra names and is still imported by its own path, in root's directory.
    done = import_key(ansible, name='atk-own', private_key_path=path)
    assert not done.get('failed') and done['changed'] is True, done.get('msg')
    assert keys.same_public_key(ansible.emulator.keypair('atk-own')['public_key'], public)


def test_keypair_does_not_read_a_root_only_file_through_a_hard_link_the_attacker_made(
        ansible, attacker, linkable_root_key, unprotected_hardlinks):
    """kps_keypair reads public_key_path through the same read_option_file: one case is enough."""
    path = linkable_root_key[0] + '.pub'
    planted = os.path.join(attacker.home, 'id.pub')
    attacker.run(['ln', path, planted])
    ansible.emulator.clear_requests()
    for check_mode in (True, False):
        failed = keypair(ansible, check_mode, name='atk-pub', public_key_path=planted)
        assert failed['failed'] is True and failed['msg'] == refused_hard_link('public_key_path', planted)
    assert ansible.emulator.keypair('atk-pub') is None
    assert ansible.emulator.requests() == []
