# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retries of sends that Grafana reports as failed (render_retries, render_backoff)."""

from __future__ import annotations

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _client
from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError

TOKEN = "glsa_unit_test_token_value_0123456789"
# Grafana's own error body: pkg/api/response's JSON {"message": ...} (with a traceID when tracing is on).
RENDER_FAILED = {"message": "Failed to generate PDF", "traceID": "00000000000000000000000000000000"}
SENT = {"message": "Report was sent"}


@pytest.fixture
def client(make_client):
    client = make_client(url="https://grafana.example.com", token=TOKEN)
    client.retry_policy = _client.RetryPolicy(0, 2, 10.0)
    return client


def test_two_render_failures_then_sent_counts_three_attempts(fetch, client):
    fetch.reply(500, RENDER_FAILED).reply(500, RENDER_FAILED).reply(200, SENT)
    assert client.send_report("3", ["a@example.com"]) == (SENT, 3)
    assert len(fetch.calls) == 3
    # Exponential steps of 10 s and 20 s, each wait between half the step and the step.
    assert len(fetch.sleeps) == 2
    assert 5 <= fetch.sleeps[0] <= 10 and 10 <= fetch.sleeps[1] <= 20


def test_every_render_failing_fails_after_render_retries_plus_one(fetch, client):
    for dummy in range(3):
        fetch.reply(500, RENDER_FAILED)
    with pytest.raises(GrafanaError) as raised:
        client.send_report("3", ["a@example.com"])
    error = raised.value
    assert error.attempts == 3 and error.grafana_failed and not error.may_have_acted
    assert "Failed to generate PDF" in error.message and "3 attempts in all (render_retries: 2)" in error.message
    assert len(fetch.calls) == 3


@pytest.mark.parametrize("status, body, msg", [
    (-1, None, "The read operation timed out"),
    (-1, None, "Connection reset by peer"),
    (502, "<html><head><title>502 Bad Gateway</title></head></html>", None),
    (504, "<html><head><title>504 Gateway Time-out</title></head></html>", None),
    (500, "<html><head><title>500 Internal Server Error</title></head></html>", None),
])
def test_what_may_have_been_sent_is_never_retried(fetch, client, status, body, msg):
    fetch.reply(status, body, msg=msg)
    with pytest.raises(GrafanaError) as raised:
        client.send_report("3", ["a@example.com"])
    assert raised.value.may_have_acted and raised.value.attempts == 1
    assert len(fetch.calls) == 1 and fetch.sleeps == []


def test_a_timeout_after_a_render_failure_stops_the_retries(fetch, client):
    fetch.reply(500, RENDER_FAILED).reply(-1, msg="The read operation timed out")
    with pytest.raises(GrafanaError) as raised:
        client.send_report("3", ["a@example.com"])
    assert raised.value.may_have_acted and raised.value.attempts == 2 and len(fetch.calls) == 2


def test_no_render_retries(fetch, client):
    client.retry_policy = _client.NO_RETRIES
    fetch.reply(500, RENDER_FAILED)
    with pytest.raises(GrafanaError) as raised:
        client.send_report("3", ["a@example.com"])
    assert raised.value.attempts == 1 and "attempts in all" not in raised.value.message


def test_transport_retries_inside_a_render_attempt_count_too(fetch, client):
    fetch.reply(503, {"message": "busy"}).reply(500, RENDER_FAILED).reply(200, SENT)
    assert client.send_report("3", ["a@example.com"], retries=1) == (SENT, 3)


def test_other_requests_are_not_render_retried(fetch, client):
    fetch.reply(500, {"message": "boom"})
    with pytest.raises(GrafanaError):
        client.get_report("3")
    assert len(fetch.calls) == 1


@pytest.mark.parametrize("backoff, retry, step", [(10, 1, 10), (10, 2, 20), (10, 3, 40), (10, 6, 300), (0, 3, 0), (0.5, 2, 1.0)])
def test_backoff_schedule(backoff, retry, step):
    policy = _client.RetryPolicy(render_retries=6, render_backoff=backoff)
    assert policy.render_step(retry) == step
    assert policy.render_delay(retry, uniform=lambda low, high: low) == step / 2.0
    assert policy.render_delay(retry, uniform=lambda low, high: high) == step


def test_the_longest_send_covers_every_render_retry_and_wait(client):
    # 120 s timeout: 3 render attempts, each with 1 transport retry (2 x 120 + 30), plus waits of at most 10 + 20.
    assert client.longest_send(1) == 3 * (2 * 120 + 30) + 30
    client.retry_policy = _client.NO_RETRIES
    assert client.longest_send(1) == 2 * 120 + 30


@pytest.mark.parametrize("grafana_message, fix", [
    # pkg/services/notifications: a Grafana without [smtp] fails every send.
    ("Failed to send email: SMTP not configured, check your grafana.ini config file's [smtp] section", "[smtp] section"),
    # pkg/services/rendering: no renderer, a silent one (no version), one too old for PDFs.
    ("Failed to render: rendering plugin not available", "Grafana has no renderer"),
    ("Failed to render: invalid plugin version", "never answered"),
    ("Failed to render: unsupported, requires image renderer version >= 3.10.0", "too old for PDFs"),
])
def test_a_failure_of_grafanas_configuration_is_said_with_its_fix_and_not_retried(fetch, client, grafana_message, fix):
    fetch.reply(500, {"message": grafana_message})
    with pytest.raises(GrafanaError) as raised:
        client.send_report("3", ["a@example.com"])
    assert len(fetch.calls) == 1 and fetch.sleeps == []
    assert raised.value.grafana_failed and not raised.value.may_have_acted
    assert fix in raised.value.message and grafana_message in raised.value.message
