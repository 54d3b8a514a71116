# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""KpsModule: AnsibleModule plus the common connection options, the KPS client and one error path.

Usage in a module::

    module = KpsModule(argument_spec=KpsModule.generate_argspec(name=dict(type='str', required=True)),
                       supports_check_mode=True)
    ExportRunner(module).execute()   # a KpsRunner: plan -> apply -> result, a KpsError fails the task
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import (
    ENV_VARS,
    Credentials,
    connect,
    insecure_endpoints,
    resolve_credentials,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    HttpClient,
    register_secrets,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import KpsClient
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Runner


def _env(option: str) -> tuple[Any, list[str]]:
    return (env_fallback, list(ENV_VARS[option]))


# Documented in plugins/doc_fragments/auth.py; keep the two in step.
COMMON_ARGSPEC = dict(
    region=dict(type='str', fallback=_env('region')),
    project_id=dict(type='str', fallback=_env('project_id')),
    access_key=dict(type='str', no_log=False, fallback=_env('access_key')),
    secret_key=dict(type='str', no_log=True, fallback=_env('secret_key')),
    security_token=dict(type='str', no_log=True, fallback=_env('security_token')),
    auth_token=dict(type='str', no_log=True, fallback=_env('auth_token')),
    user_name=dict(type='str', fallback=_env('user_name')),
    user_password=dict(type='str', no_log=True, fallback=_env('user_password')),
    domain_name=dict(type='str', fallback=_env('domain_name')),
    cloud=dict(type='str', default='myhuaweicloud.com', fallback=_env('cloud')),
    kps_endpoint=dict(type='str', fallback=_env('kps_endpoint')),
    iam_endpoint=dict(type='str', fallback=_env('iam_endpoint')),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    allow_insecure_http=dict(type='bool', default=False),
    timeout=dict(type='int', default=DEFAULT_TIMEOUT),
    retries=dict(type='int', default=DEFAULT_RETRIES),
)


class CaBundleError(KpsError):
    """The CA bundle to verify the endpoints with cannot be used (ca_path, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE)."""


def common_options_problem(params: Mapping[str, Any]) -> str | None:
    """What is wrong with the common options' values that the argument spec cannot check, or None."""
    if params.get('timeout') is not None and params['timeout'] <= 0:
        return 'timeout must be a positive number of seconds.'
    if params.get('retries') is not None and params['retries'] < 0:
        return 'retries must be 0 (no retries) or more.'
    return None


def http_client(params: Mapping[str, Any], warn: Callable[[str], None]) -> HttpClient:
    """The HttpClient of one task (or lookup call) for the common options ``params``, without credentials yet."""
    if not params.get('validate_certs', True):
        warn('huaweicloud.kps: validate_certs is false, TLS certificates of the endpoints are not checked.')
    return HttpClient(
        validate_certs=params.get('validate_certs', True), ca_path=params.get('ca_path'),
        timeout=params.get('timeout') or DEFAULT_TIMEOUT,
        retries=params.get('retries') if params.get('retries') is not None else DEFAULT_RETRIES,
        warn=warn)


def kps_client(params: Mapping[str, Any], get_http: Callable[[], HttpClient],
               warn: Callable[[str], None]) -> tuple[Credentials, str, KpsClient]:
    """``(credentials, project id, KpsClient)`` for the common options ``params``: credentials resolved (before
    ``get_http()`` builds any client), logged in, project id known. The one place modules and lookups connect;
    raises KpsError (CaBundleError, CredentialError, HuaweiCloudError)."""
    credentials = resolve_credentials(params)
    for option in insecure_endpoints(credentials):
        warn('huaweicloud.kps: allow_insecure_http is true and %s is plain http:// to another host: '
             'credentials and private keys cross the network unencrypted.' % option)
    # The CA bundle is loaded in full (about 15 ms of CPU) only when TLS uses it.
    http = get_http()
    problem = http.ca_bundle_problem(load=any(
        urlsplit(endpoint or '').scheme == 'https'
        for endpoint in (credentials.kps_endpoint, credentials.iam_endpoint)))
    if problem:
        raise CaBundleError(problem)
    _auth, project_id = connect(http, credentials)
    return credentials, project_id, KpsClient(http, credentials.kps_endpoint, project_id)


class KpsModule(AnsibleModule):
    """AnsibleModule with the collection's common options (hashi_vault style)."""

    @classmethod
    def generate_argspec(cls, **kwargs: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The common argument spec updated with the module's own options."""
        argspec = copy.deepcopy(COMMON_ARGSPEC)
        argspec.update(**kwargs)
        return argspec

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every no_log value (SK, password, tokens, private key, passphrase) is kept out of error texts
        # in every encoding, even when the endpoint echoes it back (see _http.scrub).
        register_secrets(sorted(self.no_log_values))
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        if not HAS_CRYPTOGRAPHY:
            self.fail_json(msg=missing_required_lib('cryptography'), exception=CRYPTOGRAPHY_IMPORT_ERROR)
        problem = common_options_problem(self.params)
        if problem:
            self.fail_json(msg=problem)
        self._http: HttpClient | None = None
        self._kps: KpsClient | None = None
        self.credentials: Credentials | None = None
        self.project_id: str | None = None

    @property
    def http(self) -> HttpClient:
        """The HttpClient of this run (one requests.Session), without credentials attached yet."""
        if self._http is None:
            self._http = http_client(self.params, self.warn)
        return self._http

    @property
    def kps(self) -> KpsClient:
        """The KpsClient, built on first use: credentials resolved, logged in, project id known.

        Raises CredentialError / HuaweiCloudError: use it inside a runner's ``plan()`` or ``apply()``.
        """
        if self._kps is None:
            try:
                self.credentials, self.project_id, self._kps = kps_client(self.params, lambda: self.http, self.warn)
            except CaBundleError as exc:
                self.fail_json(msg=exc.msg)
        return self._kps


class KpsRunner(Runner):
    """The runner base of the modules that call KPS (see ``_runner.Runner``)."""

    module: KpsModule
