# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this doc fragment is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time.

from __future__ import annotations


class ModuleDocFragment:

    # Keep in step with COMMON_ARGSPEC in plugins/module_utils/_module.py.
    DOCUMENTATION = r"""
options:
  region:
    description:
      - Huawei Cloud region, for example C(cn-north-4).
      - Used to build the default endpoints, to scope a password login and to look up O(project_id).
      - May only be left out when both O(kps_endpoint) and O(project_id) are given.
      - May only hold letters, digits, dots and dashes, and must not start with a dot or a dash.
      - If not set, the value of the E(HW_REGION_NAME) environment variable is used.
    type: str
  project_id:
    description:
      - ID of the project of O(region).
      - If not set, it is taken from the token of a password login, or looked up through IAM from the
        project named O(region) (exactly one project must match).
      - If not set, the value of the E(HW_PROJECT_ID) environment variable is used, then E(HUAWEICLOUD_SDK_PROJECT_ID).
    type: str
  access_key:
    description:
      - Access key ID (AK) for AK/SK authentication. Needs O(secret_key).
      - If not set, the value of the E(HW_ACCESS_KEY) environment variable is used, then E(HUAWEICLOUD_SDK_AK).
    type: str
  secret_key:
    description:
      - Secret access key (SK) that belongs to O(access_key).
      - If not set, the value of the E(HW_SECRET_KEY) environment variable is used, then E(HUAWEICLOUD_SDK_SK).
    type: str
  security_token:
    description:
      - Security token of temporary AK/SK credentials; sent as C(X-Security-Token) with O(access_key) and O(secret_key).
      - If not set, the value of the E(HW_SECURITY_TOKEN) environment variable is used, then E(HUAWEICLOUD_SDK_SECURITY_TOKEN).
    type: str
  auth_token:
    description:
      - An IAM token (the C(X-Subject-Token) of an earlier login), sent as C(X-Auth-Token) instead of signing requests.
      - If not set, the value of the E(HW_AUTH_TOKEN) environment variable is used.
    type: str
  user_name:
    description:
      - IAM user name for a password login (with O(user_password) and O(domain_name)). A module logs in once
        per task, a lookup once per call, and once more if the token expires meanwhile.
      - If not set, the value of the E(HW_USER_NAME) environment variable is used.
    type: str
  user_password:
    description:
      - Password of O(user_name).
      - If not set, the value of the E(HW_USER_PASSWORD) environment variable is used.
    type: str
  domain_name:
    description:
      - Account (domain) name that O(user_name) belongs to.
      - If not set, the value of the E(HW_DOMAIN_NAME) environment variable is used.
    type: str
  cloud:
    description:
      - Domain of the Huawei Cloud site, used to build the default endpoints, for example C(myhuaweicloud.eu).
      - May only hold letters, digits, dots and dashes, and must not start with a dot or a dash.
      - If not set, the value of the E(HW_CLOUD) environment variable is used.
    type: str
    default: myhuaweicloud.com
  kps_endpoint:
    description:
      - URL of the KPS API (served by the DEW/KMS host). Default C(https://kms.<region>.<cloud>).
      - Plain C(http://) is refused unless the host is this machine (C(localhost), C(127.0.0.0/8), C(::1)) or
        O(allow_insecure_http=true).
      - A URL with C(user@), a query, a backslash, white space or a control character is refused, as is one whose
        host URL parsers read differently. Redirects are never followed.
      - If not set, the value of the E(HW_KPS_ENDPOINT) environment variable is used.
    type: str
  iam_endpoint:
    description:
      - URL of the IAM API, used for password login and the project id lookup. Default C(https://iam.<region>.<cloud>).
      - Plain C(http://) is refused as for O(kps_endpoint).
      - If not set, the value of the E(HW_IAM_ENDPOINT) environment variable is used.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificates of the endpoints. Only set this to V(false) for tests.
    type: bool
    default: true
  ca_path:
    description:
      - Path of a PEM CA bundle to verify the endpoints' certificates with, for example for a TLS-inspecting proxy.
      - If not set, the E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) environment variable, else the system/certifi bundle, is used.
      - A bundle that does not exist, cannot be read or holds no certificate is an error before any call.
    type: path
  allow_insecure_http:
    description:
      - Allow plain C(http://) endpoints on hosts other than this machine. The secret key's signatures, tokens,
        the IAM password and private keys then cross the network unencrypted; the module warns on every run.
      - Only for test endpoints (for example an emulator in another container). C(http://) to C(localhost),
        C(127.0.0.0/8) or C(::1) needs no such setting.
    type: bool
    default: false
  timeout:
    description:
      - Seconds one attempt of a call may take in all, from connecting to having read the whole answer. An endpoint
        that answers slowly, or sends its answer a byte at a time, cannot hold a call longer.
      - With retries, a call takes at most (O(retries) + 1) x O(timeout) seconds plus the waits between attempts
        (at most 1 + 2 + 4 + ... seconds, or the server's C(Retry-After) capped at 60 seconds).
      - Answers larger than 4 MiB are refused (a KPS answer is a few KiB).
    type: int
    default: 30
  retries:
    description:
      - How many times a failed call is retried, with exponential backoff and jitter, on connection errors,
        timeouts, HTTP 429 (honouring C(Retry-After)) and HTTP 500, 502, 503 and 504. V(0) turns retries off.
      - Authentication and signature failures (C(APIGW.0301)) and other client errors are never retried.
      - A call that creates a key pair is only retried when the server certainly did not act on it.
      - Each retry is reported as a warning naming the call and the HTTP status.
      - Each attempt has its own O(timeout).
    type: int
    default: 3
requirements:
  - requests >= 2.25.0
  - cryptography >= 3.4.0
notes:
  - Give exactly one way to authenticate; AK/SK (O(access_key), O(secret_key), optionally O(security_token)),
    a token (O(auth_token)), or a password login (O(user_name), O(user_password), O(domain_name)). Credentials
    for two methods at once, or half of one, are an error that lists which options were found (never their values).
  - An option set on the task (or passed to the lookup) wins over the E(HW_*) environment variable, which wins over
    the E(HUAWEICLOUD_SDK_*) one.
  - Environment variables are read on the host that runs the module (with C(delegate_to) that host, usually the
    controller), not from the controller's environment when the module runs on a managed node. Lookups run on
    the controller and read the environment C(ansible-playbook) was started with.
  - Use C(module_defaults) with C(group/huaweicloud.kps.kps) to set these options once for every module of the
    collection. C(module_defaults) do not reach lookups; pass the options to a lookup as keyword arguments, for
    example C(lookup('huaweicloud.kps.kps_public_key', 'web', **kps_auth)) with a dictionary C(kps_auth).
  - Do not pass secrets through the task's C(environment) keyword; at C(-vvvv) Ansible prints a task's environment.
    Set secrets as options (they are C(no_log) in modules) or in the environment of the process that runs the module.
  - The HTTP(S) proxy is taken from the E(HTTPS_PROXY), E(HTTP_PROXY) and E(NO_PROXY) environment variables.
    An endpoint on this machine (C(localhost), C(127.0.0.0/8), C(::1)) is never reached through a proxy on
    another host.
  - Error messages quote the endpoint's own words only in part (at most 300 characters), with PEM blocks and every
    secret of the task (in raw, JSON-escaped and URL-encoded form) removed, so an endpoint echoing a request
    cannot put a private key or password into the task output.
"""

    # The variant for lookup plugins (extends_documentation_fragment: [huaweicloud.kps.auth,
    # huaweicloud.kps.auth.lookup]): Ansible merges it into the options above, adding the environment variables
    # that Ansible's configuration reads for a lookup's options. The last variable of a list wins, so each lists
    # _auth.ENV_VARS in reverse (tests/unit/test_meta.py checks it).
    LOOKUP = r"""
options:
  region:
    env:
      - name: HW_REGION_NAME
  project_id:
    env:
      - name: HUAWEICLOUD_SDK_PROJECT_ID
      - name: HW_PROJECT_ID
  access_key:
    env:
      - name: HUAWEICLOUD_SDK_AK
      - name: HW_ACCESS_KEY
  secret_key:
    env:
      - name: HUAWEICLOUD_SDK_SK
      - name: HW_SECRET_KEY
  security_token:
    env:
      - name: HUAWEICLOUD_SDK_SECURITY_TOKEN
      - name: HW_SECURITY_TOKEN
  auth_token:
    env:
      - name: HW_AUTH_TOKEN
  user_name:
    env:
      - name: HW_USER_NAME
  user_password:
    env:
      - name: HW_USER_PASSWORD
  domain_name:
    env:
      - name: HW_DOMAIN_NAME
  cloud:
    env:
      - name: HW_CLOUD
  kps_endpoint:
    env:
      - name: HW_KPS_ENDPOINT
  iam_endpoint:
    env:
      - name: HW_IAM_ENDPOINT
"""
