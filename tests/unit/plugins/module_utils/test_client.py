# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import ssl
import threading

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _client, _report_values
from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError
from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError
from ansible_collections.reportops.grafana.plugins.module_utils._report_values import (
    normalize_report_id,
    split_recipients,
)

TOKEN = "glsa_unit_test_token_value_0123456789"
PASSWORD = "unit-test-password-4321"
URL = "https://grafana.example.com/grafana/"
GALAXY_YML = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "galaxy.yml")


@pytest.fixture
def client(make_client):
    return make_client(url=URL, token=TOKEN, org_id=2)


def failure(fetch, client, status=None, body=None, headers=None, msg=None, method="POST"):
    fetch.reply(status, body, headers, msg)
    with pytest.raises(GrafanaError) as raised:
        if method == "POST":
            client.send_report("3", ["a@example.com"])
        else:
            client.get_report("3")
    assert TOKEN not in raised.value.message
    return raised.value


def test_user_agent_carries_the_galaxy_version():
    with open(GALAXY_YML) as galaxy:
        version = re.search(r"^version:\s*(\S+)", galaxy.read(), re.M).group(1)
    assert _client.USER_AGENT == "reportops.grafana/%s" % version


@pytest.mark.parametrize("value, expected", [
    (3, "3"), ("3", "3"), (" 42 ", "42"), ("007", "7"), (1, "1"),
    (0, None), ("0", None), (-1, None), ("-1", None), ("abc", None), ("3/../x", None), ("3.0", None),
    (3.0, None), (True, None), ("", None), (None, None), ([3], None), ("1e3", None), ("+3", None),
])
def test_normalize_report_id(value, expected):
    assert normalize_report_id(value) == expected


def test_split_recipients_splits_dedupes_and_keeps_order():
    assert split_recipients(["b@x.io, a@x.io;c@x.io\nB@X.IO", "a@x.io;;", ""]) == ["b@x.io", "a@x.io", "c@x.io"]


def test_send_request_shape(fetch, client):
    fetch.reply(200, {"message": "Report was sent"})
    answer, attempts = client.send_report("3", ["a@example.com", "b@example.com"])
    assert (answer, attempts) == ({"message": "Report was sent"}, 1)
    call = fetch.calls[0]
    assert call["method"] == "POST"
    assert call["url"] == "https://grafana.example.com/grafana/api/reports/email"
    assert json.loads(call["data"]) == {"id": "3", "emails": "a@example.com,b@example.com"}
    assert call["headers"]["Content-Type"] == "application/json"
    assert call["headers"]["Authorization"] == "Bearer " + TOKEN
    assert call["headers"]["X-Grafana-Org-Id"] == "2"
    assert call["timeout"] == 120
    assert call["headers"]["User-Agent"] == _client.USER_AGENT


def test_use_emails_from_report_body(fetch, client):
    fetch.reply(200, {"message": "Report was sent"})
    client.send_report("12", None)
    assert fetch.bodies() == [{"id": "12", "useEmailsFromReport": True}]


def test_basic_auth_is_sent_preemptively_and_no_bearer(fetch, make_client):
    client = make_client(url=URL, url_username="reporter", url_password=PASSWORD, ca_path="/tmp/ca.pem")
    fetch.reply(200, [])
    assert client.list_reports() == []
    call = fetch.calls[0]
    # Sent with the first request: Grafana answers 401 without a challenge.
    assert call["headers"]["Authorization"] == "Basic " + base64.b64encode(b"reporter:" + PASSWORD.encode()).decode()
    assert "X-Grafana-Org-Id" not in call["headers"]
    assert call["transport"].params["ca_path"] == "/tmp/ca.pem"


def test_env_fallbacks(fetch, make_client, monkeypatch):
    monkeypatch.setenv("GRAFANA_URL", "http://127.0.0.1:3000")
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    monkeypatch.setenv("GRAFANA_ORG_ID", "4")
    monkeypatch.setenv("GRAFANA_TIMEOUT", "75")
    monkeypatch.setenv("GRAFANA_VALIDATE_CERTS", "false")
    client = make_client()
    fetch.reply(200, [])
    client.list_reports()
    call = fetch.calls[0]
    assert call["url"] == "http://127.0.0.1:3000/api/reports"
    assert call["headers"]["Authorization"] == "Bearer " + TOKEN and call["headers"]["X-Grafana-Org-Id"] == "4"
    assert call["timeout"] == 75 and call["params"]["validate_certs"] is False


@pytest.mark.parametrize("args, message", [
    (dict(url="https://admin:s3cret@grafana.example.com", token=TOKEN), "must not embed credentials"),
    (dict(url="ftp://grafana.example.com", token=TOKEN), "http:// or https://"),
    (dict(url="grafana.example.com", token=TOKEN), "http:// or https://"),
    (dict(url="https://grafana.example.com/?orgId=1", token=TOKEN), "without a query"),
    (dict(url=URL), "one of the following is required: token, url_username"),
    (dict(url=URL, token=TOKEN, url_username="u", url_password="p"), "mutually exclusive: token|url_username"),
    (dict(url=URL, url_username="u"), "parameters are required together: url_username, url_password"),
    (dict(url=URL, token=TOKEN, org_id=0), "org_id must be a positive integer"),
    (dict(url=URL, token=TOKEN, org_id="two"), "org_id"),
    (dict(url=URL, token=TOKEN, timeout=0), "timeout must be a positive"),
    # A token copied with its header's scheme: refused before any request, and never repeated.
    (dict(url=URL, token="Bearer s3cret"), "without the 'Bearer ' prefix"),
    (dict(url=URL, token=" bearer\ts3cret"), "without the 'Bearer ' prefix"),
])
def test_bad_connection_options_fail_before_any_request(fetch, make_client, module_io, args, message):
    # The argument spec fails the module (AnsibleModule); the client's value checks raise, and the module exits.
    with pytest.raises((module_io.Exit, InputError)) as raised:
        make_client(**args)
    msg = raised.value.message if isinstance(raised.value, InputError) else raised.value.result["msg"]
    assert isinstance(raised.value, InputError) or raised.value.failed
    assert message in msg
    assert "s3cret" not in msg
    assert fetch.calls == []


def test_short_timeout_and_disabled_tls_checks_warn(make_client, module_io):
    make_client(url=URL, token=TOKEN, timeout=30, validate_certs=False)
    assert any("at least 60s" in warning for warning in module_io.warnings)
    assert any("not verified" in warning for warning in module_io.warnings)


def test_connection_refused_is_retried_then_reported(fetch, client):
    refused = "Request failed: <urlopen error [Errno 111] Connection refused>"
    fetch.reply(-1, msg=refused).reply(-1, msg=refused).reply(-1, msg=refused)
    with pytest.raises(GrafanaError) as raised:
        client.send_report("3", ["a@example.com"], retries=2)
    assert raised.value.attempts == 3 and not raised.value.may_have_acted
    assert "Could not connect" in raised.value.message and "nothing was sent" in raised.value.message
    assert fetch.sleeps == [1, 2]


def test_nothing_was_sent_is_said_once_and_only_of_a_request_that_acts(fetch, client):
    """Issue 31: a read (the pre-flight's) sends nothing whatever happens; a send that never connected says so once."""
    refused = "Request failed: <urlopen error [Errno 111] Connection refused>"
    fetch.reply(-1, msg=refused)
    with pytest.raises(GrafanaError) as read:
        client.frontend_settings()
    assert read.value.message == "Could not connect to %s ([Errno 111] Connection refused); check url and the network." % URL.rstrip("/")
    fetch.reply(-1, msg=refused)
    with pytest.raises(GrafanaError) as sent:
        client.send_report("3", ["a@example.com"])
    assert sent.value.message.lower().count("nothing was sent") == 1
    fetch.reply(503, {"message": "busy"})
    with pytest.raises(GrafanaError) as busy:
        client.list_reports()
    assert "nothing was sent" not in busy.value.message and "try again later" in busy.value.message


def test_name_resolution_failure_is_retried_and_then_succeeds(fetch, client):
    fetch.reply(-1, msg="Request failed: <urlopen error [Errno -2] Name or service not known>").reply(200, {"message": "Report was sent"})
    assert client.send_report("3", ["a@example.com"], retries=2) == ({"message": "Report was sent"}, 2)


def test_503_honours_retry_after_capped(fetch, client):
    fetch.reply(503, {"message": "busy"}, {"Retry-After": "5"}).reply(429, {}, {"Retry-After": "600"}).reply(200, {"message": "ok"})
    assert client.send_report("3", ["a@example.com"], retries=2)[1] == 3
    assert fetch.sleeps == [5, _client.RETRY_DELAY_CAP]


def test_503_after_all_retries_says_nothing_was_sent(fetch, client):
    for dummy in range(3):
        fetch.reply(503, {"message": "Service Unavailable"}, {"Retry-After": "0"})
    with pytest.raises(GrafanaError) as raised:
        client.send_report("3", ["a@example.com"], retries=2)
    error = raised.value
    assert (error.status, error.attempts) == (503, 3)
    assert "after 3 attempts" in error.message and "nothing was sent" in error.message and "Service Unavailable" in error.message


@pytest.mark.parametrize("status, msg, expected", [
    (-1, "Connection failure: timed out", "did not answer within 120s"),
    (-1, "Request failed: <urlopen error timed out>", "may still render and send report 3"),
    (-1, "Connection failure: connection was closed before a valid response was received: ''", "may have acted on it"),
    (-1, "Request failed: <urlopen error Remote end closed connection without response>", "was not retried"),
])
def test_unknown_outcomes_are_never_retried(fetch, client, status, msg, expected):
    fetch.reply(status, msg=msg)
    with pytest.raises(GrafanaError) as raised:
        client.send_report("3", ["a@example.com"], retries=5)
    assert raised.value.attempts == 1 and raised.value.may_have_acted
    assert expected in raised.value.message
    assert len(fetch.calls) == 1


def test_missing_client_certificate_points_at_client_cert(fetch, client):
    error = failure(fetch, client, -1, msg="Request failed: <urlopen error [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required>")
    assert "set client_cert and client_key" in error.message and "ca_path" not in error.message


def test_tls_handshake_cut_short_mentions_both_remedies(fetch, client):
    error = failure(fetch, client, -1, msg="Request failed: <urlopen error EOF occurred in violation of protocol (_ssl.c:2427)>")
    assert "ca_path" in error.message and "client_cert and client_key" in error.message


def test_tls_failure_points_at_ca_path(fetch, client):
    error = failure(fetch, client, -1, msg="Request failed: <urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed>")
    assert "ca_path" in error.message and "CERTIFICATE_VERIFY_FAILED" in error.message and not error.may_have_acted


@pytest.mark.parametrize("status, body, expected, may_have_acted", [
    (400, {"message": "bad request data", "traceID": ""}, ["HTTP 400: bad request data", "check the report id"], False),
    (401, {"extra": None, "message": "Invalid API key", "messageId": "auth.unauthorized", "statusCode": 401, "traceID": ""},
     ["HTTP 401: Invalid API key", "check the token", "org_id"], False),
    (401, {"message": "Unauthorized"}, ["HTTP 401: Unauthorized"], False),
    (403, {"title": "Access denied", "message": "Permissions needed: reports:send", "accessErrorId": "ACE1"},
     ["denied", "Permissions needed: reports:send", "need the reports:send permission"], False),
    (403, {"message": "Permission denied"}, ["HTTP 403: Permission denied", "reports:send"], False),
    (404, {"message": "Report not found"}, ["Report 3 was not found", "not a dashboard id or uid"], False),
    (500, {"message": "SMTP not configured, check your grafana.ini config file's [smtp] section", "traceID": "ab"},
     ["HTTP 500: SMTP not configured", "configure the [smtp] section", "may not have been sent"], False),
    (500, "<html><head><title>500 Internal Server Error</title></head></html>",
     ["HTTP 500", "an HTML page titled '500 Internal Server Error'", "may still have sent report 3"], True),
    (502, "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center>" + "x" * 5000 + "</body></html>",
     ["HTTP 502", "an HTML page titled '502 Bad Gateway'", "may still have sent report 3", "not retried"], True),
    (504, "upstream request timeout", ["HTTP 504", "'upstream request timeout'", "may still have sent"], True),
    (302, "", ["redirected", "/login", "not authenticated"], False),
])
def test_error_statuses_map_to_one_clear_sentence(fetch, client, status, body, expected, may_have_acted):
    headers = {"Location": "https://grafana.example.com/login"} if status == 302 else {}
    error = failure(fetch, client, status, body, headers)
    assert error.status == status and error.may_have_acted is may_have_acted
    for part in expected:
        assert part in error.message
    assert "<html" not in error.message and "xxxxxxxx" not in error.message
    assert len(fetch.calls) == 1, "only 429 and 503 may be retried"


def test_reads_name_the_read_permission_and_never_claim_a_send(fetch, client):
    error = failure(fetch, client, 403, {"message": "Permission denied"}, method="GET")
    assert "reports:read" in error.message
    error = failure(fetch, client, 500, {"message": "boom"}, method="GET")
    assert "sent" not in error.message and not error.may_have_acted


def test_a_grafana_without_the_reporting_api_is_named_as_such(fetch, client):
    # An Open Source Grafana has no /api/reports route (its router answers 404 "Not found"): the listing, not a
    # report id, is what is missing.
    fetch.reply(404, {"message": "Not found"})
    with pytest.raises(GrafanaError) as raised:
        client.list_reports()
    error = raised.value
    assert error.message.startswith("The list of reports was not found (HTTP 404: Not found); this Grafana has no reporting API")
    assert "Open Source" in error.message and "report's id" not in error.message


def test_non_json_success_body_is_summarised(fetch, client):
    fetch.reply(200, "<html><title>Grafana</title><body>login</body></html>")
    with pytest.raises(GrafanaError) as raised:
        client.list_reports()
    assert "not JSON" in raised.value.message and "an HTML page titled 'Grafana'" in raised.value.message


def test_annotations_query(fetch, client):
    fetch.reply(200, [{"id": 1, "time": 1000}])
    assert client.find_annotations(["reportops.grafana", "delivery:abc"]) == [{"id": 1, "time": 1000}]
    assert fetch.calls[0]["url"].endswith("/api/annotations?tags=reportops.grafana&tags=delivery%3Aabc&type=annotation&limit=1")


# Issue 12: messages for what real Grafana does --------------------------------------------------

HAPROXY_502 = ("<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n"
               "</body></html>")


def test_send_403_names_reports_send_and_the_dashboards(fetch, client):
    error = failure(fetch, client, 403, {"message": "Access denied to this dashboard", "traceID": ""})
    assert "HTTP 403: Access denied to this dashboard" in error.message
    assert "reports:send permission and view access to every dashboard in the report" in error.message
    # A token is not a user: no membership advice.
    assert "belong" not in error.message and not error.may_have_acted


def test_403_for_a_basic_auth_user_says_it_must_belong_to_org_id(fetch, make_client, module_io):
    client = make_client(url=URL, url_username="reporter", url_password=PASSWORD, org_id=2)
    assert not any("current organization" in warning for warning in module_io.warnings)
    rbac = {"title": "Access denied", "message": "You'll need additional permissions to perform this action. "
            "Permissions needed: reports:send", "accessErrorId": "ACE0123456789"}
    error = failure(fetch, client, 403, rbac)
    assert "view access to every dashboard" in error.message
    assert "must also belong to organization 2 (org_id)" in error.message
    assert PASSWORD not in error.message
    error = failure(fetch, client, 403, rbac, method="GET")
    assert "reports:read permission." in error.message and "organization 2" in error.message


def test_basic_auth_without_org_id_warns_about_the_current_organization(fetch, make_client, module_io):
    client = make_client(url=URL, url_username="reporter", url_password=PASSWORD)
    [warning] = [warning for warning in module_io.warnings if "org_id" in warning]
    assert "current organization" in warning and "set org_id" in warning
    error = failure(fetch, client, 403, {"message": "Permission denied"})
    assert "Without org_id Grafana uses the user's current organization" in error.message


def test_token_without_org_id_does_not_warn(make_client, module_io):
    make_client(url=URL, token=TOKEN)
    assert module_io.warnings == []


def test_basic_auth_401_mentions_the_lockout(fetch, make_client):
    client = make_client(url=URL, url_username="reporter", url_password=PASSWORD, org_id=1)
    body = {"extra": None, "message": "Invalid username or password", "messageId": "password-auth.failed",
            "statusCode": 401, "traceID": ""}
    error = failure(fetch, client, 401, body)
    assert "HTTP 401: Invalid username or password" in error.message and "repeated failed logins" in error.message
    token_error = failure(fetch, make_client(url=URL, token=TOKEN), 401, body)
    assert "repeated failed logins" not in token_error.message


@pytest.mark.parametrize("body, expected", [
    (HAPROXY_502, "an HTML page saying '502 Bad Gateway The server returned an invalid or incomplete response.'"),
    ("<!DOCTYPE html><html><head><style>h1 {color: red}</style><script>var x = '<b>';</script></head>"
     "<body><!-- hidden --><h1>Bad&nbsp;gateway &amp; more</h1></body></html>", "an HTML page saying 'Bad gateway & more'"),
    ("<html><body></body></html>", "an HTML page without text"),
    ("<p>" + "word " * 60 + "</p>", "..."),
])
def test_html_error_page_without_a_title_is_shown_as_text(fetch, client, body, expected):
    error = failure(fetch, client, 502, body)
    assert expected in error.message
    assert "<" not in error.message and ">" not in error.message
    assert error.may_have_acted and len(fetch.calls) == 1


def test_one_report_id_by_name():
    reports = [{"id": 3, "name": "Weekly"}, {"id": 4, "name": "Daily"}, {"id": 5, "name": "Daily"}]
    assert _report_values.one_report_id("Weekly", reports, ValueError, "rename one.") == "3"
    assert _report_values.one_report_id("Monthly", reports, ValueError, "rename one.") is None
    with pytest.raises(ValueError, match=r"^report name 'Daily' matches 2 reports in this Grafana \(ids 4, 5\); rename one\.$"):
        _report_values.one_report_id("Daily", reports, ValueError, "rename one.")


def test_one_ssl_context_per_tls_settings(monkeypatch):
    from ansible.module_utils import urls
    built = []
    make_context = urls.make_context
    monkeypatch.setattr(urls, "make_context", lambda **kwargs: built.append(kwargs) or make_context(**kwargs))
    monkeypatch.setattr(_client, "_SSL_CONTEXTS", {})
    first = _client.ssl_context(None, True, None, None)
    # Another client of the run with the same TLS settings (another Grafana, another thread) shares it.
    assert _client.ssl_context(None, True, None, None) is first and len(built) == 1
    unverified = _client.ssl_context(None, False, None, None)
    assert unverified is not first and unverified.verify_mode == ssl.CERT_NONE and len(built) == 2
    assert _client.ssl_context(None, False, None, None) is unverified and len(built) == 2


def test_the_transport_never_replaces_urls_make_context(make_client):
    from ansible.module_utils import urls
    original = urls.make_context
    client = make_client(url="https://grafana.example.com", token=TOKEN)
    opener = client.transport.opener()
    assert urls.make_context is original
    https = [handler for handler in opener.handlers if handler.__class__.__name__ == "HTTPSHandler"]
    assert https and https[0]._context is _client.ssl_context(None, True, None, None)  # pylint: disable=protected-access
    # The same Grafana's requests reuse the client's opener.
    assert client.transport.opener() is opener


def test_the_transport_uses_the_environment_proxy_unless_use_proxy_is_false(make_client, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://proxy.example.com:3128")

    def proxies(**args):
        opener = make_client(url="http://grafana.example.com", token=TOKEN, **args).transport.opener()
        return [handler.proxies for handler in opener.handlers if handler.__class__.__name__ == "ProxyHandler"]

    assert [found["http"] for found in proxies()] == ["http://proxy.example.com:3128"]
    assert proxies(use_proxy=False) == []


@pytest.fixture
def local_grafana():
    """A loopback HTTP server: a 302 to a login page on /redirect, the request's headers as JSON elsewhere."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            if self.path.endswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", "/login")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps(dict(self.headers)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_real_transport_sends_the_headers_and_follows_no_redirect(make_client, local_grafana):
    client = make_client(url=local_grafana, url_username="reporter", url_password=PASSWORD, org_id=1, use_proxy=False)
    headers, attempts = client.request("GET", "/api/health")
    assert attempts == 1
    assert headers["User-Agent"] == _client.USER_AGENT and headers["X-Grafana-Org-Id"] == "1"
    assert headers["Authorization"].startswith("Basic ")
    with pytest.raises(GrafanaError) as raised:
        client.request("GET", "/redirect", subject="the redirect")
    assert raised.value.status == 302 and "a login page" in raised.value.message


def test_real_transport_reports_a_refused_connection_as_text(make_client):
    client = make_client(url="http://127.0.0.1:9", token=TOKEN, use_proxy=False)
    response, info = _client.open_request(client.transport, "http://127.0.0.1:9/api/health", method="GET", timeout=5)
    assert response is None and info["status"] == -1 and "refused" in info["msg"].lower()
