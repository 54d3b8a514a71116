# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RSA keys are compared by their public half without the slow consistency check, and checked before they are sent."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.huaweicloud.kps.plugins.module_utils import _keys
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import InvalidPrivateKeyError, load_private_key
from ansible_collections.huaweicloud.kps.tests.unit.plugins.module_utils.kps_test_keys import pem, public_line


def _inconsistent_rsa_pem():
    """The test RSA key with a wrong private exponent: same public key, private numbers that do not fit."""
    key = serialization.load_pem_private_key(pem('rsa', 'traditional').encode('ascii'), password=None)
    numbers = key.private_numbers()
    bad = rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d + 2, numbers.dmp1, numbers.dmq1, numbers.iqmp,
                                numbers.public_numbers)
    bad_key = bad.private_key(unsafe_skip_rsa_key_validation=True)
    return bad_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())


@pytest.mark.skipif(not _keys._SKIP_RSA_CHECK, reason='cryptography < 39 always checks RSA keys when loading them')
def test_an_inconsistent_rsa_key_is_compared_by_its_public_half_and_refused_before_it_is_sent():
    key = load_private_key(_inconsistent_rsa_pem())
    assert key.public_key == ' '.join(public_line('rsa').split()[:2])  # deciding needs only the public half
    with pytest.raises(InvalidPrivateKeyError, match='could not be parsed'):
        key.pem


@pytest.mark.parametrize('kind', ['rsa', 'ec256', 'ed25519'])
def test_a_good_key_passes_the_check_and_keeps_its_pem(kind):
    key = load_private_key(pem(kind, 'pkcs8'))
    key.check()
    assert load_private_key(key.pem).public_key == key.public_key


def test_the_check_runs_once(monkeypatch):
    key = load_private_key(pem('rsa', 'traditional'))
    calls = []
    real = _keys.rsa_numbers_fit
    monkeypatch.setattr(_keys, 'rsa_numbers_fit', lambda numbers: calls.append(1) or real(numbers))
    assert key.pem == key.pem
    assert len(calls) == (1 if _keys._SKIP_RSA_CHECK else 0)


@pytest.mark.parametrize('field', ['n', 'p', 'q', 'd', 'dmp1', 'dmq1', 'iqmp'])
def test_each_private_number_is_checked(field):
    """Any one of the private numbers off (the public key unchanged) is refused before the key is sent."""
    numbers = serialization.load_pem_private_key(pem('rsa', 'traditional').encode('ascii'), password=None).private_numbers()
    assert _keys.rsa_numbers_fit(numbers)
    values = dict(p=numbers.p, q=numbers.q, d=numbers.d, dmp1=numbers.dmp1, dmq1=numbers.dmq1, iqmp=numbers.iqmp)
    public = numbers.public_numbers
    if field == 'n':  # the private numbers of the key with another key's modulus
        public = rsa.RSAPublicNumbers(public.e, public.n + 2)
    else:
        values[field] += 2
    assert not _keys.rsa_numbers_fit(rsa.RSAPrivateNumbers(public_numbers=public, **values))


def test_without_skip_support_loading_checks_at_once(monkeypatch):
    monkeypatch.setattr(_keys, '_SKIP_RSA_CHECK', False)
    with pytest.raises(InvalidPrivateKeyError, match='could not be parsed'):
        load_private_key(_inconsistent_rsa_pem())
