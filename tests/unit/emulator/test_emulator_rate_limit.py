# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's rate limit switch (used by the AWX job slicing simulation of `make bench`)."""
from __future__ import annotations

import json
import time

import pytest


def _control(client, method, path, body=None):
    status, _headers, raw = client.call(method, '/_emulator' + path, body, sign=False)
    assert status == 200, raw
    return json.loads(raw)


def test_rate_limit_answers_429_with_retry_after_beyond_the_limit_and_logs_it(client):
    assert _control(client, 'POST', '/rate_limit', {'per_second': 3}) == {'per_second': 3}
    # The limit counts the last second: the verdict holds for 5 calls made within one second. A loaded machine
    # can spread them over more, then the burst is tried again once the window has passed.
    for _attempt in range(5):
        started = time.monotonic()
        answers = [client.call('GET', client.kps()) for _index in range(5)]
        if time.monotonic() - started < 1.0:
            break
        time.sleep(1.05)
    else:
        pytest.fail('5 calls never fitted into one second')
    assert [status for status, _headers, _raw in answers] == [200, 200, 200, 429, 429]
    status, headers, raw = answers[-1]
    assert headers['retry-after'] == '1'
    assert json.loads(raw)['error_code'] == 'APIGW.0308'
    log = _control(client, 'GET', '/requests')
    assert [(entry['status'], entry['fault']) for entry in log][-2:] == [(429, 'rate_limit'), (429, 'rate_limit')]
    time.sleep(1.05)  # the window has passed: requests go through again
    assert client.call('GET', client.kps())[0] == 200
    _control(client, 'POST', '/rate_limit', {'per_second': 0})
    assert all(client.call('GET', client.kps())[0] == 200 for _index in range(10))
