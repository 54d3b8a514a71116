# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the emulator's own tests: an in-process server (fast) and a real process (the CLI)."""
from __future__ import annotations

import threading

import pytest

from kps_emulator.cli import EmulatorServer
from kps_emulator.server import Emulator
from kps_emulator.testing import Client, EmulatorProcess


class InProcess:
    """An emulator served from a thread of the test process."""

    def __init__(self, state_file, **options):
        self.state_file = state_file
        self.emulator = Emulator(state_file=str(state_file), **options)
        self.server = EmulatorServer(self.emulator)
        self.url = self.server.url
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self._thread.start()

    def client(self, **kwargs):
        return Client(self.url, **kwargs)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(state_name='state.json', **options):
        server = InProcess(tmp_path / state_name, **options)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def client(server):
    return server.client()


@pytest.fixture(scope='module')
def emu_process(tmp_path_factory):
    with EmulatorProcess(tmp_path_factory.mktemp('emu') / 'state.json',
                         args=['--kms-key', 'kps/default', '--kms-key', 'team/other']) as emu:
        yield emu
