# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's state: key pairs and issued tokens, kept in one JSON file.

The file is rewritten atomically (temp file + os.replace) after every change, without fsync: a killed
emulator loses nothing, a crashed machine may. Each record's JSON is cached, so a write costs one string
join and one file write even with thousands of key pairs.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading

from .keys import Vault

STATE_VERSION = 1


class Store:
    def __init__(self, path):
        self.path = path
        if path:  # `make emulator` on a fresh checkout: build/ does not exist yet
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.lock = threading.RLock()
        self.keypairs = {}
        self.tokens = {}
        self.next_id = 1
        self._deferred = 0  # inside deferred_save(): changes are saved once, at its end
        data = self._read()
        self.vault = Vault(data.get('vault_key'))
        self.keypairs = data.get('keypairs', {})
        self.tokens = data.get('tokens', {})
        self.next_id = data.get('next_id', len(self.keypairs) + 1)
        self._cache = {name: self._entry(record) for name, record in self.keypairs.items()}
        if not data:
            self.save()

    def _read(self):
        if not self.path or not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return {}
        with open(self.path, encoding='utf-8') as handle:
            data = json.load(handle)
        if data.get('version') != STATE_VERSION:
            raise ValueError('%s: unsupported state version %r' % (self.path, data.get('version')))
        return data

    @staticmethod
    def _entry(record):
        """The record's '"name": {...}' member of the keypairs object, cached until the record changes."""
        return '%s:%s' % (json.dumps(record['name']), json.dumps(record, sort_keys=True))

    def put(self, record):
        """Insert or replace a key pair record and persist."""
        with self.lock:
            self.keypairs[record['name']] = record
            self._cache[record['name']] = self._entry(record)
            self.save()

    def delete(self, name):
        with self.lock:
            self.keypairs.pop(name, None)
            self._cache.pop(name, None)
            self.save()

    def clear(self):
        with self.lock:
            self.keypairs.clear()
            self._cache.clear()
            self.save()

    def take_id(self):
        with self.lock:
            self.next_id += 1
            return self.next_id - 1

    @contextlib.contextmanager
    def deferred_save(self):
        """Hold the lock and save the changes made inside once, at the end: one batch call is one write of the
        file, not one per key pair (a batch import of 10 RSA key pairs into 1000 rewrote 25 MB)."""
        with self.lock:
            self._deferred += 1
            try:
                yield
            finally:
                self._deferred -= 1
                if not self._deferred:
                    self.save()

    def save(self):
        """Write the whole state atomically; called with the lock held after each change."""
        if not self.path or self._deferred:
            return
        with self.lock:
            head = json.dumps({'version': STATE_VERSION, 'vault_key': self.vault.key_b64, 'next_id': self.next_id,
                               'tokens': self.tokens})
            data = ('%s,"keypairs":{%s}}' % (head[:-1], ','.join(self._cache.values()))).encode('utf-8')
            tmp = self.path + '.tmp'  # one writer at a time (the lock), so a fixed temp name is safe
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
