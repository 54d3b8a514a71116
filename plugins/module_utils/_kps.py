# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""KpsClient: one method per KPS v3 call the modules need. Plain dicts in, plain dicts out.

Never touches files. Raises HuaweiCloudError (or its subclass KpsZipError for a bad batch-export
archive); no message contains key material. What each rule rests on (SDK model, Terraform, API page, or an
assumption the emulator can switch) is tabled in docs/emulator.md.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from typing import Any, Iterable, Iterator, Mapping, NoReturn, Sequence

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HttpClient, HuaweiCloudError, quote_path_segment, scrub
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (
    NO_TRADITIONAL_PEM,
    TRADITIONAL,
    KeyMaterialError,
    PrivateKey,
    fingerprint,
    load_private_key,
    public_key_blob,
)

BATCH_EXPORT_MAX = 10
BATCH_IMPORT_MAX = 10  # key pairs per batch-import call, as Terraform sends them
# The zip bomb guard of batch export: an archive entry larger than this is no private key (a key is a few KiB).
# The client's own limit: the API client never depends on the write core (_files).
MAX_ENTRY_BYTES = 1024 * 1024
# Key pair names: the rule is in _names (the host side checks names too). The import-private-key model still
# says 64 characters, so names sent to that call are held to 64.
IMPORT_NAME_MAX = 64
# A key pair's description (CreateKeypair, UpdateKeypairDescription).
DESCRIPTION_MAX = 255
# The largest page the newest ListKeypairs page documents (limit 1-1000); KPS may serve fewer (iter_pages).
LIST_PAGE_SIZE = 1000
_MAX_PAGES = 10000
# The metadata fields every listing and show of a key pair reports; what the modules return as `keypairs`.
KEYPAIR_FIELDS = ('name', 'type', 'scope', 'public_key', 'fingerprint', 'is_key_protection', 'frozen_state')
# What showing one key pair reports besides those (the listing does not).
KEYPAIR_DETAIL_FIELDS = KEYPAIR_FIELDS + ('id', 'user_id', 'description', 'create_time', 'update_time')
# The scopes of a key pair as options take them: KPS's own values, and Terraform's name for "domain"
# (huaweicloud_kps_keypair's scope = "account"), which api_scope() turns into KPS's.
SCOPE_CHOICES = ['user', 'domain', 'account']


def api_scope(scope: str | None) -> str | None:
    """The scope as KPS says it: Terraform's ``account`` is KPS's ``domain``."""
    return 'domain' if scope == 'account' else scope


def unavailable(names: Iterable[str], found: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """``(missing, not_hosted)``: the names of ``names`` that ``found`` (``find_keypairs``) lacks, and those whose
    private key KPS does not host."""
    names = list(names)
    return ([name for name in names if not found.get(name)],
            [name for name in names if found.get(name) and not found[name].get('is_key_protection')])


def unavailable_problems(missing: Sequence[str], not_hosted: Sequence[str] = ()) -> list[str]:
    """What is wrong with the ``unavailable`` key pairs, one clause per kind (none when nothing is)."""
    problems = []
    if missing:
        problems.append('%s %s %s not exist in KPS' % (
            plural(len(missing), 'key pair'), ', '.join(missing), plural(len(missing), 'does', 'do')))
    if not_hosted:
        problems.append('KPS hosts no private key for %s %s (import one with huaweicloud.kps.kps_private_key_import)'
                        % (plural(len(not_hosted), 'key pair'), ', '.join(not_hosted)))
    return problems


def keypairs_without_format(keypairs: Iterable[Mapping[str, Any]], fmt: str) -> list[str]:
    """Names of the key pairs whose key type has no private key encoding ``fmt`` (ED25519 and traditional PEM)."""
    if fmt != TRADITIONAL:
        return []
    return [keypair['name'] for keypair in keypairs
            if ((keypair.get('public_key') or '').split() or [None])[0] in NO_TRADITIONAL_PEM]


class KpsZipError(HuaweiCloudError):
    """The batch-export archive is corrupt or hostile: never used, the task fails."""

    def __init__(self, msg: str, request_id: str | None = None) -> None:
        super().__init__('batch export', reason=msg, request_id=request_id)


class KpsZipMismatch(KpsZipError):
    """A sound archive that does not hold exactly the requested private keys: its key pairs are exported singly."""


def _safe_entry_name(name: str) -> bool:
    """Reject names that could escape a directory if anyone ever extracted the archive."""
    if not name or '\x00' in name or '\\' in name or name.startswith('/') or (len(name) > 1 and name[1] == ':'):
        return False
    return '..' not in name.split('/') and posixpath.normpath(name) == name.rstrip('/')


def _shown(name: str) -> str:
    # Entry names come from the server; keep them short and printable in messages.
    text = ''.join(ch if ch.isprintable() else '?' for ch in name)
    return repr(text[:80] + ('...' if len(text) > 80 else ''))


def parse_batch_export_zip(data: bytes, keypairs: Sequence[Mapping[str, Any]],
                           request_id: str | None = None) -> dict[str, bytes]:
    """Return {name: PEM bytes} for ``keypairs`` (dicts with name and public_key and/or fingerprint).

    Every private key in the archive must match exactly one still unmatched requested key pair (by public
    key blob, else by fingerprint); file names are not trusted. Entries that are not private keys (a readme,
    public keys: the archive's layout is undocumented) are ignored. KpsZipMismatch when a requested key is
    missing or a private key matches none; KpsZipError when the archive is corrupt or hostile.
    """
    def fail(msg: str, error: type[KpsZipError] = KpsZipError) -> NoReturn:
        raise error(msg, request_id=request_id)

    if not isinstance(data, bytes) or not data:
        fail('KPS answered with an empty archive')
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError) as exc:
        fail('the archive KPS returned is not a readable zip file (%s); run the task again' % exc.__class__.__name__)

    files = [info for info in infos if not info.is_dir()]
    if len(infos) > 2 * len(keypairs) + 10:
        fail('the archive holds %d entries for %d requested key pairs' % (len(infos), len(keypairs)))
    seen = set()
    for info in infos:
        if not _safe_entry_name(info.filename):
            fail('the archive holds an entry with an unsafe name %s' % _shown(info.filename))
        if info.filename in seen:
            fail('the archive holds the entry %s twice' % _shown(info.filename))
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            fail('the archive entry %s is encrypted' % _shown(info.filename))

    wanted = []  # [(name, blob or None, fingerprint or None)] still unmatched
    for item in keypairs:
        blob = public_key_blob(item['public_key']) if item.get('public_key') else None
        fp = item.get('fingerprint') or (fingerprint(blob) if blob else None)
        if not blob and not fp:
            raise ValueError('batch export of %s needs its public_key or fingerprint' % item.get('name'))
        wanted.append((item['name'], blob, fp))

    result = {}
    total = 0
    budget = MAX_ENTRY_BYTES * max(1, len(keypairs))
    for info in files:
        try:
            with archive.open(info) as handle:
                # Read at most the cap + 1 byte: declared sizes in the header are not trusted.
                content = handle.read(MAX_ENTRY_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError, RuntimeError) as exc:
            fail('the archive entry %s cannot be read (%s); the archive is corrupt or truncated, run the task again'
                 % (_shown(info.filename), exc.__class__.__name__))
        total += len(content)
        if len(content) > MAX_ENTRY_BYTES or total > budget:
            fail('the archive entry %s is larger than any private key (over %d bytes)'
                 % (_shown(info.filename), MAX_ENTRY_BYTES))
        try:
            key = load_private_key(content)
        except KeyMaterialError:
            continue  # not an unencrypted private key: a requested key it should have been is missed below
        blob = public_key_blob(key.public_key)
        match = next((w for w in wanted if w[1] == blob), None)
        if match is None:
            match = next((w for w in wanted if w[1] is None and w[2] == key.fingerprint), None)
        if match is None:
            fail('the archive entry %s (fingerprint %s) matches no requested key pair that is still unmatched'
                 % (_shown(info.filename), key.fingerprint), KpsZipMismatch)
        wanted.remove(match)
        result[match[0]] = content
    if wanted:
        fail('the archive lacks the private key of %s' % ', '.join(w[0] for w in wanted), KpsZipMismatch)
    return result


class KpsClient:
    """KPS v3 calls under ``{endpoint}/v3/{project_id}``; ``http`` is an _http.HttpClient."""

    def __init__(self, http: HttpClient, endpoint: str, project_id: str) -> None:
        self.http = http
        self.endpoint = endpoint.rstrip('/')
        self.project_id = project_id
        self.base = '%s/v3/%s' % (self.endpoint, quote_path_segment(project_id))

    def _keypair_url(self, name: str) -> str:
        return '%s/keypairs/%s' % (self.base, quote_path_segment(name))

    def show_keypair(self, name: str) -> dict[str, Any] | None:
        """The key pair's metadata dict, or None when it does not exist.

        No source documents the answer for a missing key pair (Terraform treats HTTP 404 as gone). KPS.4016,
        KPS.6004 and a 404 from KPS mean "missing"; any other 4xx except 401/403/429 (a gateway 404 included:
        a wrong endpoint answers that too) is checked against a listing: missing there means missing, present
        there means the show failed for a real reason (re-raised).
        """
        try:
            data = self.http.request('show key pair', 'GET', self._keypair_url(name))
        except HuaweiCloudError as exc:
            if exc.not_found and not str(exc.error_code or '').startswith('APIGW.'):
                return None
            if exc.status is None or not 400 <= exc.status < 500 or exc.status in (401, 403, 429):
                raise
            if any(keypair.get('name') == name for page, _more in self.iter_pages() for keypair in page):
                raise
            return None
        return _normalized(_unwrap(data, 'show key pair', 'keypair'))

    def iter_pages(self, limit: int = LIST_PAGE_SIZE) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """The listing page by page: ``(metadata dicts, more pages follow)``; stop iterating to stop reading.

        The sources disagree on paging (docs/emulator.md), so: ``page_info.next_marker`` is followed whenever it
        is present, non-empty and new, whatever the page length (a server may serve fewer than ``limit``), and
        sent back as it came (the SDK calls it an address, not a name). The listing ends on an empty page, a
        missing or repeated marker, or, only when KPS gives no ``page_info`` at all, a page shorter than
        ``limit`` (the marker is then the last name). A 400 naming ``limit`` (a region that takes no
        ``limit=1000``) is retried once without ``limit``: KPS then pages by its default.
        """
        marker = None
        markers = set()
        send_limit = True
        for _request in range(_MAX_PAGES):
            try:
                data = self.http.request('list key pairs', 'GET', self.base + '/keypairs',
                                         params={'limit': limit if send_limit else None, 'marker': marker})
            except HuaweiCloudError as exc:
                if send_limit and exc.status == 400 and 'limit' in str(exc.error_msg or '').lower():
                    send_limit = False
                    continue
                raise
            if not isinstance(data, dict):
                raise HuaweiCloudError('list key pairs', reason='KPS answered with an unexpected body')
            items = data.get('keypairs') or []
            page = []
            for item in items:
                keypair = item.get('keypair') if isinstance(item, dict) and 'keypair' in item else item
                if isinstance(keypair, dict):
                    page.append(_normalized(keypair))
            page_info = data.get('page_info')
            if isinstance(page_info, dict):
                next_marker = page_info.get('next_marker')
                more = bool(items)
            else:  # no page_info at all: the newest ListKeypairs page's rule, the last name as the marker
                next_marker = page[-1].get('name') if page else None
                more = bool(items) and (len(items) >= limit or not send_limit)
            more = more and isinstance(next_marker, str) and next_marker != '' and next_marker not in markers
            yield page, more
            if not more:
                return
            marker = next_marker
            markers.add(marker)
        raise HuaweiCloudError('list key pairs', reason='KPS kept returning more pages; giving up')

    def list_keypairs(self, limit: int = LIST_PAGE_SIZE) -> list[dict[str, Any]]:
        """All key pairs (metadata dicts), every page."""
        return [keypair for page, _more in self.iter_pages(limit) for keypair in page]

    def find_keypairs(self, names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Metadata of key pairs by name, as ``{name: metadata}``; key pairs that do not exist are left out.

        The rule (docs/benchmark.md): one name is one show. Several names: list pages (``limit`` 1000; KPS
        may serve fewer, 50 by the older pages' default) until every name is found or the listing ends; once
        the pages read are as many as the names still missing, show those names instead. It counts pages, not
        key pairs, so it holds whatever size KPS serves: reads are 1 when the project fits on one page,
        min(N, pages) whenever the names turn up or the listing ends first, and never more than
        2 x min(N, pages) (plus the one refused request where a region takes no ``limit``).
        ``names=None`` returns every key pair of the project.
        """
        if names is None:
            return dict((keypair['name'], keypair) for keypair in self.list_keypairs() if keypair.get('name'))
        missing = list(dict.fromkeys(names))
        found = {}
        pages = 0
        if len(missing) > 1:
            for page, more in self.iter_pages():
                pages += 1
                for keypair in page:
                    if keypair.get('name') in missing:
                        found[keypair['name']] = keypair
                        missing.remove(keypair['name'])
                if not more:
                    return found  # the listing ended: what it did not hold does not exist
                if not missing or pages >= len(missing):
                    break
        for name in missing:
            keypair = self.show_keypair(name)
            if keypair:
                found[name] = keypair
        return found

    @staticmethod
    def _protection(private_key: str | None, encryption_type: str | None, kms_key_name: str | None,
                    kms_key_id: str | None) -> dict[str, Any]:
        encryption = {'type': encryption_type or 'default'}
        if kms_key_name:
            encryption['kms_key_name'] = kms_key_name
        if kms_key_id:
            encryption['kms_key_id'] = kms_key_id
        protection = {'encryption': encryption}
        if private_key:
            protection['private_key'] = private_key
        return protection

    @classmethod
    def keypair_body(cls, name: str, public_key: str | None = None, private_key: str | None = None,
                     encryption_type: str | None = None, kms_key_name: str | None = None,
                     kms_key_id: str | None = None, user_id: str | None = None,
                     scope: str | None = None) -> dict[str, Any]:
        """The ``keypair`` of a create body (SDK CreateKeypairAction), as create and batch import send it."""
        keypair = {'name': name, 'type': 'ssh'}
        if public_key:
            keypair['public_key'] = public_key
        if scope:
            keypair['scope'] = scope
        if user_id:
            keypair['user_id'] = user_id
        if private_key or (encryption_type and not public_key):
            # Never public_key with a key_protection lacking private_key: KPS answers KPS.0002 (Terraform issue 7049).
            keypair['key_protection'] = cls._protection(private_key, encryption_type, kms_key_name, kms_key_id)
        return keypair

    def create_keypair(self, name: str, public_key: str | None = None, private_key: str | None = None,
                       encryption_type: str | None = None, kms_key_name: str | None = None,
                       kms_key_id: str | None = None, user_id: str | None = None,
                       scope: str | None = None) -> dict[str, Any]:
        """Create a key pair; returns the new key pair dict (with ``private_key`` when KPS generated it).

        Without ``public_key`` and ``private_key`` KPS generates the pair; with ``encryption_type`` it also hosts
        the generated private key. Not repeated after a timeout or 5xx (it is not idempotent): the caller
        re-reads the state.
        """
        keypair = self.keypair_body(name, public_key, private_key, encryption_type, kms_key_name, kms_key_id,
                                    user_id, scope)
        data = self.http.request('create key pair', 'POST', self.base + '/keypairs', json={'keypair': keypair},
                                 idempotent=False)
        return _unwrap(data, 'create key pair', 'keypair')

    def batch_import_keypairs(self, keypairs: Sequence[Mapping[str, Any]]) -> tuple[set[str], dict[str, str]]:
        """Create up to 10 key pairs in one call (SDK BatchImportKeypair); ``keypairs``: ``keypair_body()`` dicts.

        KPS creates each one or not: returns ``(names created, {name: reason})`` of what the answer reports
        (``succeeded_keypairs``: SDK CreateKeypairResponseBody ``{"keypair": {...}}``, also taken nested once
        more as Terraform reads it; ``failed_keypairs``: ``{keypair_name, failed_reason}``, the reason scrubbed).
        A name the answer reports neither way is in neither. Not repeated after a timeout or 5xx (a create is not
        idempotent): the caller re-reads the state.
        """
        keypairs = list(keypairs)
        if not 1 <= len(keypairs) <= BATCH_IMPORT_MAX:
            raise ValueError('batch import takes 1 to %d key pairs, got %d' % (BATCH_IMPORT_MAX, len(keypairs)))
        names = set(item['name'] for item in keypairs)
        data = self.http.request('batch import', 'POST', self.base + '/keypairs/batch-import',
                                 json=[{'keypair': dict(item)} for item in keypairs], idempotent=False)
        if not isinstance(data, dict):
            raise HuaweiCloudError('batch import', reason='KPS answered with an unexpected body')
        created = set()
        for item in data.get('succeeded_keypairs') or []:
            for _depth in range(2):
                if isinstance(item, dict) and isinstance(item.get('keypair'), dict):
                    item = item['keypair']
            name = item.get('name') if isinstance(item, dict) else None
            if name in names:
                created.add(name)
        failed = {}
        for item in data.get('failed_keypairs') or []:
            name = item.get('keypair_name') if isinstance(item, dict) else None
            if name in names and name not in created:
                failed[name] = scrub(item.get('failed_reason') or 'no reason given')
        return created, failed

    def import_private_key(self, name: str, private_key: str, encryption_type: str = 'default',
                           kms_key_name: str | None = None, kms_key_id: str | None = None,
                           user_id: str | None = None) -> dict[str, Any]:
        """Host ``private_key`` (unencrypted PEM) for key pair ``name``; overwrites a hosted key.

        Safe to repeat (importing the same key again gives the same state), so it is retried.
        """
        keypair = {'name': name,
                   'key_protection': self._protection(private_key, encryption_type, kms_key_name, kms_key_id)}
        if user_id:
            keypair['user_id'] = user_id
        data = self.http.request('import private key', 'POST', self.base + '/keypairs/private-key/import',
                                 json={'keypair': keypair}, idempotent=True)
        return _unwrap(data, 'import private key', 'keypair')

    def export_private_key(self, name: str) -> str:
        """The hosted private key of ``name`` as PEM text (KPS.6005 when none is hosted)."""
        data = self.http.request('export private key', 'POST', self.base + '/keypairs/private-key/export',
                                 json={'keypair': {'name': name}}, idempotent=True)
        private_key = _unwrap(data, 'export private key', 'keypair').get('private_key')
        if not isinstance(private_key, str) or not private_key:
            raise HuaweiCloudError('export private key', reason='KPS answered without a private key for %s' % name)
        return private_key

    def batch_export_private_keys(self, keypairs: Iterable[Mapping[str, Any]]) -> dict[str, bytes]:
        """Export up to 10 key pairs in one call; returns {name: PEM bytes}.

        ``keypairs``: dicts with ``name`` and ``public_key`` (and/or ``fingerprint``), e.g. from
        show/list; they identify which archive entry belongs to which key pair.
        """
        keypairs = list(keypairs)
        if not 1 <= len(keypairs) <= BATCH_EXPORT_MAX:
            raise ValueError('batch export takes 1 to %d key pairs, got %d' % (BATCH_EXPORT_MAX, len(keypairs)))
        names = [item['name'] for item in keypairs]
        if len(set(names)) != len(names):
            raise ValueError('batch export got the same key pair name twice')
        response = self.http.send('batch export', 'POST', self.base + '/keypairs/private-key/batch-export',
                                  json=[{'keypair': {'name': name}} for name in names], expect='bytes',
                                  idempotent=True)
        return parse_batch_export_zip(response.data, keypairs, request_id=response.request_id)

    def export_checked(self, keypair: Mapping[str, Any]) -> bytes:
        """The hosted private key of ``keypair`` (show/list dict) as PEM bytes, proven to be this key pair's."""
        name = keypair['name']
        pem = self.export_private_key(name)
        try:
            key = load_private_key(pem)
        except KeyMaterialError:
            raise HuaweiCloudError('export private key', reason='KPS returned something that is not an unencrypted '
                                   'private key for key pair %s; nothing was written or returned' % name)
        if not key_matches(keypair, key):
            raise HuaweiCloudError('export private key', reason="KPS returned a private key for key pair %s whose "
                                   "public key (fingerprint %s) is not the key pair's (fingerprint %s); nothing "
                                   "was written or returned" % (name, key.fingerprint, keypair.get('fingerprint')))
        return pem if isinstance(pem, bytes) else pem.encode('utf-8')

    def export_private_keys(self, keypairs: Iterable[Mapping[str, Any]]) -> tuple[dict[str, bytes], list[str]]:
        """The private keys of ``keypairs`` (show/list dicts): ``({name: PEM bytes}, warnings)``.

        One export call for one key pair, else batch calls of at most 10. Every key returned is checked
        against its key pair's public key. A batch archive that does not hold exactly the requested private
        keys (one missing, or one of no requested key pair) is not used: its key pairs are exported one call
        each instead, and a warning says so. Every name of ``keypairs`` is in the result, or this raises.
        """
        keypairs = list(keypairs)
        if len(keypairs) == 1:
            return {keypairs[0]['name']: self.export_checked(keypairs[0])}, []
        pems, warnings = {}, []
        for start in range(0, len(keypairs), BATCH_EXPORT_MAX):
            chunk = keypairs[start:start + BATCH_EXPORT_MAX]
            try:
                pems.update(self.batch_export_private_keys(chunk))
            except KpsZipMismatch as exc:
                warnings.append('%s; exported the %d key pairs of that batch (%s) one call each instead.'
                                % (exc, len(chunk), ', '.join(item['name'] for item in chunk)))
                for keypair in chunk:
                    pems[keypair['name']] = self.export_checked(keypair)
        lost = [item['name'] for item in keypairs if not pems.get(item['name'])]
        if lost:  # cannot happen with the parser above; a key must never be returned as None
            raise HuaweiCloudError('batch export', reason='no private key came back for %s' % ', '.join(lost))
        return pems, warnings

    def update_keypair_description(self, name: str, description: str) -> None:
        """Set the description of key pair ``name`` (the only field KPS lets change in place)."""
        self.http.request('update key pair', 'PUT', self._keypair_url(name),
                          json={'keypair': {'description': description}}, expect='none', idempotent=True)

    def delete_keypair(self, name: str) -> bool:
        """Delete key pair ``name``, hosted private key included. True if deleted, False if it did not exist."""
        try:
            self.http.request('delete key pair', 'DELETE', self._keypair_url(name), expect='none', idempotent=True)
        except HuaweiCloudError as exc:
            if exc.not_found:
                return False
            raise
        return True

    def clear_private_key(self, name: str) -> bool:
        """Stop hosting the private key of ``name``. True if one was cleared, False if none was hosted."""
        try:
            self.http.request('clear private key', 'DELETE', self._keypair_url(name) + '/private-key', expect='none')
        except HuaweiCloudError as exc:
            if exc.status == 404 or exc.error_code == 'KPS.6005':
                return False
            raise
        return True


def key_matches(keypair: Mapping[str, Any], key: PrivateKey) -> bool:
    """Whether the parsed private ``key`` belongs to ``keypair`` (KPS metadata).

    The public key blob decides; the fingerprint only when KPS gave no usable public key.
    """
    if keypair.get('public_key'):
        try:
            return public_key_blob(keypair['public_key']) == public_key_blob(key.public_key)
        except KeyMaterialError:
            pass
    return bool(keypair.get('fingerprint')) and keypair['fingerprint'].strip().lower() == key.fingerprint


def keypair_summary(keypair: Mapping[str, Any], fields: Sequence[str] = KEYPAIR_FIELDS) -> dict[str, Any]:
    """The documented metadata ``fields`` of a key pair (missing ones None); the public key without its comment.

    The default fields are those both list and show report; a module that reads with show documents more.
    """
    summary = dict((field, keypair.get(field)) for field in fields)
    if summary.get('public_key'):
        try:
            summary['public_key'] = public_key_blob(summary['public_key'])
        except KeyMaterialError:
            pass  # keep what KPS said; matching then falls back to the fingerprint
    return summary


def _normalized(keypair: dict[str, Any]) -> dict[str, Any]:
    """``frozen_state`` as an int (KPS lists give a string, show an int: SDK keypair.py vs keypair_detail.py)."""
    state = keypair.get('frozen_state')
    if 'frozen_state' in keypair and (not isinstance(state, int) or isinstance(state, bool)):
        text = str(state).strip() if state is not None else ''
        keypair = dict(keypair, frozen_state=int(text) if text.isdigit() else None)
    return keypair


def _unwrap(data: Any, call: str, key: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise HuaweiCloudError(call, reason='KPS answered without "%s" in the body' % key)
    return data[key]
