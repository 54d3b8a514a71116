# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real SSH hosts on this machine, for tests that need Ansible to talk to more than localhost.

:func:`ssh_hosts` starts N hosts, each one a network namespace with its own address, its own ``sshd`` and
its own root home directory (a private tmpfs on ``/root``, so every host has its own ``~/.ssh``)::

    with ssh_hosts(3, tmp_path) as hosts:
        ansible.playbook(play, '-i', hosts.inventory)
        hosts[0].run(['cat', '/root/.ssh/authorized_keys'])

Layout (``<token>`` is unique per set of hosts and carries the owning process id, so that leftovers of a
killed run are recognised and removed by the next run)::

    controller (this process)  --  bridge kpsb<token>  10.231.X.1/24
                                     |- veth -> netns kps-<pid>-<seq>-hN:  eth0 10.231.X.(10+N)/24, sshd on :22

Needs root, ``ip`` (iproute2), ``sshd``/``ssh``/``ssh-keygen`` (openssh) and ``nsenter``/``unshare``
(util-linux); without them the context manager skips the test with the reason. Everything it starts is
torn down when the ``with`` block ends, also when the test fails: the processes in each namespace are
killed first (``ip netns pids``; Ansible's persistent SSH connections would otherwise keep sshd children
alive), then the namespaces and the bridge are deleted.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import yaml

SSHD = '/usr/sbin/sshd'
HOST_PYTHON = '/usr/bin/python3'  # Debian's system python: what a real managed host would have
SUBNET_PREFIX = '10.231'  # 10.231.X.0/24, used only inside the namespaces and on our own bridge
HOST_OFFSET = 10
TOOLS = ('ip', 'ssh', 'ssh-keygen', 'nsenter', 'unshare', 'mount')
NETNS_RE = re.compile(r'^kps-(\d+)-(\d+)-h\d+$')
LINK_RE = re.compile(r'^kps[bv]([0-9a-f]+)x[0-9a-f]+(h\d+)?$')  # our bridges and our ends of veth pairs
START_TIMEOUT = 60.0  # a deadline, not a wait: sshd starts in well under a second when the machine is idle

_sequence = itertools.count()


class SshHostsError(RuntimeError):
    pass


def unavailable_reason():
    """Why real SSH hosts cannot be started here, or None when they can."""
    if os.geteuid() != 0:
        return 'real SSH hosts need root (network namespaces, mounts)'
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not os.access(SSHD, os.X_OK):
        missing.append(SSHD)
    if not os.access(HOST_PYTHON, os.X_OK):
        missing.append(HOST_PYTHON)
    if missing:
        return 'real SSH hosts need %s (make system-deps installs them)' % ', '.join(missing)
    return None


def _run(argv, check=True, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise SshHostsError('%s failed (rc=%d): %s' % (' '.join(argv), proc.returncode, proc.stderr.strip()))
    return proc


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


class SshHost:
    """One host: inventory name, address, network namespace and the pid of its sshd."""

    def __init__(self, name, address, netns, veth, workdir):
        self.name = name
        self.address = address
        self.netns = netns
        self.veth = veth  # our end of the host's veth pair, on the bridge
        self.workdir = workdir
        self.sshd = None  # subprocess.Popen, sshd -D inside the namespace

    @property
    def pid(self):
        return self.sshd.pid

    def nsenter(self, argv):
        """argv run inside this host: its network namespace and its mount namespace (its own /root)."""
        return ['nsenter', '--target', str(self.pid), '--mount', '--net', '--'] + list(argv)

    def run(self, argv, check=True, input=None, timeout=60):
        """Run a command on this host (as root, directly, not through SSH); returns the CompletedProcess."""
        proc = subprocess.run(self.nsenter(argv), capture_output=True, text=True, input=input, timeout=timeout,
                              check=False)
        if check and proc.returncode != 0:
            raise SshHostsError('%s on %s failed (rc=%d): %s'
                                % (' '.join(argv), self.name, proc.returncode, proc.stderr.strip()))
        return proc

    def ssh_argv(self, identity, user='root', command=('true',)):
        """An ssh command line that logs in to this host with ``identity`` only (no agent, no prompts). The connect
        timeout also bounds sshd's greeting, which a loaded machine can delay by seconds (sshd re-executes itself
        for every connection)."""
        return ['ssh', '-i', identity, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
                '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
                '-o', 'ConnectTimeout=30', '-F', '/dev/null', '%s@%s' % (user, self.address)] + list(command)

    def reload(self, timeout=60):
        """Make sshd read its configuration again (SIGHUP) and return once the new sshd answers.

        On SIGHUP sshd closes its listener and re-executes itself, which then writes its pid file again after it
        bound the port. A fixed sleep before looking for the listener can still find the old one on a loaded
        machine (and the next login then meets the restart), so wait for the new pid file instead."""
        pid_file = os.path.join(self.workdir, 'sshd.pid')
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pid_file)
        os.kill(self.pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while not os.path.exists(pid_file):
            if time.monotonic() > deadline:
                raise SshHostsError('sshd of %s did not come back after SIGHUP' % self.name)
            time.sleep(0.05)
        _wait_listening(self, deadline)

    def __repr__(self):
        return 'SshHost(%s, %s)' % (self.name, self.address)


class SshHosts:
    """The running hosts, the controller key that logs in to all of them, and an inventory file."""

    def __init__(self, hosts, controller_key, inventory, group):
        self.hosts = hosts
        self.controller_key = controller_key
        self.inventory = inventory
        self.group = group

    def __iter__(self):
        return iter(self.hosts)

    def __len__(self):
        return len(self.hosts)

    def __getitem__(self, index):
        return self.hosts[index]

    @property
    def names(self):
        return [host.name for host in self.hosts]


def _used_networks():
    """The IPv4 networks this machine already routes or owns, so that we never overlap one."""
    nets = []
    for argv in (['ip', '-o', '-4', 'route', 'show', 'table', 'all'], ['ip', '-o', '-4', 'addr', 'show']):
        for line in _run(argv, check=False).stdout.splitlines():
            for word in line.split():
                if re.match(r'^\d+\.\d+\.\d+\.\d+(/\d+)?$', word):
                    with contextlib.suppress(ValueError):
                        nets.append(ipaddress.ip_network(word, strict=False))
    return nets


def _pick_subnet(start):
    used = _used_networks()
    for offset in range(254):
        subnet = ipaddress.ip_network('%s.%d.0/24' % (SUBNET_PREFIX, (start + offset) % 254 + 1))
        if not any(subnet.overlaps(net) for net in used if net.prefixlen > 0):
            return subnet
    raise SshHostsError('no free /24 left in %s.0.0/16' % SUBNET_PREFIX)


def remove_stale():
    """Remove namespaces, bridges and veths left behind by runs whose process no longer exists (killed runs)."""
    for line in _run(['ip', 'netns', 'list'], check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ''
        match = NETNS_RE.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _kill_netns_processes(name)
            _run(['ip', 'netns', 'del', name], check=False)
    for line in _run(['ip', '-o', 'link', 'show'], check=False).stdout.splitlines():
        fields = line.split(':')
        name = fields[1].strip().split('@')[0] if len(fields) > 1 else ''
        match = LINK_RE.match(name)
        if match and not _pid_alive(int(match.group(1), 16)):
            _run(['ip', 'link', 'del', name], check=False)


def _netns_pids(netns):
    proc = _run(['ip', 'netns', 'pids', netns], check=False)
    return [int(pid) for pid in proc.stdout.split() if pid.isdigit()]


def _kill_netns_processes(netns, grace=3.0):
    """SIGTERM every process in the namespace, then SIGKILL what is left after ``grace`` seconds."""
    pids = _netns_pids(netns)
    # After SIGKILL only the wait for the exits is left: long enough for a loaded machine (it ends at once).
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 60.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            time.sleep(0.05)
            pids = _netns_pids(netns)
        if not pids:
            return
    raise SshHostsError('processes %s in %s survived SIGKILL' % (pids, netns))


SSHD_CONFIG = """\
# sshd of test host {name}: own host key, pid file and admin keys; root's home is a private tmpfs.
ListenAddress {address}:22
HostKey {workdir}/ssh_host_ed25519_key
PidFile {workdir}/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys {workdir}/admin_authorized_keys
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PrintMotd no
MaxStartups 50
MaxSessions 50
Subsystem sftp internal-sftp
"""


def _close_control_masters(control_dir):
    """Ask Ansible's persistent SSH connections (ControlPersist masters) under ``control_dir`` to exit."""
    if not os.path.isdir(control_dir):
        return
    for name in os.listdir(control_dir):
        _run(['ssh', '-F', '/dev/null', '-o', 'ControlPath=' + os.path.join(control_dir, name), '-O', 'exit',
              'kps-test-host'], check=False, timeout=10)


def _teardown(hosts, bridge, control_dir):
    """Stop everything ssh_hosts started; runs every step even when one fails, then reports the first error."""
    errors = []

    def step(func, *args, **kwargs):
        try:
            func(*args, **kwargs)
        except Exception as exc:  # pylint: disable=broad-except  # keep tearing down, report at the end
            errors.append(exc)

    step(_close_control_masters, control_dir)
    # Processes first, while the network is still up, so that connections close cleanly on both ends.
    for host in hosts:
        if os.path.exists(os.path.join('/run/netns', host.netns)):
            step(_kill_netns_processes, host.netns)
    for host in hosts:
        if host.sshd is not None:
            if host.sshd.poll() is None:  # never made it into the namespace: it is still our direct child
                step(host.sshd.kill)
            step(host.sshd.wait, timeout=60)
    for host in hosts:
        step(_run, ['ip', 'link', 'del', host.veth], check=False)
        step(_run, ['ip', 'netns', 'del', host.netns], check=False)
    step(_run, ['ip', 'link', 'del', bridge], check=False)
    if errors:
        raise errors[0]


def _write(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)


def _keygen(path):
    _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', os.path.basename(path), '-f', path])
    with open(path + '.pub') as handle:
        return handle.read()


def _wait_listening(host, deadline):
    while True:
        if host.sshd.poll() is not None:
            with open(os.path.join(host.workdir, 'sshd.log')) as handle:
                log = handle.read()
            raise SshHostsError('sshd of %s exited with %s: %s' % (host.name, host.sshd.returncode, log[-2000:]))
        with contextlib.suppress(OSError), socket.create_connection((host.address, 22), timeout=0.5) as sock:
            if sock.recv(4).startswith(b'SSH-'):
                return
        if time.monotonic() > deadline:
            raise SshHostsError('sshd of %s did not answer on %s:22' % (host.name, host.address))
        time.sleep(0.05)


def _inventory(path, hosts, controller_key, group, control_dir):
    common = {
        'ansible_connection': 'ssh',
        'ansible_user': 'root',
        'ansible_ssh_private_key_file': controller_key,
        'ansible_python_interpreter': HOST_PYTHON,
        # No known_hosts written to the controller's home; control sockets in the work dir, not ~/.ansible/cp.
        'ansible_ssh_common_args': '-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no '
                                   '-o UserKnownHostsFile=/dev/null',
        'ansible_control_path_dir': control_dir,
        # Modules and their arguments go through ssh's stdin: fewer round trips, no module files in /tmp.
        'ansible_pipelining': True,
    }
    # Host variables, not group 'all' variables: the implicit localhost reads those and must stay local.
    data = {'all': {'children': {group: {'hosts': {
        host.name: dict(common, ansible_host=host.address) for host in hosts}}}}}
    with open(path, 'w') as handle:
        yaml.safe_dump(data, handle, default_flow_style=False)


@contextlib.contextmanager
def ssh_hosts(count, workdir, group='kps_hosts', name_prefix='host'):
    """Start ``count`` SSH hosts; yields :class:`SshHosts`. Skips the calling test when this machine can't."""
    reason = unavailable_reason()
    if reason:
        import pytest  # only the skip needs pytest; the module itself is usable from plain scripts
        pytest.skip(reason)
    workdir = os.path.abspath(str(workdir))
    os.makedirs('/run/sshd', mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    remove_stale()

    pid, seq = os.getpid(), next(_sequence)
    bridge = 'kpsb%xx%x' % (pid, seq)
    control_dir = os.path.join(workdir, 'cp')
    os.makedirs(control_dir, mode=0o700, exist_ok=True)
    hosts = []
    try:
        # Another xdist worker may pick a /24 at the same moment: a free subnet is only ours once our bridge has
        # its address, so the pick and the address are made under a lock the workers share.
        with open(os.path.join(tempfile.gettempdir(), 'kps-tests-ssh-hosts-subnet.lock'), 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            subnet = _pick_subnet(pid + seq * 37)
            addresses = list(subnet.hosts())
            _run(['ip', 'link', 'add', bridge, 'type', 'bridge'])
            _run(['ip', 'addr', 'add', '%s/%d' % (addresses[0], subnet.prefixlen), 'dev', bridge])
        _run(['ip', 'link', 'set', bridge, 'up'])

        key_dir = os.path.join(workdir, 'controller')
        os.makedirs(key_dir, mode=0o700, exist_ok=True)
        controller_key = os.path.join(key_dir, 'id_ed25519')
        admin_key = _keygen(controller_key)

        for index in range(1, count + 1):
            netns = 'kps-%d-%d-h%d' % (pid, seq, index)
            host = SshHost('%s%d' % (name_prefix, index), str(addresses[HOST_OFFSET + index - 1]), netns,
                           'kpsv%xx%xh%d' % (pid, seq, index), os.path.join(workdir, 'hosts', netns))
            hosts.append(host)  # from here on, teardown knows about it
            os.makedirs(host.workdir, mode=0o700)
            _run(['ip', 'netns', 'add', netns])
            _run(['ip', 'link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns])
            _run(['ip', 'link', 'set', host.veth, 'master', bridge, 'up'])
            _run(['ip', '-n', netns, 'addr', 'add', '%s/%d' % (host.address, subnet.prefixlen), 'dev', 'eth0'])
            _run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up'])
            _run(['ip', '-n', netns, 'link', 'set', 'lo', 'up'])

            _keygen(os.path.join(host.workdir, 'ssh_host_ed25519_key'))
            _write(os.path.join(host.workdir, 'admin_authorized_keys'), admin_key)
            config = os.path.join(host.workdir, 'sshd_config')
            _write(config, SSHD_CONFIG.format(name=host.name, address=host.address, workdir=host.workdir))
            # `ip netns exec` gives every command a fresh mount namespace; unshare makes one that sshd and all
            # its sessions share, with a private tmpfs on /root: this host's own home directory for root.
            script = 'mount -t tmpfs -o mode=0700,size=32m kps-home /root && exec %s -D -e -f %s' % (SSHD, config)
            with open(os.path.join(host.workdir, 'sshd.log'), 'w') as log:
                host.sshd = subprocess.Popen(
                    ['ip', 'netns', 'exec', netns, 'unshare', '--mount', '--propagation', 'private',
                     'sh', '-c', script], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

        deadline = time.monotonic() + START_TIMEOUT
        for host in hosts:
            _wait_listening(host, deadline)

        inventory = os.path.join(workdir, 'inventory.yml')
        _inventory(inventory, hosts, controller_key, group, control_dir)
        yield SshHosts(hosts, controller_key, inventory, group)
    finally:
        _teardown(hosts, bridge, control_dir)
