# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SDK-HMAC-SHA256 (Huawei Cloud AK/SK) signing, written for the emulator alone.

It deliberately shares no code with the collection's signer or the SDK's, so a bug on one side
cannot hide the same bug on the other.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = 'SDK-HMAC-SHA256'
DATE_FORMAT = '%Y%m%dT%H%M%SZ'
UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
_AUTH_RE = re.compile(r'^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)\s*$')


def _quote(value):
    return quote(value, safe='~')


def canonical_uri(path):
    """Percent-quote each segment of the (unquoted) path and always end with '/'."""
    uri = '/'.join(_quote(part) for part in unquote(path).split('/'))
    return uri if uri.endswith('/') else uri + '/'


def canonical_query(query):
    """Sort the decoded (key, value) pairs, then quote both sides."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return '&'.join('%s=%s' % (_quote(key), _quote(value)) for key, value in pairs)


def canonical_request(method, path, query, headers, signed_headers, body_hash):
    """Build the six-line canonical request.

    ``headers`` maps lower-case names to values; every name in ``signed_headers`` must be present.
    """
    lines = ''.join('%s:%s\n' % (name, headers[name].strip()) for name in signed_headers)
    return '\n'.join([method.upper(), canonical_uri(path), canonical_query(query), lines,
                      ';'.join(signed_headers), body_hash])


def body_hash(body, content_sha256=None):
    """Hash of the payload; a non-empty body may declare its own hash (X-Sdk-Content-Sha256)."""
    if body and content_sha256:
        return content_sha256
    return hashlib.sha256(body or b'').hexdigest()


def signature(secret_key, sdk_date, canonical):
    string_to_sign = '\n'.join([ALGORITHM, sdk_date, hashlib.sha256(canonical.encode('utf-8')).hexdigest()])
    return hmac.new(secret_key.encode('utf-8'), string_to_sign.encode('utf-8'), hashlib.sha256).hexdigest()


def parse_authorization(value):
    """Return (access_key, [signed headers], signature) or None when the header is not SDK-HMAC-SHA256."""
    match = _AUTH_RE.match(value or '')
    if not match:
        return None
    return match.group(1), match.group(2).split(';'), match.group(3).lower()


def format_date(when=None):
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.strftime(DATE_FORMAT)


def parse_date(value):
    """Parse an X-Sdk-Date value into an aware datetime, or None if malformed."""
    try:
        return datetime.datetime.strptime(value, DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def sign(method, url, headers, body, access_key, secret_key):
    """Return ``headers`` plus X-Sdk-Date, Host and Authorization for a request (client side, for tests).

    Headers whose name contains '_' are left unsigned, as the official algorithm does.
    """
    parts = urlsplit(url)
    out = dict(headers)
    lower = {name.lower() for name in out}
    if 'x-sdk-date' not in lower:
        out['X-Sdk-Date'] = format_date()
    if 'host' not in lower:
        out['Host'] = parts.netloc
    by_lower = {name.lower(): str(value) for name, value in out.items() if '_' not in name}
    names = sorted(by_lower)
    sdk_date = by_lower['x-sdk-date']
    canonical = canonical_request(method, parts.path or '/', parts.query, by_lower, names,
                                  body_hash(body, by_lower.get('x-sdk-content-sha256')))
    out['Authorization'] = '%s Access=%s, SignedHeaders=%s, Signature=%s' % (
        ALGORITHM, access_key, ';'.join(names), signature(secret_key, sdk_date, canonical))
    return out
