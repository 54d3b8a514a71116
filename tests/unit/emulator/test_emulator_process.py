# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator as a process: ready line, clean stop, restart without loss, TLS, --help."""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kps_emulator.testing import PACKAGE_DIR, EmulatorProcess, seed_keypairs


def test_ready_line_and_clean_stop(tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        emu = EmulatorProcess(tmp_path / 'state.json').start()
        assert emu.url == 'http://127.0.0.1:%d' % emu.port and emu.port > 0
        assert emu.health()['status'] == 'ok'
        emu.proc.send_signal(sig)
        assert emu.proc.wait(10) == 0
        emu.stop()


def test_a_state_file_in_a_directory_that_does_not_exist_yet(tmp_path):
    state = tmp_path / 'build' / 'emulator-state.json'  # what `make emulator` gives on a fresh checkout
    emu = EmulatorProcess(state).start()
    try:
        assert emu.health()['status'] == 'ok' and state.is_file()
    finally:
        emu.stop()


def _start_output(tmp_path, *flags):
    """What the emulator prints on start, up to its last start line; the process is stopped again."""
    proc = subprocess.Popen([sys.executable, PACKAGE_DIR, '--port', '0', '--state', str(tmp_path / 'out.json'),
                             '--region', 'eu-west-101', '--project-id', 'p' * 32, '--access-key', 'AKPRINTED',
                             '--secret-key', 'SKNEVERPRINTED'] + list(flags), stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _line in range(8)]
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
    return ''.join(lines)


def test_start_prints_what_a_playbook_needs_but_not_the_secret_key(tmp_path):
    out = _start_output(tmp_path)
    url = out.splitlines()[0][len('KPS emulator listening on '):]
    assert out.startswith('KPS emulator listening on http://127.0.0.1:')
    for line in ('HW_KPS_ENDPOINT=' + url, 'HW_IAM_ENDPOINT=' + url, 'HW_ECS_ENDPOINT=' + url, 'HW_REGION_NAME=eu-west-101',
                 'HW_PROJECT_ID=' + 'p' * 32, 'HW_ACCESS_KEY=AKPRINTED'):
        assert line in out.splitlines()
    assert 'SKNEVERPRINTED' not in out and 'HW_SECRET_KEY=' not in out
    assert 'HW_SECRET_KEY=SKNEVERPRINTED' in _start_output(tmp_path, '--print-secret-key').splitlines()


def test_kill_and_restart_loses_nothing(tmp_path):
    emu = EmulatorProcess(tmp_path / 'state.json').start()
    try:
        made = seed_keypairs(emu.client(), 3)
        emu.kill()  # SIGKILL: no chance to flush anything
        emu.start()
        client = emu.client()
        for name, private_key in made.items():
            body = client.json('POST', client.kps('/private-key/export'), {'keypair': {'name': name}}, expect=200)[2]
            assert body['keypair']['private_key'] == private_key
    finally:
        emu.stop()


def test_help_shows_every_flag_with_its_default():
    out = subprocess.run([sys.executable, PACKAGE_DIR, '--help'], check=True, capture_output=True, text=True).stdout
    for text in ('--port', '--host', '--state', '--access-key', 'KPSEMULATORAK0000001', '--secret-key', '--security-token',
                 '--project-id', '0a1b2c3d4e5f60718293a4b5c6d7e8f9', '--region', 'cn-north-4', '--domain', 'emulator-domain',
                 '--user', 'emulator-user', '--password', 'emulator-password', '--kms-key', 'kps/default', '--tls-cert',
                 '--tls-key'):
        assert text in out


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'kps-emulator')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls(tmp_path):
    cert, key = _self_signed(tmp_path)
    with EmulatorProcess(tmp_path / 'state.json', tls_cert=cert, tls_key=key) as emu:
        assert emu.url.startswith('https://127.0.0.1:')
        client = emu.client()
        assert client.json('GET', client.kps(), expect=200)[2]['keypairs'] == []
        assert emu.requests()[-1]['call'] == 'list_keypairs'


@pytest.mark.skipif(not os.environ.get('KPS_EMULATOR_BENCH'), reason='set KPS_EMULATOR_BENCH=1 to time 1000 creates')
def test_thousand_hosted_creates_timing(tmp_path):
    with EmulatorProcess(tmp_path / 'state.json') as emu:
        started = time.perf_counter()
        seed_keypairs(emu.client(), 1000)
        elapsed = time.perf_counter() - started
        size = os.path.getsize(emu.state_file)
        print('\n1000 hosted creates: %.1f s (%.1f ms each), state file %d bytes' % (elapsed, elapsed, size))
        assert len(json.load(open(emu.state_file, encoding='utf-8'))['keypairs']) == 1000
