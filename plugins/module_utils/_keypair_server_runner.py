# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_keypair_server: bind a key pair to ECS servers, replace it, or unbind it, through KPS tasks.

plan(): every server is read from ECS (``key_name``, power state: KPS task records cannot tell what a server
has, since a finished task leaves no record unless it failed); a server that already has what the task asks
costs nothing more. For the others the key pair is checked, the running tasks are read once (a task still
running for the same change is waited for instead of started again; any other task on the server fails the run
before anything is sent), and every problem the user must fix (no auth for a running server, a key pair auth
on a server without a key pair) fails the task before any write.
apply(): tasks start at most 10 at once (associate for one server, batch-associate for several, disassociate
one server a call) and, with ``wait``, each group is waited for before the next starts; a failed task's code
and message come from the failed task records. Servers whose task failed are named with them in the error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import is_loopback
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (
    KeyMaterialError,
    PassphraseRequiredError,
    load_private_key,
    public_key_blob,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsRunner
from ansible_collections.huaweicloud.kps.plugins.module_utils._names import check_names
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan
from ansible_collections.huaweicloud.kps.plugins.module_utils._tasks import (
    MAX_AT_ONCE,
    STOPPED,
    TaskClient,
    ecs_endpoint,
    task_done,
)

# The task status prefix KPS uses for each change (task_status RUNNING_<op>, SUCCESS_<op>, FAILED_<op>).
OPERATIONS = {'bind': 'BIND', 'replace': 'REPLACE', 'reset': 'RESET', 'unbind': 'UNBIND'}


class ServerKeyError(KpsError):
    """A problem the user must fix; ``details`` go into the failed result."""


def _names(servers: list[dict[str, Any]]) -> str:
    return ', '.join('%s (%s)' % (server['name'], server['id']) if server.get('name') else server['id']
                     for server in servers)


def _blob(public_key: str | None) -> str | None:
    """'<type> <base64>' of a public key from KPS, or None when it has none we can read."""
    try:
        return public_key_blob(public_key) if public_key else None
    except KeyMaterialError:
        return None


class KeypairServerRunner(KpsRunner):
    """Runs kps_keypair_server for one ``KpsModule``."""

    _client: TaskClient | None = None
    _applying: Plan | None = None
    _auth: dict[str, str] | None = None  # auth as sent to KPS (_auth_to_send)
    _auth_public_key: str | None = None  # '<type> <base64>' of a keypair auth.key

    @property
    def client(self) -> TaskClient:
        if self._client is None:
            kps = self.module.kps  # connects: credentials, project id
            endpoint = ecs_endpoint(self.params.get('ecs_endpoint'), self.module.credentials.region,
                                    self.params.get('cloud'), bool(self.params.get('allow_insecure_http')))
            parts = urlsplit(endpoint)
            if parts.scheme == 'http' and not is_loopback(parts.hostname):
                self.module.warn('huaweicloud.kps: allow_insecure_http is true and ecs_endpoint is plain http:// to '
                                 'another host: credentials cross the network unencrypted.')
            self._client = TaskClient(self.module.http, kps.base, kps.project_id, endpoint)
        return self._client

    # ----- plan ---------------------------------------------------------------------------------------------

    def _check_params(self) -> list[str]:
        name, ids = self.params.get('name'), self.params['servers']
        if name is not None:
            check_names([name])
        bad = [repr(item) for item in ids if not isinstance(item, str) or not item.strip() or '/' in item]
        if bad:
            raise ServerKeyError('Invalid server ID %s in servers: give the ECS server IDs (UUIDs).' % ', '.join(bad))
        if not 1 <= self.params['port'] <= 65535:
            raise ServerKeyError('port must be from 1 to 65535, got %d.' % self.params['port'])
        if self.params['wait_timeout'] <= 0:
            raise ServerKeyError('wait_timeout must be a positive number of seconds.')
        return list(dict.fromkeys(item.strip() for item in ids))

    def _auth_to_send(self) -> dict[str, str] | None:
        """``auth`` as KPS gets it. A keypair auth.key in any format cryptography loads (the OpenSSH format that
        ssh-keygen and the export write by default, PKCS#8, PEM) goes as unencrypted PEM (``PrivateKey.pem``, the
        form the import sends and KPS's AssociateKeypair example shows), converted in memory; a key that cannot be
        loaded fails the task before any call, in words that never hold the key."""
        auth = self.params.get('auth')
        if not auth or auth['type'] != 'keypair':
            return auth
        try:
            key = load_private_key(auth['key'])
            pem = key.pem
        except PassphraseRequiredError:
            raise ServerKeyError('auth.key is an encrypted private key: KPS needs it unencrypted to log in to the '
                                 'servers. Give an unencrypted copy of the key (cp <file> <copy> && ssh-keygen -p -N '
                                 '"" -f <copy>), and remove the copy afterwards.') from None
        except KeyMaterialError as exc:
            raise ServerKeyError('auth.key cannot be used as the private key KPS logs in with: %s' % exc.msg) from None
        self._auth_public_key = public_key_blob(key.public_key)
        return {'type': 'keypair', 'key': pem}

    def _action(self, server: dict[str, Any]) -> str | None:
        name, current = self.params.get('name'), server['key_name']
        if self.params['state'] == 'absent':
            return 'unbind' if current and (name is None or current == name) else None
        if current == name:
            return None
        if server['status'] == STOPPED:
            return 'reset'
        return 'replace' if current else 'bind'

    def plan(self) -> Plan:
        ids = self._check_params()
        self._auth = self._auth_to_send()
        servers, missing = [], []
        for server_id in ids:
            server = self.client.show_server(server_id)
            if server is None:
                missing.append(server_id)
            else:
                servers.append(server)
        if missing:
            raise ServerKeyError('%s %s %s not exist in ECS (project %s). Check the server IDs.' % (
                plural(len(missing), 'Server'), ', '.join(missing), plural(len(missing), 'does', 'do'),
                self.module.project_id), missing=missing)
        for server in servers:
            server['action'] = self._action(server)
        changes = [server for server in servers if server['action']]
        before = dict((server['id'], server['key_name']) for server in servers)
        after = dict(before)
        for server in changes:
            after[server['id']] = None if server['action'] == 'unbind' else self.params['name']
        plan = Plan(changed=bool(changes), before=before, after=after, servers=servers, changes=changes,
                    adopted={}, room=MAX_AT_ONCE)
        if changes:
            self._check_changes(plan)
        return plan

    def _check_changes(self, plan: Plan) -> None:
        """Every reason the changes cannot be made, found before any write; the running tasks are read here."""
        name = self.params.get('name')
        running = [server for server in plan.changes if server['status'] != STOPPED]
        auth = self._auth
        # One read of KPS for every key pair the checks need (find_keypairs: one show for one name, else a listing
        # while it pays): the key pair to put on the servers, and those that a keypair auth.key must belong to.
        wanted = [name] if self.params['state'] == 'present' else []
        if auth and auth['type'] == 'keypair':
            wanted.extend(sorted(set(server['key_name'] for server in running if server['key_name'])))
        keypairs = self.module.kps.find_keypairs(wanted) if wanted else {}
        if self.params['state'] == 'present' and name not in keypairs:
            raise ServerKeyError('Key pair %s does not exist in KPS. Create it first (huaweicloud.kps.kps_keypair).'
                                 % name)
        if running and not auth:
            raise ServerKeyError(
                'auth is required: %s %s %s running, and KPS logs in to a running server over SSH to change '
                "root's authorized_keys. Give auth.type password with root's password, or keypair with the "
                'private key of the key pair the server has now.%s' % (
                    plural(len(running), 'server'), _names(running), plural(len(running), 'is', 'are'),
                    self._stopped_note(plan)))
        if auth and auth['type'] == 'keypair':
            keyless = [server for server in running if not server['key_name']]
            if keyless:
                raise ServerKeyError(
                    'auth.type keypair logs in with the private key of the key pair a server has now, but %s %s '
                    'no key pair: use auth.type password for %s.' % (
                        _names(keyless), plural(len(keyless), 'has', 'have'), plural(len(keyless), 'it', 'them')))
            self._check_auth_key(running, keypairs)
        tasks = self.client.running_tasks()
        by_server = dict((task['server_id'], task) for task in tasks)
        busy = []
        for server in plan.changes:
            task = by_server.get(server['id'])
            if task is None:
                continue
            same = (task['operate_type'] or '').endswith('_' + OPERATIONS[server['action']]) and (
                server['action'] == 'unbind' or task['keypair_name'] == name)
            if same:
                plan.adopted[server['id']] = task['task_id']  # waited for, not started again
            else:
                busy.append('%s: task %s (%s, key pair %s)' % (_names([server]), task['task_id'], task['operate_type'],
                                                               task['keypair_name']))
        if busy:
            raise ServerKeyError('%s already %s a running key pair task: %s. Wait for it (huaweicloud.kps.'
                                 'kps_task_info lists running tasks) and run again.' % (
                                     plural(len(busy), 'A server', 'Servers'), plural(len(busy), 'has', 'have'),
                                     '; '.join(busy)))
        plan.room = MAX_AT_ONCE - (len(tasks) - len(plan.adopted))
        to_start = len(plan.changes) - len(plan.adopted)
        if to_start and plan.room <= 0:
            raise ServerKeyError('KPS runs %d key pair tasks already, and at most %d servers get a key pair at the '
                                 'same time. Wait for them (huaweicloud.kps.kps_task_info) and run again.'
                                 % (len(tasks), MAX_AT_ONCE))
        if not self.params['wait'] and to_start > plan.room:
            raise ServerKeyError(
                'With wait=false at most %d tasks can start now (at most %d run at once), and %d servers need one: '
                'use wait=true, or fewer servers.' % (plan.room, MAX_AT_ONCE, to_start))

    def _check_auth_key(self, running: list[dict[str, Any]], keypairs: dict[str, dict[str, Any]]) -> None:
        """auth.key must be the private key of the key pair each running server has now: KPS logs in with it, and
        with another key its tasks fail (KPS.7003) once started. Checked against the key pairs' public keys in KPS
        (``keypairs``, read with the key pair to put on); a key pair KPS no longer has cannot be checked and is left
        to KPS."""
        current = set(server['key_name'] for server in running)
        other = sorted(name for name, keypair in keypairs.items()
                       if name in current and _blob(keypair.get('public_key')) not in (None, self._auth_public_key))
        if other:
            servers = [server for server in running if server['key_name'] in other]
            raise ServerKeyError(
                'auth.key is not the private key of %s %s, which %s %s now: KPS logs in with auth.key and would '
                'fail. Give the private key of the key pair the %s now (huaweicloud.kps.kps_private_key_export '
                'exports it when KPS hosts it), or auth.type password.' % (
                    plural(len(other), 'key pair'), ', '.join(other), _names(servers),
                    plural(len(servers), 'has', 'have'), plural(len(servers), 'server has', 'servers have')))

    @staticmethod
    def _stopped_note(plan: Plan) -> str:
        stopped = [server for server in plan.changes if server['status'] == STOPPED]
        if not stopped:
            return ''
        return ' (Stopped servers take no auth: %s.)' % _names(stopped)

    # ----- apply --------------------------------------------------------------------------------------------

    def _server_info(self, server: dict[str, Any]) -> dict[str, Any]:
        """The EcsServerInfo of one server: a stopped one gets no auth and no port (KPS: port 22, no auth)."""
        info: dict[str, Any] = {'id': server['id']}
        if server['status'] != STOPPED:
            info['auth'] = dict(self._auth)
            if server['action'] != 'unbind':
                info['port'] = self.params['port']
        if server['action'] != 'unbind' and self.params['disable_password']:
            info['disable_password'] = True
        return info

    def apply(self, plan: Plan) -> None:
        self._applying = plan  # for _failure(): a call that fails after tasks started still reports them
        by_id = dict((server['id'], server) for server in plan.changes)
        for server_id, task_id in plan.adopted.items():
            by_id[server_id].update(task_id=task_id, adopted=True)
        waiting = [server for server in plan.changes if server.get('adopted')]
        to_start = [server for server in plan.changes if not server.get('adopted')]
        room = max(1, plan.room)
        for start in range(0, len(to_start), room):
            group = to_start[start:start + room]
            self._start(group)
            waiting.extend(server for server in group if server.get('task_id'))
            if self.params['wait'] and start + room < len(to_start):
                self._wait(waiting)
                waiting = []
        if self.params['wait']:
            self._wait(waiting)
        else:
            for server in waiting:
                server['task_status'] = 'RUNNING_' + OPERATIONS[server['action']]
        self._settle(plan)

    def _start(self, group: list[dict[str, Any]]) -> None:
        binds = [server for server in group if server['action'] != 'unbind']
        answers = []
        if binds:
            answers.extend(self.client.associate(self.params['name'], [self._server_info(server) for server in binds]))
        for server in group:
            if server['action'] == 'unbind':
                answers.append(self.client.disassociate(self._server_info(server)))
        by_id = dict((server['id'], server) for server in group)
        for answer in answers:
            server = by_id.get(answer['server_id'])
            if server is None:
                continue
            if answer['status'] == 'FAILED' or not answer['task_id']:
                server.update(task_status='FAILED_' + OPERATIONS[server['action']], error_code=answer['error_code'],
                              error_msg=answer['error_msg'] or 'KPS did not start the task')
            else:
                server['task_id'] = answer['task_id']
        for server in group:
            if not server.get('task_id') and not server.get('task_status'):
                server.update(task_status='FAILED_' + OPERATIONS[server['action']], error_code=None,
                              error_msg='KPS answered without a task for this server')

    def _wait(self, servers: list[dict[str, Any]]) -> None:
        statuses = self.client.wait([server['task_id'] for server in servers], self.params['wait_timeout'])
        for server in servers:
            server['task_status'] = statuses.get(server['task_id'])
            if (server['task_status'] or '').startswith('SUCCESS'):
                server['key_name'] = None if server['action'] == 'unbind' else self.params['name']

    def _settle(self, plan: Plan) -> None:
        """The outcome of the changes: the code and message of each failed task; fails naming the servers
        whose task failed or still runs."""
        failed_ids = [server['task_id'] for server in plan.changes
                      if server.get('task_id') and (server.get('task_status') or '').startswith('FAILED')]
        records = dict((task['task_id'], task) for task in self.client.failed_tasks()) if failed_ids else {}
        for server in plan.changes:
            record = records.get(server.get('task_id'))
            if record and not server.get('error_code'):
                server.update(error_code=record['task_error_code'], error_msg=record['task_error_msg'])
        plan.changed = any(server.get('task_id') for server in plan.changes)
        plan.after = dict((server['id'], server['key_name']) for server in plan.servers)
        failed = [server for server in plan.changes if (server.get('task_status') or '').startswith('FAILED')]
        late = [server for server in plan.changes if self.params['wait'] and server.get('task_id') and
                not task_done(server.get('task_status'))]
        if failed or late:
            plan.applied = True  # the result's words: what was done
            raise ServerKeyError(self._failure_text(failed, late), changed=plan.changed,
                                 servers=self.result(plan)['servers'])

    def _failure_text(self, failed: list[dict[str, Any]], late: list[dict[str, Any]]) -> str:
        what = {'present': 'put key pair %s on' % self.params.get('name'), 'absent': 'remove the key pair from'}
        parts = []
        if failed:
            parts.append('KPS could not %s %d %s: %s.' % (
                what[self.params['state']], len(failed), plural(len(failed), 'server'), '; '.join(
                    '%s: %s %s' % (_names([server]), server.get('error_code') or 'no error code',
                                   server.get('error_msg') or 'no message') for server in failed)))
        if late:
            parts.append('%s still running after wait_timeout (%d s): %s. KPS goes on with %s; run the task '
                         'again later (it waits for %s).' % (
                             plural(len(late), 'A task is', 'Tasks are'), self.params['wait_timeout'],
                             '; '.join('%s: task %s' % (_names([server]), server['task_id']) for server in late),
                             plural(len(late), 'it', 'them'), plural(len(late), 'it', 'them')))
        return ' '.join(parts) + ' The other servers are done; running the task again only retries what is left.'

    # ----- result -------------------------------------------------------------------------------------------

    def result(self, plan: Plan) -> dict[str, Any]:
        servers = []
        for server in plan.servers:
            servers.append({
                'id': server['id'], 'name': server['name'], 'status': server['status'],
                'key_name_before': plan.before[server['id']],
                'key_name': server['key_name'] if plan.applied else plan.after[server['id']],
                'action': server['action'], 'task_id': server.get('task_id'), 'task_status': server.get('task_status'),
                'error_code': server.get('error_code'), 'error_msg': server.get('error_msg')})
        changes = len(plan.changes)
        if not changes:
            msg = 'Every server has what was asked; nothing to do.'
        elif self.params['state'] == 'present':
            msg = plan.say('Would put key pair %s on %d %s.', 'Put key pair %s on %d %s.') % (
                self.params['name'], changes, plural(changes, 'server'))
        else:
            msg = plan.say('Would remove the key pair from %d %s.', 'Removed the key pair from %d %s.') % (
                changes, plural(changes, 'server'))
        if plan.applied and not self.params['wait'] and changes:
            msg += ' The tasks run on (wait=false): kps_task_info shows them.'
        return dict(msg=msg, servers=servers)

    def _failure(self, exc: KpsError) -> dict[str, Any]:
        """A call that failed while tasks were starting or running (for example the second group's start)
        still reports what the run started: ``changed`` and ``servers``."""
        plan = self._applying
        if plan is None or 'servers' in exc.details:
            return exc.result()
        plan.applied = True
        return exc.result(changed=any(server.get('task_id') for server in plan.changes),
                          servers=self.result(plan)['servers'])
