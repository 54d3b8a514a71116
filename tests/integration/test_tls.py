# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS: the emulator serves HTTPS with a certificate of a test CA made at test time.

One playbook, one task per case: the default (validate_certs on, no CA given) refuses the unknown CA with a
message that says the certificate could not be verified and names ca_path and validate_certs; ca_path makes
AK/SK and password login work (IAM and KPS over TLS); REQUESTS_CA_BUNDLE does too; a certificate for
another host name is refused even with the right CA; validate_certs=false works but warns, every time, and
ca_path does not silence that warning. Nothing turns verification off without the warning: not the
environment variables that do so for other clients, and the request log shows that no refused case got a
request through.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from integration.harness import AnsibleRunner, exported_text
from kps_emulator import keys
from kps_emulator.testing import DEFAULTS, EmulatorProcess

INSECURE_WARNING = 'huaweicloud.kps: validate_certs is false, TLS certificates of the endpoints are not checked.'


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory):
    """A CA and two server certificates it signed: one for 127.0.0.1, one for another host name only."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name('kps test CA')).issuer_name(_name('kps test CA'))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (directory / 'ca.pem').write_bytes(ca.public_bytes(pem))
    paths = {'ca': str(directory / 'ca.pem')}
    for label, san in (('server', x509.IPAddress(ipaddress.ip_address('127.0.0.1'))),
                       ('wrong-host', x509.DNSName('kms.example.invalid'))):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name(label)).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([san]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        # The chain file (leaf + CA) also serves as the control client's CA file.
        (directory / ('%s.pem' % label)).write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
        key_path = directory / ('%s.key' % label)
        key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        key_path.chmod(0o600)
        paths[label] = (str(directory / ('%s.pem' % label)), str(key_path))
    return paths


@pytest.fixture
def tls(tmp_path_factory):
    directory = tmp_path_factory.mktemp('tls')
    paths = make_ca(directory)
    cert, key = paths['server']
    wrong_cert, wrong_key = paths['wrong-host']
    with EmulatorProcess(str(directory / 'state.json'), tls_cert=cert, tls_key=key) as good, \
            EmulatorProcess(str(directory / 'state-wrong.json'), tls_cert=wrong_cert, tls_key=wrong_key) as wrong:
        yield paths, good, wrong


def test_tls(tls, tmp_path):
    paths, emulator, wrong_host = tls
    assert emulator.url.startswith('https://127.0.0.1:')
    ansible = AnsibleRunner(emulator, tmp_path)
    private, public = keys.generate('ed25519')
    ansible.add_secret(private)
    client = emulator.client()
    client.json('POST', client.kps(), {'keypair': {'name': 'tls', 'public_key': public, 'key_protection': {
        'private_key': private, 'encryption': {'type': 'default'}}}}, expect=200)
    emulator.clear_requests()

    aksk = {'kps_endpoint': emulator.url, 'iam_endpoint': emulator.url, 'region': emulator.region,
            'project_id': emulator.project_id, 'access_key': emulator.access_key,
            'secret_key': '{{ kps_secret_key }}', 'retries': 0}
    password = {'kps_endpoint': emulator.url, 'iam_endpoint': emulator.url, 'region': emulator.region,
                'user_name': DEFAULTS['user'], 'user_password': '{{ kps_user_password }}',
                'domain_name': DEFAULTS['domain'], 'retries': 0}
    cases = [
        ('default', aksk, {}, {}),
        ('default, password login', password, {}, {}),
        ('ca_path', aksk, {'ca_path': paths['ca']}, {}),
        ('ca_path, password login', password, {'ca_path': paths['ca']}, {}),
        ('REQUESTS_CA_BUNDLE', aksk, {}, {'REQUESTS_CA_BUNDLE': paths['ca']}),
        ('wrong host name, right CA', dict(aksk, kps_endpoint=wrong_host.url), {'ca_path': paths['ca']}, {}),
        # Variables that turn verification off in other clients (an empty CURL_CA_BUNDLE once did in requests).
        ('verification-disabling environment', aksk, {},
         {'CURL_CA_BUNDLE': '', 'REQUESTS_CA_BUNDLE': '', 'PYTHONHTTPSVERIFY': '0'}),
        ('validate_certs false', aksk, {'validate_certs': False}, {}),
        ('validate_certs false, ca_path', aksk, {'validate_certs': False, 'ca_path': paths['ca']}, {}),
    ]
    tasks = []
    for index, (label, conn, options, env) in enumerate(cases):
        tasks.append({'name': label, 'huaweicloud.kps.kps_private_key_export': dict(
            conn, name='tls', dest=str(tmp_path / ('case-%d.pem' % index)), **options),
            'environment': env, 'register': 'case_%d' % index, 'ignore_errors': True})
    tasks.append({'name': 'keep the results', 'ansible.builtin.copy': {
        'dest': str(tmp_path / 'results.json'), 'mode': '0600',
        'content': '{{ [%s] | to_json }}' % ', '.join('case_%d' % index for index in range(len(cases)))}})
    ansible.playbook([{'name': 'tls', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}])
    with open(tmp_path / 'results.json') as handle:
        results = dict(zip([case[0] for case in cases], json.load(handle)))

    for label in ('default', 'default, password login', 'wrong host name, right CA',
                  'verification-disabling environment'):
        result = results[label]
        assert result['failed'], label
        msg = result['msg']
        assert 'certificate verify failed' in msg, msg
        assert 'set ca_path to its CA bundle' in msg and 'validate_certs=false turns the check off' in msg, msg
        assert 'TLS connection to 127.0.0.1:' in msg, msg
    assert "call 'show key pair' failed" in results['default']['msg']
    assert "call 'get IAM token' failed" in results['default, password login']['msg']
    assert 'IP address mismatch' in results['wrong host name, right CA']['msg'] or \
        "doesn't match" in results['wrong host name, right CA']['msg'] or \
        'mismatch' in results['wrong host name, right CA']['msg'], results['wrong host name, right CA']['msg']

    for label in ('ca_path', 'ca_path, password login', 'REQUESTS_CA_BUNDLE', 'validate_certs false',
                  'validate_certs false, ca_path'):
        result = results[label]
        assert not result.get('failed') and result['changed'], (label, result.get('msg'))
        warnings = result.get('warnings') or []
        if label.startswith('validate_certs false'):
            assert warnings.count(INSECURE_WARNING) == 1, (label, warnings)
        else:
            assert not any('validate_certs' in warning for warning in warnings), (label, warnings)
    for index in range(len(cases)):
        path = tmp_path / ('case-%d.pem' % index)
        assert path.exists() == (not results[cases[index][0]].get('failed'))
        if path.exists():
            assert path.read_text() == exported_text(private)

    # The refused cases never got a request through; the five that worked made one show and one export each
    # (the password logins one token call more).
    log = [entry['call'] for entry in emulator.requests()]
    assert log.count('export_private_key') == 5 and log.count('iam_token') == 1, log
    assert not os.path.exists(tmp_path / 'case-0.pem')
