# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input for both modules and the role: one playbook, one case after the other.

Each case asserts the exact error message (a precise regular expression), the exact requests that reached
the emulator (never one that changes state, and none at all for problems the module can see locally), that
the emulator's records of the key pairs are unchanged, and that no local file was written or changed. The
test action plugin ``kps_case`` (tests/integration/plugins/action) takes the snapshots and reads the request
log around each case.

Tests run as root, who can read a file with mode 000; "unreadable" paths are therefore a directory (EISDIR)
and a path below a regular file (ENOTDIR), and the unwritable destination is below /sys, where not even root
can create a file.
"""
from __future__ import annotations

import collections
import datetime
import json
import re
import resource
import socket
import time

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448
from cryptography.x509.oid import NameOID

from integration.harness import CONNECTION, REPORTS, AnsibleRunner, start_emulator
from kps_emulator import keys

IMPORT = 'huaweicloud.kps.kps_private_key_import'
EXPORT = 'huaweicloud.kps.kps_private_key_export'
KEYPAIR = 'huaweicloud.kps.kps_keypair'
MODULES = {'import': IMPORT, 'export': EXPORT, 'keypair': KEYPAIR}
ROLE = 'huaweicloud.kps.kps_key_distribution'
PASSPHRASE = 'correct horse battery staple 42'
# Calls that change the emulator's state: a bad input must never get one of them answered with success.
WRITES = ('create_keypair', 'update_keypair', 'delete_keypair', 'import_private_key', 'clear_private_key')

CONN = dict(CONNECTION, retries=0, timeout=5)
NO_CONN = dict.fromkeys(CONNECTION)


def child_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_key_files(directory, ansible):
    """Every kind of bad key file, plus a good one; returns {label: path}."""
    directory.mkdir(mode=0o700)
    files = {}

    def put(label, data):
        path = directory / label
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        path.chmod(0o600)
        files[label] = str(path)

    none = serialization.NoEncryption()
    good, good_public = keys.generate('ed25519')
    ansible.add_secret(good)
    put('good.pem', good)
    put('good.pub', good_public)
    put('not-a-key.txt', 'this is not a key\n')
    put('empty.pem', '')
    put('truncated.pem', good[:len(good) // 2])
    other = ec.generate_private_key(ec.SECP256R1())
    put('public.pem', other.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'kps-test')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(other.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(other, hashes.SHA256()))
    put('cert.pem', cert.public_bytes(serialization.Encoding.PEM))
    encrypted = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    ansible.add_secret(encrypted.decode(), passphrase=PASSPHRASE)
    ansible.add_secret(PASSPHRASE)
    put('encrypted.pem', encrypted)
    for label, key, fmt in (
            ('dsa.pem', dsa.generate_private_key(2048), serialization.PrivateFormat.TraditionalOpenSSL),
            ('secp256k1.pem', ec.generate_private_key(ec.SECP256K1()), serialization.PrivateFormat.TraditionalOpenSSL),
            ('ed448.pem', ed448.Ed448PrivateKey.generate(), serialization.PrivateFormat.PKCS8)):
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, none).decode()
        ansible.add_secret(pem)
        put(label, pem)
    return files


def build_cases(files, out, emulator_port):
    """[(id, kind, args or role vars, message regex, calls)]: ``calls`` is the exact request log of the case."""
    bad_port = _closed_port()
    good = files['good.pem']
    cases = []

    def case(kind, args, message, calls=(), conn=None):
        cid = 'c%02d' % len(cases)
        if kind in MODULES:
            merged = dict(CONN, **(conn or {}))
            merged.update(args)
            args = dict((key, value) for key, value in merged.items() if value is not None)
        cases.append((cid, kind, args, message, list(calls)))

    # ----- kps_private_key_import ------------------------------------------------------------------------
    name_msg = r'^Invalid key pair name: %s\. A key pair name has 1 to 255 letters, digits, "_" or "-"\.$'
    case('import', {'name': 'bad name!', 'private_key_path': good}, name_msg % "'bad name!'")
    case('import', {'name': 'x' * 256, 'private_key_path': good},
         name_msg % (r"'%s'\.\.\. \(256 characters: too long\)" % ('x' * 40)))
    case('import', {'name': '', 'private_key_path': good}, name_msg % "''")
    case('import', {'name': 'ключ', 'private_key_path': good}, name_msg % "'ключ'")
    case('import', {'name': 'ok', 'private_key_path': good, 'privat_key': 'x'},
         r'^Unsupported parameters for \(huaweicloud\.kps\.kps_private_key_import\) module: privat_key\. '
         r'Supported parameters include: ')
    case('import', {'name': 'ok', 'private_key_path': good, 'private_key': 'both-options-given'},
         r'^parameters are mutually exclusive: private_key\|private_key_path$')
    case('import', {'name': 'ok'},
         r'^state is present but any of the following are missing: private_key, private_key_path, keys$')
    read_msg = r'^Cannot read private_key_path %s on the host running the module: %s$'
    case('import', {'name': 'ok', 'private_key_path': str(out / 'missing.pem')},
         read_msg % (re.escape(str(out / 'missing.pem')), 'No such file or directory'))
    case('import', {'name': 'ok', 'private_key_path': str(out)}, read_msg % (re.escape(str(out)), 'Is a directory'))
    not_a_dir = '%s is not a directory, so %s/key.pem cannot be opened.' % (good, good)
    case('import', {'name': 'ok', 'private_key_path': good + '/key.pem'},
         read_msg % (re.escape(good + '/key.pem'), re.escape(not_a_dir)))
    key_msg = r'^Cannot use the private key for key pair ok: %s'
    case('import', {'name': 'ok', 'private_key_path': files['not-a-key.txt']},
         key_msg % r'The private key is not in PEM or OpenSSH format \(expected a "-----BEGIN \.\.\. PRIVATE KEY-----"')
    case('import', {'name': 'ok', 'private_key_path': files['empty.pem']}, key_msg % r'The private key is empty\.$')
    case('import', {'name': 'ok', 'private_key_path': files['truncated.pem']},
         key_msg % r'The private key (is not in PEM or OpenSSH format|could not be parsed)')
    case('import', {'name': 'ok', 'private_key_path': files['good.pub']},
         key_msg % r'The data given as the private key is an OpenSSH public key\. Give the private key')
    case('import', {'name': 'ok', 'private_key_path': files['public.pem']},
         key_msg % r'The data given as the private key is a PEM public key, not a private key\.')
    case('import', {'name': 'ok', 'private_key_path': files['cert.pem']},
         key_msg % r'The data given as the private key is an X\.509 certificate, not a private key\.')
    case('import', {'name': 'ok', 'private_key_path': files['encrypted.pem']},
         key_msg % r'The private key is encrypted\. Give its passphrase \(private_key_passphrase\)\.$')
    case('import', {'name': 'ok', 'private_key_path': files['encrypted.pem'], 'private_key_passphrase': 'wrong words'},
         key_msg % r'Could not decrypt the private key: the passphrase is wrong')
    case('import', {'name': 'ok', 'private_key_path': files['dsa.pem']},
         key_msg % r'DSA \(ssh-dss\) keys are not supported')
    case('import', {'name': 'ok', 'private_key_path': files['secp256k1.pem']},
         key_msg % r'ECDSA keys on curve secp256k1 are not supported; use P-256, P-384 or P-521\.$')
    case('import', {'name': 'ok', 'private_key_path': files['ed448.pem']},
         key_msg % r'(This kind of private key \(\w+\) is not supported|The private key uses an algorithm)')
    case('import', {'name': 'ok', 'private_key_path': good, 'encryption_type': 'kms'},
         r'^encryption_type is kms but any of the following are missing: kms_key_name, kms_key_id$')
    case('import', {'name': 'ok', 'private_key_path': good, 'encryption_type': 'kms', 'kms_key_name': 'kps/default',
                    'kms_key_id': 'not-its-id'},
         r"^Key pair ok: KPS call 'create key pair' failed: HTTP 400 KPS\.6008: .*\(request id \w+\)\. Check that the "
         r'KMS key', ['show_keypair', 'create_keypair'])
    case('import', {'name': 'ok', 'private_key_path': good, 'encryption_type': 'kms', 'kms_key_name': 'no/such'},
         r"^Key pair ok: KPS call 'create key pair' failed: HTTP 400 KPS\.6008: .*\(request id \w+\)\. Check that the "
         r'KMS key', ['show_keypair', 'create_keypair'])
    case('import', {'name': 'cold', 'private_key_path': good},
         r'^The private key does not belong to key pair cold: the key pair has the public key with fingerprint',
         ['show_keypair'])
    case('import', {'name': 'ok', 'private_key_path': good, 'create': False},
         r'^Key pair ok does not exist, and create=false forbids creating it\.', ['show_keypair'])
    case('import', {'name': 'ok', 'private_key_path': good, 'timeout': 0},
         r'^timeout must be a positive number of seconds\.$')
    case('import', {'name': 'ok', 'private_key_path': good, 'retries': -1}, r'^retries must be 0 \(no retries\) or more\.$')
    case('import', {'name': 'ok', 'private_key_path': good}, r'^No Huawei Cloud credentials were given\. Found: no '
         r'credential options\. Give exactly one of: access_key \+ secret_key', conn=NO_CONN)
    case('import', {'name': 'ok', 'private_key_path': good}, r'^AK/SK authentication needs secret_key\. Found: '
         r'access_key\.', conn={'secret_key': None})
    case('import', {'name': 'ok', 'private_key_path': good, 'user_name': 'someone'},
         r'^Credentials for more than one authentication method were given \(access_key/secret_key and '
         r'user_name/user_password\)')
    case('import', {'name': 'ok', 'private_key_path': good},
         r"^Key pair ok: KPS call 'show key pair' failed: HTTP 401 APIGW\.0301: .*\. Check access_key/secret_key "
         r'\(and security_token for temporary credentials\) and that the clock of the host running the module is '
         r'right \(not retried: repeated failures lock the access key\) \(request id \w+\)$',
         ['show_keypair'], conn={'secret_key': 'NotTheSecretKeyOfTheEmulator000000000000'})
    # A bad token: the hint is about the token, not about an AK/SK or the clock.
    case('import', {'name': 'ok', 'private_key_path': good},
         r"^Key pair ok: KPS call 'show key pair' failed: HTTP 401 APIGW\.0301: .*\. Check auth_token: it must be a "
         r'valid IAM token \(the X-Subject-Token of a login, valid for 24 hours\) scoped to the project of region; '
         r'get a new one \(request id \w+\)$',
         ['show_keypair'], conn={'access_key': None, 'secret_key': None, 'auth_token': 'NotAnIamTokenOfTheEmulator'})
    case('import', {'name': 'ok', 'private_key_path': good},
         r"^Key pair ok: KPS call 'show key pair' failed: HTTP 401 APIGW\.0301: .*\(request id \w+\)",
         ['show_keypair'], conn={'project_id': '00000000000000000000000000000000'})
    case('import', {'name': 'ok', 'private_key_path': good},
         r'^Looking up the project id of region "xx-nowhere-9" through IAM found no projects with that name\. Check '
         r'that region \[HW_REGION_NAME\] is spelt right \(for example cn-north-4\), or set project_id '
         r'\[HW_PROJECT_ID\]\.$', ['iam_projects'], conn={'region': 'xx-nowhere-9', 'project_id': None})
    case('import', {'name': 'ok', 'private_key_path': good},
         r'^region is required \[HW_REGION_NAME\]', conn={'region': None, 'kps_endpoint': None})
    case('import', {'name': 'ok', 'private_key_path': good},
         r'^kps_endpoint must be a URL like https://host\[:port\], got "kms\.example\.com"\.$',
         conn={'kps_endpoint': 'kms.example.com'})
    case('import', {'name': 'ok', 'private_key_path': good},
         r"^region 'x\.myhuaweicloud\.com@other\.host:443/y' is not valid: it may only hold letters, digits, dots and "
         r'dashes, and must not start with a dot or a dash \(for example cn-north-4\)\.$',
         conn={'region': 'x.myhuaweicloud.com@other.host:443/y', 'project_id': None, 'kps_endpoint': None,
               'iam_endpoint': None})
    case('import', {'name': 'ok', 'private_key_path': good},
         r"^cloud '-evil\.example' is not valid: .*\(for example myhuaweicloud\.com\)\.$",
         conn={'cloud': '-evil.example', 'kps_endpoint': None})
    case('import', {'name': 'ok', 'private_key_path': good},
         r'^kps_endpoint is plain http:// to kms\.example\.com: credentials and private keys would cross the network '
         r'unencrypted\. Use https://, or set allow_insecure_http=true if this really is a test endpoint\.$',
         conn={'kps_endpoint': 'http://kms.example.com:%d' % emulator_port})
    case('import', {'name': 'ok', 'private_key_path': good, 'ca_path': str(out / 'no-such-ca.pem')},
         r'^ca_path %s does not exist\. Give the path of a PEM file of CA certificates\.$'
         % re.escape(str(out / 'no-such-ca.pem')))
    case('import', {'name': 'ok', 'private_key_path': good},
         r"^Key pair ok: KPS call 'show key pair' failed: could not reach 127\.0\.0\.1:%d: connection refused "
         r'\(nothing listens on that port\)$' % bad_port,
         conn={'kps_endpoint': 'http://127.0.0.1:%d' % bad_port})
    # https:// to a plain-HTTP server: said in words (no urllib3/OpenSSL text), and no ca_path advice.
    case('import', {'name': 'ok', 'private_key_path': good},
         r"^Key pair ok: KPS call 'show key pair' failed: 127\.0\.0\.1:%d does not answer in TLS: the endpoint is "
         r"https:// but the server on that port speaks another protocol, most likely plain HTTP\. Check the URL's "
         r'scheme and port \(an endpoint on this machine, such as the emulator, may be http://\)$' % emulator_port,
         conn={'kps_endpoint': 'https://127.0.0.1:%d' % emulator_port})
    case('import', {'name': 'ok', 'private_key_path': good, 'user_name': '{{ kps_user_name }}',
                    'user_password': 'not-the-password', 'domain_name': '{{ kps_domain_name }}'},
         r"^Key pair ok: IAM call 'get IAM token' failed: HTTP 401", ['iam_token'],
         conn={'access_key': None, 'secret_key': None, 'project_id': None})

    # ----- kps_keypair -----------------------------------------------------------------------------------
    case('keypair', {'name': 'ok', 'public_key_path': good},
         r'^Cannot use the public key for key pair ok: The data given as the public key is a private key\. Give its '
         r'public key in the OpenSSH format \("ssh-ed25519 AAAA\.\.\."\): the \.pub file next to the key, or what '
         r'ssh-keygen -y -f KEY prints\.$')

    # ----- kps_private_key_export ------------------------------------------------------------------------
    dest = str(out / 'exported.pem')
    case('export', {'name': 'a b', 'dest': dest},
         r"^Invalid key pair name: 'a b'\. A key pair name has 1 to 255 letters, digits, \"_\" or \"-\"\.$")
    case('export', {'name': 'y' * 256, 'dest': dest},
         r"^Invalid key pair name: 'y{40}'\.\.\. \(256 characters: too long\)\. A key pair name has 1 to 255")
    case('export', {'names': ['z' * 252], 'dest': str(out)},
         r"^Key pair name z{40}\.\.\. too long for a file name: with names and dest each key is written to <name>\.pem")
    case('export', {'name': '', 'dest': dest}, r"^Invalid key pair name: ''\.")
    case('export', {'names': ['hosted', 'ok', 'hosted'], 'dest': str(out)},
         r'^names lists hosted more than once; give each key pair once\.$')
    case('export', {'names': [], 'dest': str(out)}, r'^names must list at least one key pair\.$')
    case('export', {'name': 'hosted', 'names': ['hosted'], 'dest': dest},
         r'^parameters are mutually exclusive: name\|names$')
    case('export', {'dest': dest}, r'^one of the following is required: name, names$')
    case('export', {'name': 'hosted', 'dset': dest},
         r'^Unsupported parameters for \(huaweicloud\.kps\.kps_private_key_export\) module: dset\.')
    case('export', {'name': 'hosted', 'dest': str(out)},
         r'^dest %s is a directory\. With name, dest is the path of the private key file' % re.escape(str(out)))
    case('export', {'names': ['hosted'], 'dest': good},
         r'^dest %s is not a directory\. With names, dest is the directory' % re.escape(good))
    case('export', {'name': 'hosted', 'dest': str(out / 'no' / 'dir' / 'k.pem')},
         r'^The directory %s does not exist\. Create it first, or set create_dirs: true\.$'
         % re.escape(str(out / 'no' / 'dir')))
    case('export', {'name': 'hosted', 'dest': good + '/sub/k.pem', 'create_dirs': True},
         r'^%s is not a directory, so %s cannot be created\.$' % (re.escape(good), re.escape(good + '/sub')))
    case('export', {'name': 'hosted', 'dest': '/sys/kps-unwritable.pem'},
         r'^Cannot create a temporary file in /sys: Permission denied\. Nothing was exported\.$', ['show_keypair'])
    case('export', {'name': 'hosted', 'dest': dest, 'mode': 'u+z'},
         r'^mode u\+z is neither octal nor a symbolic mode\.$')
    case('export', {'names': ['hosted', 'nope', 'cold'], 'dest': str(out)},
         r'^Cannot export: key pair nope does not exist in KPS; KPS hosts no private key for key pair cold '
         r'\(import one with huaweicloud\.kps\.kps_private_key_import\)\. Nothing was exported or written\.$',
         ['list_keypairs'])
    case('export', {'name': 'hosted', 'dest': dest}, r'^No Huawei Cloud credentials were given\.', conn=NO_CONN)
    case('export', {'name': 'hosted', 'dest': dest},
         r"^KPS call 'show key pair' failed: could not reach 127\.0\.0\.1:%d: " % bad_port,
         conn={'kps_endpoint': 'http://127.0.0.1:%d' % bad_port})

    # ----- the role kps_key_distribution -----------------------------------------------------------------
    auth = dict((key, value) for key, value in CONN.items())
    path = str(out / 'role-key')

    def role(keys_value, message, calls=(), with_auth=True, **extra):
        role_vars = {'kps_key_distribution_auth': auth if with_auth else {}}
        if keys_value is not None:
            role_vars['kps_key_distribution_keys'] = keys_value
        role_vars.update(extra)
        case('role', role_vars, message, calls)

    spec = r'^Validation of arguments failed:\n'
    role(None, spec + r'missing required arguments: kps_key_distribution_keys$')
    role('web', spec + r"(.*\n)?Elements value for option 'kps_key_distribution_keys' is of type str and we were "
         r'unable to convert to dict')
    role([{'nmae': 'hosted'}], spec + r'missing required arguments: name found in kps_key_distribution_keys\n'
         r'kps_key_distribution_keys\.nmae\. Supported parameters include: authorized_key_options, ')
    role([{'name': 'hosted', 'state': 'gone'}],
         spec + r'value of state must be one of: present, absent, got: gone found in kps_key_distribution_keys$')
    # The hosts check the settings in their first call, after the one listing of the public keys (a read).
    role([{'name': 'hosted', 'private_key': {'path': path}}, {'name': 'hosted', 'state': 'absent'}],
         r'^Key pairs listed both present and absent: hosted\. List each key pair with one state\.$', ['list_keypairs'])
    role([{'name': 'hosted', 'private_key': {'owner': 'no-such-user-kps'}}],
         r'^No such user on this host: no-such-user-kps\.$', ['list_keypairs'])
    role([{'name': 'hosted', 'private_key': {'path': 'keys/role-key'}}],
         r'^private_key\.path of key pair hosted must be an absolute path, not "keys/role-key": ', ['list_keypairs'])
    role([{'name': 'nope', 'private_key': {'path': path}}],
         r'^No such key pair in KPS: nope\. Nothing was changed\.$', ['list_keypairs'])
    role([{'name': 'bad name', 'private_key': {'path': path}}],
         r'^Invalid key pair name: \'bad name\'\. A key pair name has 1 to 255 letters, digits, "_" or "-"\.$',
         ['list_keypairs'])
    role([{'name': 'cold', 'private_key': {'path': path}}],
         r'^kps_key_distribution: exporting the key pairs from KPS failed: Cannot export: KPS hosts no private key '
         r'for key pair cold', ['list_keypairs', 'show_keypair'])
    role([{'name': 'hosted', 'private_key': {'path': path}}],
         r'^Reading the key pairs from KPS failed: No Huawei Cloud credentials were given\.', with_auth=False)
    return cases


def playbook(cases, paths, record_dir, emulator_url):
    frame = {'emulator': emulator_url, 'keypairs': ['hosted', 'cold', 'ok', 'nope'], 'paths': [str(p) for p in paths]}
    tasks = []
    for cid, kind, args, _message, _calls in cases:
        tasks.append({'name': 'before %s' % cid, 'kps_case': dict(frame, phase='before', case=cid),
                      'register': 'before_%s' % cid})
        if kind == 'role':
            tasks.append({'name': 'role %s' % cid, 'block': [
                {'name': 'the role', 'ansible.builtin.include_role': {'name': ROLE}, 'vars': args}],
                'rescue': [{'name': 'keep the failure', 'ansible.builtin.set_fact': {
                    'result_%s' % cid: '{{ ansible_failed_result }}'}}]})
        else:
            tasks.append({'name': '%s %s' % (kind, cid), MODULES[kind]: args,
                          'register': 'result_%s' % cid, 'ignore_errors': True})
        tasks.append({'name': 'after %s' % cid, 'kps_case': dict(
            frame, phase='after', case=cid, record_dir=str(record_dir), before='{{ before_%s.snapshot }}' % cid,
            result='{{ result_%s | default({}) }}' % cid)})
    return [{'name': 'bad input', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]


def seed(emulator, ansible, hosted, hosted_public):
    client = emulator.client()
    client.json('POST', client.kps(), {'keypair': {'name': 'hosted', 'public_key': hosted_public, 'key_protection': {
        'private_key': hosted, 'encryption': {'type': 'default'}}}}, expect=200)
    client.json('POST', client.kps(), {'keypair': {'name': 'cold', 'public_key': keys.generate('ed25519')[1]}},
                expect=200)


def test_bad_input(ansible, emulator, tmp_path, tmp_path_factory):
    """The cases run in two ansible-playbook processes at once (two cores), each with its own emulator."""
    hosted, hosted_public = keys.generate('ed25519')
    ansible.add_secret(hosted)
    files = write_key_files(tmp_path / 'keys', ansible)
    with start_emulator(tmp_path_factory.mktemp('emulator-b')) as second:
        halves = []
        for index, (runner_emulator, runner) in enumerate(((emulator, ansible), (second, None))):
            if runner is None:
                workdir = tmp_path / 'second'
                workdir.mkdir()
                runner = AnsibleRunner(second, workdir)
                runner.secrets.update(ansible.secrets)
            seed(runner_emulator, runner, hosted, hosted_public)
            out = tmp_path / ('out-%d' % index)
            out.mkdir(mode=0o700)
            (out / 'keep.txt').write_text('an unrelated file\n')
            record_dir = tmp_path / ('records-%d' % index)
            record_dir.mkdir()
            cases = build_cases(files, out, emulator.port)[index::2]
            path = tmp_path / ('bad-input-%d.yml' % index)
            with open(path, 'w') as handle:
                yaml.safe_dump(playbook(cases, [out, tmp_path / 'keys'], record_dir, runner_emulator.url), handle,
                               allow_unicode=True)
            halves.append((runner, cases, record_dir, path))

        started, cpu = time.monotonic(), child_cpu()
        spawned = [runner.spawn_playbook(str(path)) for runner, _cases, _records, path in halves]
        for (runner, _cases, _records, _path), (proc, env) in zip(halves, spawned):
            returncode, stdout, stderr = runner.finish(proc, env)
            assert returncode == 0, stdout[-5000:] + stderr[-3000:]
        elapsed, cpu = time.monotonic() - started, child_cpu() - cpu

    all_cases = [case for _runner, cases, _records, _path in halves for case in cases]
    kinds = collections.Counter(kind for _cid, kind, _args, _message, _calls in all_cases)
    REPORTS.append(('huaweicloud.kps bad input (test_bad_input.py)', [
        '%d cases (%s) in two ansible-playbook runs at once: %.0f s wall, %.0f s CPU'
        % (len(all_cases), ', '.join('%d %s' % (kinds[kind], kind) for kind in sorted(kinds)), elapsed, cpu)]))

    problems = []
    for _runner, cases, record_dir, _path in halves:
        problems.extend(check_cases(cases, record_dir))
    assert len(all_cases) >= 30
    assert not problems, '\n'.join(problems)


def check_cases(cases, record_dir):
    problems = []
    for cid, kind, args, message, calls in cases:
        path = record_dir / ('%s.json' % cid)
        if not path.exists():
            problems.append('%s: did not run' % cid)
            continue
        with open(path) as handle:
            record = json.load(handle)
        result = record['result'] or {}
        msg = result.get('msg') or ''
        label = '%s (%s %s)' % (cid, kind, json.dumps(args, default=str)[:120])
        if not result.get('failed'):
            problems.append('%s: did not fail' % label)
        if not re.search(message, msg):
            problems.append('%s: message %r does not match %r' % (label, msg, message))
        if 'Traceback (most recent call last)' in json.dumps(result) or result.get('module_stderr'):
            problems.append('%s: traceback' % label)
        log = [entry['call'] for entry in record['requests']]
        if log != calls:
            problems.append('%s: requests %s, expected %s' % (label, log, calls))
        for entry in record['requests']:
            if entry['call'] in WRITES and entry['status'] is not None and entry['status'] < 400:
                problems.append('%s: %s succeeded' % (label, entry['call']))
        if record['before'] != record['after']:
            problems.append('%s: the server state or a local file changed' % label)
    return problems
