# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this plugin util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""KpsLookup, the base of the collection's lookup plugins: they run on the controller, inside Ansible.

A lookup takes the modules' connection options (documented once, in the doc fragment ``huaweicloud.kps.auth``
with its ``lookup`` variant, which adds the HW_* environment variables through Ansible's configuration),
connects through the modules' own code (``_module.kps_client``: credentials, login, project id, one
requests.Session), reads with ``_kps.KpsClient`` and turns a ``KpsError`` (whose message never holds a secret)
into an ``AnsibleLookupError``. The base reads the key pairs of the names once (``find_keypairs``); a subclass
implements ``values(kps, unique, found)``.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HAS_REQUESTS, HttpClient, register_secrets
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import HAS_CRYPTOGRAPHY
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import KpsClient
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import (
    COMMON_ARGSPEC,
    common_options_problem,
    http_client,
    kps_client,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import check_names

display = Display()

# The options whose values are secrets: scrubbed from every message, as the modules' no_log options are.
SECRET_OPTIONS = tuple(name for name, spec in COMMON_ARGSPEC.items() if spec.get('no_log'))


def lookup_names(terms: list[Any]) -> list[str]:
    """The key pair names of the terms (each a name or a list of names), checked locally, in order."""
    names = []
    for term in terms:
        names.extend(term if isinstance(term, (list, tuple)) else [term])
    check_names(names)
    return names


class KpsLookup(LookupBase):
    """Runs one lookup call: options -> names -> one connection -> one read -> ``values()``; a KpsError fails
    the lookup."""

    lookup_name = 'huaweicloud.kps'  # the FQCN, in messages

    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        self.set_options(var_options=variables, direct=kwargs)
        params = dict((option, self.get_option(option)) for option in COMMON_ARGSPEC)
        register_secrets([params[option] for option in SECRET_OPTIONS])
        http: list[HttpClient] = []
        try:
            for library, present in (('requests', HAS_REQUESTS), ('cryptography', HAS_CRYPTOGRAPHY)):
                if not present:
                    raise KpsError('The Python library %s is needed on the controller; install it into the Python '
                                   'environment that runs ansible-playbook.' % library)
            problem = common_options_problem(params)
            if problem:
                raise KpsError(problem)
            names = lookup_names(terms)
            if not names:
                return []

            def get_http() -> HttpClient:
                http.append(http_client(params, self.warn))
                return http[0]
            _credentials, _project_id, kps = kps_client(params, get_http, self.warn)
            unique = list(dict.fromkeys(names))  # one read and one value per key pair, however often it is named
            values = self.values(kps, unique, kps.find_keypairs(unique))
            return [values[name] for name in names]
        except KpsError as exc:
            # The message names what is wrong and never holds a secret; the cause adds nothing for the user.
            raise AnsibleLookupError(exc.msg) from None
        finally:
            for client in http:
                client.session.close()

    def warn(self, text: str) -> None:
        display.warning(text)

    def values(self, kps: KpsClient, unique: list[str], found: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """``{name: value}`` for each name of ``unique`` (the names without repeats); ``found`` is what
        ``find_keypairs(unique)`` returned (the key pairs that exist)."""
        raise NotImplementedError
