# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hostile or broken endpoint, as a small local HTTP server started by the test (not the emulator).

One ``ansible-playbook -vvvv`` run, one task per case, every task failing:
- an endpoint whose error text echoes the request (in the KPS, camelCase, nested-IAM and URL-encoded error
  shapes) receives a private key (given unencrypted, or encrypted under a non-ASCII passphrase) and a non-ASCII
  IAM password; the run's output and every recorded result hold none of them in any encoding (the harness's
  secret guard), while the server proves it did receive them and the messages show what was removed;
- an endpoint that sends its answer one byte every 2 s holds a ``timeout: 3, retries: 1`` task for two
  attempts of about 3 s each, not for minutes;
- an endpoint that answers with a 300 MiB body gets one attempt, a clear message, and the module's memory stays
  far below the body's size (measured as the largest RSS of any process of the run).
"""
from __future__ import annotations

import http.server
import json
import os
import select
import sys
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integration.harness import REPORTS

PASSWORD = 'Pässwörd-秘密-7f3a9c'
PASSPHRASE = 'phräse-секрет-42'
HUGE = 300 << 20
TRICKLE_EVERY = 2.0


class _Hostile(http.server.BaseHTTPRequestHandler):
    """The first path segment picks the behaviour: echo-<shape>, trickle, huge."""

    protocol_version = 'HTTP/1.0'
    log = []            # (path, method, start, end, bytes sent, received body)
    lock = threading.Lock()

    def _answer(self):
        start = time.monotonic()
        received = self.rfile.read(int(self.headers.get('Content-Length') or 0)).decode('utf-8', 'replace')
        sent = 0
        mode = self.path.split('/')[1]
        try:
            if mode.startswith('echo-'):
                sent = self._echo(mode[5:], received)
            elif mode == 'trickle':
                # The status line and headers, one byte every 2 s (never a gap as long as the 3 s read timeout).
                for byte in b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: ' + b'p' * 200:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    sent += 1
                    # Wait for the next byte's turn, but notice at once when the client hangs up.
                    if select.select([self.connection], [], [], TRICKLE_EVERY)[0] and not self.connection.recv(1):
                        break
            elif mode == 'huge':
                self.wfile.write(b'HTTP/1.0 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n')
                chunk = b'{"error_code":"KPS.0003","error_msg":"' + b'x' * (1 << 20)
                while sent < HUGE:
                    self.wfile.write(chunk)
                    sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self.lock:
                self.log.append((self.path, self.command, start, time.monotonic(), sent, received))

    def _echo(self, shape, received):
        if self.command == 'GET' and '/keypairs/' in self.path:
            status, body = 404, {'error_code': 'KPS.6004', 'error_msg': 'No Keypair find'}
        else:
            status = 400
            # The secret part first (JSON-escaped), then the whole request: the secrets fall within the part
            # of the text that messages keep.
            request = json.loads(received)
            part = json.dumps((request.get('keypair') or {}).get('key_protection') or request)
            text = 'cannot parse %s in %s' % (part, received)
            body = {
                'kps': {'error_code': 'KPS.0002', 'error_msg': text},
                'camel': {'errorCode': 'KPS.0002', 'errorMsg': text},
                'iam': {'error': {'code': 'IAM.0001', 'message': text, 'title': 'Bad Request'}},
                'url': {'error_code': 'KPS.0002', 'error_msg': 'cannot parse %s' % _quote(part)},
            }[shape]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return len(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


def _quote(text):
    from urllib.parse import quote  # pylint: disable=import-outside-toplevel
    return quote(text, safe='')


@pytest.fixture
def hostile():
    _Hostile.log = []
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Hostile)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


# Runs the playbook and writes the largest RSS (KiB) of any process below it to the file named first.
MAX_RSS_WRAPPER = (
    'import resource, subprocess, sys\n'
    'rc = subprocess.call(sys.argv[2:])\n'
    'open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n'
    'sys.exit(rc)\n')


def test_hostile_endpoints(ansible, hostile, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    plain = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(PASSPHRASE.encode())).decode()
    ansible.add_secret(plain)
    ansible.add_secret(PASSWORD)
    ansible.add_secret(PASSPHRASE)
    aksk = {'access_key': 'AK', 'secret_key': '{{ kps_secret_key }}', 'project_id': 'p1', 'region': 'cn-north-4'}
    password = {'user_name': 'u', 'user_password': '{{ hostile_user_password }}', 'domain_name': 'd',
                'region': 'cn-north-4'}
    cases = {
        'echo kps': dict(aksk, kps_endpoint=hostile + '/echo-kps', private_key='{{ hostile_private_key }}'),
        'echo camel': dict(aksk, kps_endpoint=hostile + '/echo-camel', private_key='{{ hostile_private_key }}'),
        'echo url': dict(aksk, kps_endpoint=hostile + '/echo-url', private_key='{{ hostile_private_key }}'),
        'echo encrypted key': dict(aksk, kps_endpoint=hostile + '/echo-kps',
                                   private_key='{{ hostile_encrypted_private_key }}',
                                   private_key_passphrase='{{ hostile_passphrase }}'),
        'echo iam password': dict(password, iam_endpoint=hostile + '/echo-iam', kps_endpoint=hostile + '/echo-kps',
                                  private_key='{{ hostile_private_key }}'),
        'trickle': dict(aksk, kps_endpoint=hostile + '/trickle', private_key='{{ hostile_private_key }}',
                        timeout=3, retries=1),
        'huge': dict(aksk, kps_endpoint=hostile + '/huge', private_key='{{ hostile_private_key }}', retries=3),
    }
    tasks = [{'name': name, 'huaweicloud.kps.kps_private_key_import': dict(args, name='web'),
              'register': 'case_%d' % index, 'ignore_errors': True}
             for index, (name, args) in enumerate(cases.items())]
    tasks.append({'name': 'keep the results', 'ansible.builtin.copy': {
        'dest': str(tmp_path / 'results.json'), 'mode': '0600',
        'content': '{{ [%s] | to_json }}' % ', '.join('case_%d' % index for index in range(len(cases)))}})
    argv = ansible._playbook_argv(  # pylint: disable=protected-access
        [{'name': 'hostile', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}], ('-vvvv',),
        {'hostile_private_key': plain, 'hostile_encrypted_private_key': encrypted,
         'hostile_passphrase': PASSPHRASE, 'hostile_user_password': PASSWORD}, None)
    rss_file = str(tmp_path / 'maxrss')
    started = time.monotonic()
    # The secret guard checks stdout, stderr and every recorded result of the run (-vvvv included).
    ansible._run([sys.executable, '-c', MAX_RSS_WRAPPER, rss_file] + argv)  # pylint: disable=protected-access
    took = time.monotonic() - started
    with open(tmp_path / 'results.json') as handle:
        results = dict(zip(cases, json.load(handle)))
    for _wait in range(50):  # the server may log its last hang-up a moment after the run ends
        if len([entry for entry in _Hostile.log if entry[0].startswith('/trickle')]) >= 2:
            break
        time.sleep(0.1)
    log = list(_Hostile.log)

    # The echoing endpoint got the secrets, and its answers put none of them into the run's output.
    received = ' '.join(entry[5] for entry in log if entry[0].startswith('/echo'))
    assert '-----BEGIN RSA PRIVATE KEY-----' in received.replace('\\n', '\n') and '\\u00e4' in received
    for name in ('echo kps', 'echo camel', 'echo url', 'echo encrypted key'):
        msg = results[name]['msg']
        assert results[name]['failed'] and results[name]['error_code'] == 'KPS.0002', (name, msg)
        assert msg.startswith("Key pair web: KPS call 'create key pair' failed: HTTP 400 KPS.0002: cannot parse "), msg
        assert '[PEM block removed]' in msg and len(msg) < 500, msg
        assert msg.endswith('...[cut]') or name == 'echo url', msg  # (only the URL-encoded echo is short)
    msg = results['echo iam password']['msg']
    assert msg.startswith("Key pair web: IAM call 'get IAM token' failed: HTTP 400 IAM.0001: cannot parse "), msg
    assert '[secret removed]' in msg and 'Pässw' not in msg and 'P\\u00e4ssw' not in msg, msg

    # The trickling endpoint: two attempts of about 3 s each, then a clear message.
    trickles = [entry for entry in log if entry[0].startswith('/trickle')]
    assert len(trickles) == 2, trickles
    # Each attempt is cut by the 3 s deadline: not at the next byte after it (4 s, a deadline looked at only when
    # a byte comes), and not after the ~230 bytes (7 minutes). The server's clock starts once it has read the
    # request, which on a loaded machine is a few tenths of a second after the module's (2.67 s seen at load 17).
    for _path, _method, start, end, _sent, _body in trickles:
        assert 2.0 < end - start < 2 * TRICKLE_EVERY - 0.1, end - start
    assert trickles[-1][3] - trickles[0][2] < 2 * 3 + 1 + 2  # two attempts, a backoff of at most 1 s, slack
    assert results['trickle']['msg'] == (
        "Key pair web: KPS call 'show key pair' failed: could not reach %s: no complete answer within 3 seconds "
        "(timeout) (gave up after 2 attempts)" % hostile.split('//')[1])

    # The huge answer: one attempt, cut off early, a clear message, bounded memory.
    huge = [entry for entry in log if entry[0].startswith('/huge')]
    assert len(huge) == 1 and huge[0][4] < 64 << 20, [(entry[0], entry[4]) for entry in huge]
    assert results['huge']['msg'] == (
        "Key pair web: KPS call 'show key pair' failed: the answer from %s is larger than 4 MiB, far more than any "
        "KPS or IAM answer; check that kps_endpoint/iam_endpoint point at the Huawei Cloud API" % hostile.split('//')[1])
    with open(rss_file) as handle:
        max_rss_mib = int(handle.read()) / 1024
    os.unlink(rss_file)
    assert max_rss_mib < 250, max_rss_mib  # the body alone is 300 MiB
    REPORTS.append(('hostile endpoints', [
        'largest RSS of any process of the run: %.0f MiB (body offered: %d MiB, sent before the hang-up: %.1f MiB)'
        % (max_rss_mib, HUGE >> 20, huge[0][4] / 1048576.0),
        'trickle attempts held: %s s (timeout 3, retries 1); whole run %.1f s'
        % (', '.join('%.2f' % (entry[3] - entry[2]) for entry in trickles), took)]))
