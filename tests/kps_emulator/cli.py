# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of the emulator: ``python tests/kps_emulator --port PORT --state FILE``."""
from __future__ import annotations

import argparse
import signal
import ssl
import sys
import threading
from http.server import ThreadingHTTPServer

from .server import DEFAULTS, Emulator, Handler


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True  # a delayed or hung request must not block shutdown
    request_queue_size = 128

    def __init__(self, emulator, host='127.0.0.1', port=0, tls_cert=None, tls_key=None, log_requests=False):
        super().__init__((host, port), Handler)
        self.emulator = emulator
        self.log_requests = log_requests
        self.scheme = 'http'
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            # handshake lazily in the request thread, so one slow client cannot stall accept()
            self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
            self.scheme = 'https'

    @property
    def url(self):
        host, port = self.server_address[:2]
        return '%s://%s:%d' % (self.scheme, host, port)


def parser():
    p = argparse.ArgumentParser(prog='python tests/kps_emulator',
                                description='Local Huawei Cloud KPS + IAM emulator for tests (see docs/emulator.md).')
    p.add_argument('--port', type=int, default=0, help='TCP port; 0 picks a free one (default: %(default)s)')
    p.add_argument('--host', default=DEFAULTS['host'], help='address to listen on (default: %(default)s)')
    p.add_argument('--state', default=None, help='JSON state file, created if missing (default: none, state kept in memory)')
    p.add_argument('--access-key', default=DEFAULTS['access_key'], help='accepted permanent access key (default: %(default)s)')
    p.add_argument('--secret-key', default=DEFAULTS['secret_key'], help='secret key of --access-key (default: %(default)s)')
    p.add_argument('--security-token', default=None,
                   help='accepted security token; enables the temporary credential --temp-access-key/--temp-secret-key (default: none)')
    p.add_argument('--temp-access-key', default=DEFAULTS['temp_access_key'], help='temporary access key (default: %(default)s)')
    p.add_argument('--temp-secret-key', default=DEFAULTS['temp_secret_key'], help='secret key of --temp-access-key (default: %(default)s)')
    p.add_argument('--project-id', default=DEFAULTS['project_id'], help='the only project id (default: %(default)s)')
    p.add_argument('--region', default=DEFAULTS['region'], help='region, also the project name (default: %(default)s)')
    p.add_argument('--domain', default=DEFAULTS['domain'], help='account (domain) name for IAM password login (default: %(default)s)')
    p.add_argument('--user', default=DEFAULTS['user'], help='IAM user name (default: %(default)s)')
    p.add_argument('--password', default=DEFAULTS['password'], help='IAM user password (default: %(default)s)')
    p.add_argument('--kms-key', action='append', dest='kms_keys', metavar='NAME',
                   help='a KMS key name that exists (repeatable; default: %s)' % ' '.join(DEFAULTS['kms_keys']))
    p.add_argument('--tls-cert', default=None, help='PEM certificate (chain): serve HTTPS (default: plain HTTP)')
    p.add_argument('--tls-key', default=None, help='PEM private key of --tls-cert')
    p.add_argument('--log-requests-to-stderr', action='store_true', help='log every request line to stderr')
    p.add_argument('--print-secret-key', action='store_true',
                   help='also print HW_SECRET_KEY=<secret key> at start (default: the secret key is never printed)')
    return p


def ready_text(url, cfg, with_secret_key=False):
    """What start prints: the ready line (always first), then what a playbook needs, as HW_* variables."""
    lines = ['KPS emulator listening on %s' % url]
    variables = [('HW_KPS_ENDPOINT', url), ('HW_IAM_ENDPOINT', url), ('HW_ECS_ENDPOINT', url), ('HW_REGION_NAME', cfg['region']),
                 ('HW_PROJECT_ID', cfg['project_id']), ('HW_ACCESS_KEY', cfg['access_key'])]
    if with_secret_key:
        variables.append(('HW_SECRET_KEY', cfg['secret_key']))
    lines += ['%s=%s' % item for item in variables]
    if not with_secret_key:
        lines.append('# HW_SECRET_KEY: the --secret-key value (not printed; --print-secret-key prints it)')
    return '\n'.join(lines)


def main(argv=None):
    args = parser().parse_args(argv)
    emulator = Emulator(
        state_file=args.state, access_key=args.access_key, secret_key=args.secret_key, security_token=args.security_token,
        temp_access_key=args.temp_access_key, temp_secret_key=args.temp_secret_key, project_id=args.project_id,
        region=args.region, domain=args.domain, user=args.user, password=args.password,
        kms_keys=tuple(args.kms_keys) if args.kms_keys else None)
    server = EmulatorServer(emulator, args.host, args.port, args.tls_cert, args.tls_key, args.log_requests_to_stderr)

    def stop(_signum, _frame):
        # shutdown() waits for serve_forever() to return, so it must not run on the thread serving
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(ready_text(server.url, emulator.cfg, args.print_secret_key), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
