# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the Grafana simulator over real HTTP against a real process."""

import base64
import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

import grafana_sim
from conftest import SIMULATOR

AUTH_401_KEYS = {"extra", "message", "messageId", "statusCode", "traceID"}


def assert_error(response, status, message=None):
    """Check status, JSON content type and (a part of) the message; return the body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    if message is not None:
        assert message in body["message"]
    return body


# Health, routing ------------------------------------------------------------------------------


def test_health_needs_no_auth(sim):
    response = sim.api("GET", "/api/health")
    assert response.status_code == 200
    assert response.json() == {"commit": "sim", "database": "ok", "version": "11.5.0"}


def test_unknown_route_is_404_not_found(sim):
    body = assert_error(sim.api("GET", "/api/nothing-here", "admin"), 404)
    assert body == {"message": "Not found"}


@pytest.mark.parametrize("method, path", [("PATCH", "/api/reports"), ("POST", "/api/reports/1"), ("PUT", "/api/annotations")])
def test_known_path_with_wrong_method_is_404_not_found(sim, method, path):
    # Grafana's router keeps one route tree per method and sends an unmatched method to the
    # NotFound handler: 404 {"message":"Not found"}, never 405 (pkg/web/router.go ServeHTTP).
    body = assert_error(sim.api(method, path, "admin", json={}), 404)
    assert body == {"message": "Not found"}


@pytest.mark.parametrize("path", ["/api/reports/abc", "/api/reports/-1", "/api/reports/1.5"])
def test_non_integer_report_id_in_path_is_400(sim, path):
    assert_error(sim.api("GET", path, "admin"), 400, "id is invalid")


# Authentication -------------------------------------------------------------------------------

BASIC_API_KEY = "Basic " + base64.b64encode(b"api_key:sim-token-expired").decode()


# Each cause has its own messageId: errutil errors of pkg/services/authn/clients/api_key.go
# (api-key.invalid/expired/revoked) and password.go (password-auth.failed); a request that no
# client recognises is "Unauthorized" (auth.unauthorized, pkg/middleware/auth.go notAuthorized).
@pytest.mark.parametrize("headers, message, message_id", [
    ({}, "Unauthorized", "auth.unauthorized"),
    ({"Authorization": "Bearer glsa_unknown"}, "Invalid API key", "api-key.invalid"),
    ({"Authorization": "Bearer sim-token-expired"}, "Expired API key", "api-key.expired"),
    ({"Authorization": "Bearer sim-token-revoked"}, "Revoked API key", "api-key.revoked"),
    ({"Authorization": "Basic cmVwb3J0ZXI6d3Jvbmc="}, "Invalid username or password", "password-auth.failed"),  # reporter:wrong
    ({"Authorization": "Basic cmVwb3J0ZXI6"}, "Invalid username or password", "password-auth.failed"),  # reporter: (empty)
    # Not valid base64: Go's Request.BasicAuth fails, so no client takes the request.
    ({"Authorization": "Basic !!!not-base64"}, "Unauthorized", "auth.unauthorized"),
    ({"Authorization": "Token whatever"}, "Unauthorized", "auth.unauthorized"),
    # "Bearer " is matched case-sensitively (strings.HasPrefix in api_key.go getTokenFromRequest).
    ({"Authorization": "bearer sim-token-sender"}, "Unauthorized", "auth.unauthorized"),
    ({"Authorization": "BEARER sim-token-sender"}, "Unauthorized", "auth.unauthorized"),
    # Basic auth with the user name api_key carries a token (api_key.go getTokenFromRequest).
    ({"Authorization": BASIC_API_KEY}, "Expired API key", "api-key.expired"),
])
def test_401_messages_profile_10(sim, headers, message, message_id):
    response = sim.api("GET", "/api/reports", headers=headers)
    body = assert_error(response, 401)
    assert set(body) == AUTH_401_KEYS
    assert body["message"] == message
    assert body["messageId"] == message_id
    assert body["statusCode"] == 401
    assert body["extra"] is None
    # Without tracing configured Grafana's traceID is empty (the design doc's Grafana 10+ sample).
    assert body["traceID"] == ""
    assert "WWW-Authenticate" not in response.headers


def test_trace_id_is_set_when_tracing_is_on(sim):
    sim.settings(tracing=True)
    assert re.fullmatch(r"[0-9a-f]{32}", assert_error(sim.api("GET", "/api/reports"), 401)["traceID"])
    assert re.fullmatch(r"[0-9a-f]{32}", assert_error(sim.send("99"), 404)["traceID"])


def test_basic_api_key_is_a_token(sim):
    # Basic api_key:<token> authenticates as the token (api_key.go getTokenFromRequest).
    response = sim.api("GET", "/api/reports", auth=("api_key", "sim-token-readonly"))
    assert response.status_code == 200 and [report["id"] for report in response.json()] == [1, 2, 3]
    assert sim.api("GET", "/api/reports", headers={"Authorization": "Bearer sim-token-readonly"}).status_code == 200


@pytest.mark.parametrize("token, message", [
    (None, "Unauthorized"), ("glsa_unknown", "Invalid API key"), ("sim-token-expired", "Expired API key"),
    ("sim-token-revoked", "Revoked API key"),
])
def test_401_messages_profile_9(sim, token, message):
    sim.settings(profile=9)
    response = sim.api("GET", "/api/reports", token)
    assert assert_error(response, 401) == {"message": message}
    assert "WWW-Authenticate" not in response.headers


def test_basic_auth_user(sim):
    response = sim.api("GET", "/api/reports", auth=("reporter", "sim-reporter-password"))
    assert response.status_code == 200
    assert [report["id"] for report in response.json()] == [1, 2, 3]


def test_basic_auth_user_in_second_org(sim):
    response = sim.api("GET", "/api/reports", auth=("reporter", "sim-reporter-password"), headers={"X-Grafana-Org-Id": "2"})
    assert response.status_code == 200
    assert [(report["id"], report["orgId"]) for report in response.json()] == [(7, 2)]


def test_user_asking_for_foreign_org_is_403_with_the_rbac_body(sim):
    # A user is authenticated in any org it names, but has no role in one it does not belong to:
    # the RBAC check denies it (403), unlike a token (401). Source: authnimpl/service.go
    # orgIDFromRequest takes the org from the request; user store GetSignedInUser joins org_user
    # with a LEFT OUTER JOIN, so the user gets no role there; accesscontrol/middleware.go deny().
    response = sim.api("GET", "/api/reports", auth=("viewer", "sim-viewer-password"), headers={"X-Grafana-Org-Id": "2"})
    body = assert_error(response, 403)
    assert set(body) == {"title", "message", "accessErrorId"}
    assert body["message"].endswith("Permissions needed: reports:read")
    response = sim.api("POST", "/api/reports/email", auth=("viewer", "sim-viewer-password"), params={"targetOrgId": "2"},
                       json={"id": "7", "useEmailsFromReport": True})
    assert assert_error(response, 403)["title"] == "Access denied"
    assert sim.outbox() == []


def test_token_asking_for_other_org_is_401(sim):
    body = assert_error(sim.api("GET", "/api/reports", "sender", headers={"X-Grafana-Org-Id": "2"}), 401,
                        "API key does not belong to the requested organization")
    assert body["messageId"] == "api-key.organization-mismatch"


def test_token_org_via_target_org_id_query(sim):
    assert_error(sim.api("GET", "/api/reports?targetOrgId=2", "sender"), 401, "does not belong to the requested organization")
    response = sim.api("GET", "/api/reports?targetOrgId=2", "org2")
    assert response.status_code == 200
    assert [report["id"] for report in response.json()] == [7]


def test_org_header_matching_token_org_is_fine(sim):
    assert sim.api("GET", "/api/reports/1", "sender", headers={"X-Grafana-Org-Id": "1"}).status_code == 200


def test_basic_auth_without_org_uses_the_current_org_which_a_switch_changes(sim):
    # Without an org header Grafana uses the user's current org (user.org_id, set when the user
    # switches org in the UI), not the first org it belongs to (authnimpl/service.go leaves OrgID
    # 0; the user sync loads the signed-in user with its own org_id).
    reporter = ("reporter", "sim-reporter-password")
    assert [report["orgId"] for report in sim.api("GET", "/api/reports", auth=reporter).json()] == [1, 1, 1]
    assert sim.control("POST", "current-org", {"login": "reporter", "org_id": 2}) == {"login": "reporter", "current_org": 2}
    assert [report["id"] for report in sim.api("GET", "/api/reports", auth=reporter).json()] == [7]
    # The header still wins.
    assert [report["id"] for report in sim.api("GET", "/api/reports", auth=reporter, headers={"X-Grafana-Org-Id": "1"}).json()] == [1, 2, 3]
    response = sim.session.post(sim.url + "/_sim/current-org", json={"login": "viewer", "org_id": 2}, timeout=10)
    assert response.status_code == 400
    sim.reset()
    assert [report["orgId"] for report in sim.api("GET", "/api/reports", auth=reporter).json()] == [1, 1, 1]


def test_current_org_from_config(simulator):
    users = [{"login": "multi", "password": "multi-password", "orgs": [1, 2], "current_org": 2, "permissions": ["reports:read"]}]
    sim = simulator(config={"users": users})
    assert [report["id"] for report in sim.api("GET", "/api/reports", auth=("multi", "multi-password")).json()] == [7]


# Parse or ignore: authnimpl/service.go orgIDFromQuery/orgIDFromHeader read the org with
# strconv.ParseInt and treat an error as 0 ("not given"): the credential's org is used.
@pytest.mark.parametrize("request_kwargs", [
    {"headers": {"X-Grafana-Org-Id": "one"}},
    {"headers": {"X-Grafana-Org-Id": "2.0"}},
    {"params": {"targetOrgId": "x"}},
    {"params": {"targetOrgId": "0"}},
])
def test_non_numeric_org_is_ignored(sim, request_kwargs):
    response = sim.api("GET", "/api/reports", "sender", **request_kwargs)
    assert response.status_code == 200, response.text
    assert [report["id"] for report in response.json()] == [1, 2, 3]


def test_report_ids_are_per_org(sim):
    assert_error(sim.api("GET", "/api/reports/1", "org2"), 404, "Report not found")
    assert sim.api("GET", "/api/reports/7", "org2").json()["name"] == "Weekly SLO"
    assert_error(sim.api("GET", "/api/reports/7", "sender"), 404, "Report not found")


def test_report_ids_come_from_one_sequence_across_orgs(sim, simulator):
    # Report ids are database ids: one sequence for all orgs, never reused (inferred from the
    # reporting schema; grafana-reporting-api.md). The same id in two orgs could hide a missing org header.
    org1 = sim.api("POST", "/api/reports", "admin", json={"name": "Org 1 report"}).json()["id"]
    org2 = sim.api("POST", "/api/reports", auth=("reporter", "sim-reporter-password"), headers={"X-Grafana-Org-Id": "2"},
                   json={"name": "Org 2 report"})
    assert org2.status_code == 403  # reporter has no reports:create
    assert org1 == 8  # after the highest configured id (7, in org 2)
    assert sim.api("DELETE", f"/api/reports/{org1}", "admin").status_code == 200
    assert sim.api("POST", "/api/reports", "admin", json={"name": "Again"}).json()["id"] == 9
    reports = [{"id": 1, "org_id": 1, "name": "A"}, {"id": 1, "org_id": 2, "name": "B"}]
    with pytest.raises(pytest.fail.Exception):
        simulator(config={"reports": reports})


# Basic-auth lockout: loginattemptimpl/login_attempt.go counts failed logins per user name in a
# 5-minute window; at [security] brute_force_login_protection_max_attempts (default 5) the
# password client (authn/clients/password.go) answers password-auth.failed even for the right password.
def test_basic_auth_lockout_after_repeated_failures(sim):
    for dummy in range(5):
        assert sim.api("GET", "/api/reports", auth=("Reporter", "wrong")).status_code == 401
    body = assert_error(sim.api("GET", "/api/reports", auth=("reporter", "sim-reporter-password")), 401, "Invalid username or password")
    assert body["messageId"] == "password-auth.failed"
    # Other users and tokens are not affected.
    assert sim.api("GET", "/api/reports", auth=("viewer", "sim-viewer-password")).status_code == 200
    assert sim.api("GET", "/api/reports", "sender").status_code == 200


def test_basic_auth_lockout_window_and_setting(sim):
    sim.settings(lockout_attempts=2, lockout_window_seconds=0.5)
    for dummy in range(2):
        sim.api("GET", "/api/reports", auth=("reporter", "wrong"))
    assert sim.api("GET", "/api/reports", auth=("reporter", "sim-reporter-password")).status_code == 401
    time.sleep(0.6)
    assert sim.api("GET", "/api/reports", auth=("reporter", "sim-reporter-password")).status_code == 200
    sim.settings(lockout_attempts=0)
    for dummy in range(6):
        sim.api("GET", "/api/reports", auth=("reporter", "wrong"))
    assert sim.api("GET", "/api/reports", auth=("reporter", "sim-reporter-password")).status_code == 200


# Permissions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, token, permission", [
    ("POST", "/api/reports/email", "readonly", "reports:send"),
    ("GET", "/api/reports", "send-only", "reports:read"),
    ("GET", "/api/reports/1", "send-only", "reports:read"),
    ("POST", "/api/reports", "sender", "reports:create"),
    ("PUT", "/api/reports/1", "sender", "reports:write"),
    ("DELETE", "/api/reports/1", "sender", "reports:delete"),
    ("GET", "/api/annotations", "readonly", "annotations:read"),
    ("POST", "/api/annotations", "readonly", "annotations:create"),
])
def test_403_profile_10_names_the_permission(sim, method, path, token, permission):
    body = assert_error(sim.api(method, path, token, json={"id": "1", "useEmailsFromReport": True}), 403)
    assert set(body) == {"title", "message", "accessErrorId"}
    assert body["title"] == "Access denied"
    assert body["message"].endswith("Permissions needed: " + permission)
    assert re.fullmatch(r"ACE[0-9]+", body["accessErrorId"])


def test_403_profile_9_is_permission_denied(sim):
    sim.settings(profile=9)
    response = sim.api("POST", "/api/reports/email", "readonly", json={"id": "1", "useEmailsFromReport": True})
    assert assert_error(response, 403) == {"message": "Permission denied"}


def test_basic_user_permissions_apply(sim):
    response = sim.api("POST", "/api/reports/email", auth=("viewer", "sim-viewer-password"), json={"id": "1", "useEmailsFromReport": True})
    assert_error(response, 403, "reports:send")


def test_send_needs_view_access_to_every_dashboard_of_the_report(simulator):
    # Issue 12 point 1. Grafana renders each dashboard of the report as the caller, so a caller
    # that cannot view one gets 403 even with reports:send (grafana-reporting-api.md: "403 no access
    # to the report or to a dashboard in it"; body inferred from pkg/api/dashboard.go
    # dashboardGuardianResponse). Dashboard access comes from dashboards:read scopes in the config.
    sim = simulator(config={"tokens": [
        {"token": "sim-token-slo", "permissions": ["reports:read", "reports:send", "dashboards:read dashboards:uid:slo-overview"]},
        {"token": "sim-token-all", "permissions": ["reports:send", "dashboards:read dashboards:*"]},
        {"token": "sim-token-role", "permissions": ["reports:send"]}]})
    assert sim.send("1", token="slo").status_code == 200
    denied = sim.send("2", token="slo")
    assert assert_error(denied, 403) == {"message": "Access denied to this dashboard", "traceID": ""}
    assert [mail["report_id"] for mail in sim.outbox()] == [1]
    # A missing report is still 404 first; a wildcard scope or no dashboards:read permission (a role) view all.
    assert sim.send("99", token="slo").status_code == 404
    assert sim.send("2", token="all").status_code == 200
    assert sim.send("3", token="role").status_code == 200


def test_default_scoped_credentials(sim):
    # The default config's scoped tokens: the minimal ledger token and one that views one dashboard.
    claim = annotate(sim, token="ledger-scoped", tags=["reportops.grafana", "delivery:x"])
    assert [item["id"] for item in listed(sim, "ledger-scoped", tags="delivery:x")] == [claim]
    assert sim.send("1", token="ledger-scoped").status_code == 200
    assert sim.api("DELETE", f"/api/annotations/{claim}", "ledger-scoped").status_code == 200
    assert sim.send("1", token="slo-only").status_code == 200
    assert assert_error(sim.send("2", token="slo-only"), 403, "Access denied to this dashboard")


# Sending a report -----------------------------------------------------------------------------


def test_send_with_report_recipients(sim):
    response = sim.send("1", useEmailsFromReport=True)
    assert response.status_code == 200
    assert response.json() == {"message": "Report was sent"}
    assert sim.stats()["sends"] == 1
    [mail] = sim.outbox()
    assert mail["to"] == ["sre@example.com", "lead@example.com"]
    assert mail["subject"] == "Weekly SLO"
    assert (mail["report_id"], mail["org_id"]) == (1, 1)
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-000001-report-1\.eml", mail["file"])


def test_send_to_semicolon_separated_saved_recipients(sim):
    assert sim.send("2").status_code == 200
    assert sim.outbox()[0]["to"] == ["capacity@example.com", "ops@example.com"]


def test_send_to_explicit_emails_with_both_separators(sim):
    assert sim.send("1", emails="a@example.com, b@example.com;c@example.com").status_code == 200
    assert sim.outbox()[0]["to"] == ["a@example.com", "b@example.com", "c@example.com"]


def test_explicit_emails_win_over_use_emails_from_report(sim):
    assert sim.send("1", emails="only@example.com", useEmailsFromReport=True).status_code == 200
    assert sim.outbox()[0]["to"] == ["only@example.com"]


def test_send_uses_saved_subject(sim):
    assert sim.send("3").status_code == 200
    assert sim.outbox()[0]["subject"] == "[Exec] Exec Summary"


def test_send_in_org_2_by_header(sim):
    response = sim.api("POST", "/api/reports/email", auth=("reporter", "sim-reporter-password"),
                       headers={"X-Grafana-Org-Id": "2"}, json={"id": "7", "useEmailsFromReport": True})
    assert response.status_code == 200
    assert [(mail["report_id"], mail["org_id"], mail["to"]) for mail in sim.outbox()] == [(7, 2, ["ops2@example.com"])]


def test_content_type_with_charset_is_accepted(sim):
    response = sim.api("POST", "/api/reports/email", "sender", data=b'{"id": "1", "useEmailsFromReport": true}',
                       headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200


@pytest.mark.parametrize("content_type, data, message", [
    (None, b'{"id": "1", "useEmailsFromReport": true}', "bad request data"),
    ("text/plain", b'{"id": "1", "useEmailsFromReport": true}', "bad request data"),
    ("application/json", b'{"id": "1", "useEmails', "bad request data"),
    ("application/json", b'["1"]', "bad request data"),
    ("application/json", b'{"id": 1, "useEmailsFromReport": true}', "bad request data"),
    ("application/json", b'{"id": "one", "useEmailsFromReport": true}', "bad request data"),
    ("application/json", b'{"id": "0", "useEmailsFromReport": true}', "bad request data"),
    ("application/json", b'{"useEmailsFromReport": true}', "bad request data"),
    ("application/json", b'{"id": "1", "emails": ["a@example.com"]}', "bad request data"),
    ("application/json", b'{"id": "1", "useEmailsFromReport": "yes"}', "bad request data"),
    ("application/json", b'{"id": "1"}', "either emails or useEmailsFromReport"),
    ("application/json", b'{"id": "1", "emails": " , ", "useEmailsFromReport": false}', "either emails or useEmailsFromReport"),
    ("application/json", b'{"id": "1", "emails": "not-an-address"}', "invalid email address"),
])
def test_send_400_causes(sim, content_type, data, message):
    headers = {"Content-Type": content_type} if content_type else {}
    body = assert_error(sim.api("POST", "/api/reports/email", "sender", data=data, headers=headers), 400, message)
    assert set(body) == {"message", "traceID"}
    assert sim.outbox() == []


def test_send_400_profile_9_shape(sim):
    sim.settings(profile=9)
    response = sim.api("POST", "/api/reports/email", "sender", json={"id": 1, "useEmailsFromReport": True})
    assert assert_error(response, 400) == {"message": "bad request data"}


def test_send_unknown_report_is_404(sim):
    body = assert_error(sim.send("99"), 404, "Report not found")
    assert set(body) == {"message", "traceID"}


def test_check_order_401_then_403_then_400_then_404(sim):
    bad_body = {"id": 99}
    assert sim.api("POST", "/api/reports/email", "glsa_unknown", json=bad_body).status_code == 401
    assert sim.api("POST", "/api/reports/email", "readonly", json=bad_body).status_code == 403
    assert sim.api("POST", "/api/reports/email", "sender", json=bad_body).status_code == 400
    assert sim.send("99").status_code == 404


def test_smtp_disabled_is_500_and_no_mail(simulator):
    sim = simulator(config={"smtp_enabled": False, "render_seconds": 0})
    body = assert_error(sim.send("1"), 500, "SMTP not configured")
    assert set(body) == {"message", "traceID"}
    assert sim.outbox() == []
    assert sim.stats()["sends"] == 0


def test_smtp_can_be_disabled_live(sim):
    sim.settings(smtp_enabled=False)
    assert sim.send("1").status_code == 500
    sim.settings(smtp_enabled=True)
    assert sim.send("1").status_code == 200
    assert len(sim.outbox()) == 1


def test_mail_file_is_rfc5322_with_pdf(sim):
    assert sim.send("1").status_code == 200
    [mail] = sim.outbox()
    with open(os.path.join(sim.state_dir, "outbox", mail["file"]), "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    assert message["From"] == "grafana@sim.invalid"
    assert message["To"] == "sre@example.com, lead@example.com"
    assert "Weekly SLO" in message["Subject"]
    assert message["X-Grafana-Report-Id"] == "1"
    assert message["X-Grafana-Org-Id"] == "1"
    assert message["Message-ID"] and message["Date"]
    assert "Weekly SLO" in message.get_body(preferencelist=("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "Weekly SLO.pdf"
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF-")
    assert pdf.endswith(b"%%EOF")
    # The xref table must point at each "N 0 obj".
    xref_at = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref_at:].startswith(b"xref")
    offsets = re.findall(rb"(\d{10}) 00000 n", pdf)
    for number, offset in enumerate(offsets, start=1):
        assert pdf[int(offset):].startswith(b"%d 0 obj" % number)


def test_render_limit_bounds_concurrent_sends(sim):
    sim.settings(render_seconds=0.5, render_limit=2)
    results = []

    def send():
        results.append(sim.send("1").status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=send) for dummy in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert results == [200] * 6
    stats = sim.stats()
    assert stats["max_concurrent_renders"] == 2
    assert stats["in_flight_renders"] == 0
    assert stats["sends"] == 6
    assert elapsed >= 1.5
    assert len(sim.outbox()) == 6


def test_report_render_seconds_overrides_global(simulator):
    reports = [{"id": 1, "org_id": 1, "name": "Slow", "recipients": "a@example.com", "render_seconds": 0.6}]
    sim = simulator(config={"reports": reports, "render_seconds": 0})
    started = time.monotonic()
    assert sim.send("1").status_code == 200
    assert time.monotonic() - started >= 0.6
    report = sim.api("GET", "/api/reports/1", "admin").json()
    assert "render_seconds" not in report
    assert report["recipients"] == "a@example.com"


# Report CRUD ----------------------------------------------------------------------------------

REPORT_KEYS = {"id", "uid", "userId", "orgId", "name", "subject", "recipients", "replyTo", "message", "schedule", "options",
               "enableDashboardUrl", "state", "dashboards", "formats", "scaleFactor", "created", "updated"}


def test_get_report_is_a_full_report_object(sim):
    report = sim.api("GET", "/api/reports/1", "readonly").json()
    assert set(report) == REPORT_KEYS
    assert report["recipients"] == "sre@example.com,lead@example.com"
    assert report["schedule"]["frequency"] == "weekly"
    assert report["schedule"]["timeZone"] == "Europe/Warsaw"
    assert set(report["schedule"]) >= {"startDate", "endDate", "intervalFrequency", "intervalAmount", "workdaysOnly", "dayOfMonth"}
    assert report["options"]["orientation"] == "landscape"
    assert report["dashboards"][0]["dashboard"]["uid"] == "slo-overview"


def test_list_reports_of_the_org(sim):
    reports = sim.api("GET", "/api/reports", "readonly").json()
    assert [(report["id"], report["name"]) for report in reports] == [(1, "Weekly SLO"), (2, "Daily Capacity"), (3, "Exec Summary")]
    assert all(set(report) == REPORT_KEYS for report in reports)


def test_create_update_delete_report(sim):
    created = sim.api("POST", "/api/reports", "admin", json={"name": "New one", "recipients": "n@example.com", "id": 50, "bogus": 1})
    assert created.status_code == 200
    # Ids come from one sequence across orgs: after 7, the highest configured id (in org 2).
    assert created.json() == {"id": 8, "message": "Report created"}
    report = sim.api("GET", "/api/reports/8", "admin").json()
    assert set(report) == REPORT_KEYS
    assert (report["name"], report["orgId"], report["formats"]) == ("New one", 1, ["pdf"])

    # PUT replaces the definition: what the body leaves out gets Grafana's defaults back.
    body = {"name": "New one", "recipients": "n@example.com", "subject": "Changed", "schedule": {"frequency": "daily"}}
    updated = sim.api("PUT", "/api/reports/8", "admin", json=body)
    assert updated.json() == {"message": "Report updated"}
    report = sim.api("GET", "/api/reports/8", "admin").json()
    assert (report["name"], report["subject"], report["schedule"]["frequency"]) == ("New one", "Changed", "daily")
    assert report["schedule"]["timeZone"] == "UTC"

    assert sim.send("8").status_code == 200
    assert sim.outbox()[0]["subject"] == "Changed"

    deleted = sim.api("DELETE", "/api/reports/8", "admin")
    assert deleted.json() == {"message": "Report config was removed"}
    assert_error(sim.api("GET", "/api/reports/8", "admin"), 404, "Report not found")
    assert_error(sim.api("DELETE", "/api/reports/8", "admin"), 404, "Report not found")
    assert_error(sim.api("PUT", "/api/reports/8", "admin", json={"name": "x"}), 404, "Report not found")


def test_create_needs_reports_create_and_uses_the_target_org(sim):
    response = sim.api("POST", "/api/reports", auth=("reporter", "sim-reporter-password"), json={"name": "x"})
    assert response.status_code == 403
    response = sim.api("POST", "/api/reports?targetOrgId=1", "admin", json={"name": "Org 1 report"})
    assert sim.api("GET", f"/api/reports/{response.json()['id']}", "admin").json()["orgId"] == 1


@pytest.mark.parametrize("body, message", [
    ({"recipients": "a@example.com"}, "report name is required"),
    ({"name": "  "}, "report name is required"),
    ({"name": "x", "recipients": ["a@example.com"]}, "bad request data"),
    ({"name": "x", "enableDashboardUrl": "yes"}, "bad request data"),
    ({"name": "x", "scaleFactor": "2"}, "bad request data"),
    ({"name": "x", "recipients": "nope"}, "invalid email address"),
])
def test_create_report_400(sim, body, message):
    assert_error(sim.api("POST", "/api/reports", "admin", json=body), 400, message)


def test_create_report_needs_json_content_type(sim):
    assert_error(sim.api("POST", "/api/reports", "admin", data=b'{"name": "x"}'), 400, "bad request data")


# Report definitions ---------------------------------------------------------------------------

DEFINITION = {"name": "Def", "recipients": "a@example.com", "dashboards": [{"dashboard": {"uid": "slo-overview"}}]}


def test_create_fills_grafana_defaults_on_read_back(sim):
    report_id = sim.api("POST", "/api/reports", "admin", json=DEFINITION).json()["id"]
    report = sim.api("GET", f"/api/reports/{report_id}", "admin").json()
    assert (report["formats"], report["scaleFactor"], report["state"]) == (["pdf"], 2, "scheduled")
    assert (report["options"]["layout"], report["options"]["orientation"]) == ("grid", "landscape")
    assert report["uid"] and report["created"] and report["updated"] and report["userId"]
    dashboard = report["dashboards"][0]
    assert dashboard["dashboard"]["uid"] == "slo-overview" and dashboard["dashboard"]["id"] > 0
    assert dashboard["timeRange"] == {"from": "", "to": ""} and dashboard["reportVariables"] == {}


def test_dates_are_read_back_in_the_schedule_time_zone(sim):
    body = dict(DEFINITION, schedule={"frequency": "daily", "timeZone": "Europe/Warsaw",
                                      "startDate": "2030-05-06T07:00:00Z", "endDate": "2030-06-01T00:00:00+00:00"})
    report_id = sim.api("POST", "/api/reports", "admin", json=body).json()["id"]
    schedule = sim.api("GET", f"/api/reports/{report_id}", "admin").json()["schedule"]
    assert (schedule["startDate"], schedule["endDate"]) == ("2030-05-06T09:00:00+02:00", "2030-06-01T02:00:00+02:00")


def test_put_replaces_the_definition_and_keeps_identity(sim):
    body = dict(DEFINITION, subject="S", formats=["csv"], state="paused", options={"layout": "simple"})
    report_id = sim.api("POST", "/api/reports", "admin", json=body).json()["id"]
    before = sim.api("GET", f"/api/reports/{report_id}", "admin").json()
    assert sim.api("PUT", f"/api/reports/{report_id}", "admin", json=DEFINITION).status_code == 200
    after = sim.api("GET", f"/api/reports/{report_id}", "admin").json()
    assert (after["subject"], after["formats"], after["state"], after["options"]["layout"]) == ("", ["pdf"], "scheduled", "grid")
    assert [after[key] for key in ("id", "uid", "created", "userId")] == [before[key] for key in ("id", "uid", "created", "userId")]


@pytest.mark.parametrize("change, message", [
    ({"formats": ["pdf", "docx"]}, "invalid report format: 'docx'"),
    ({"state": "sleeping"}, "invalid report state"),
    ({"replyTo": "not an address"}, "invalid email address"),
    ({"options": {"orientation": "sideways"}}, "invalid orientation"),
    ({"options": {"layout": "tiles"}}, "invalid layout"),
    ({"schedule": {"frequency": "fortnightly"}}, "invalid schedule frequency"),
    ({"schedule": {"frequency": "custom"}}, "a custom schedule needs intervalFrequency"),
    ({"schedule": {"frequency": "custom", "intervalFrequency": "years", "intervalAmount": 2}}, "invalid schedule interval frequency"),
    ({"schedule": {"timeZone": "Mars/Olympus"}}, "invalid time zone: Mars/Olympus"),
    ({"schedule": {"startDate": "tomorrow"}}, "invalid start date"),
    ({"schedule": {"startDate": "2030-01-01T00:00:00"}}, "has no time zone offset"),
    ({"schedule": {"startDate": "2030-01-02T00:00:00Z", "endDate": "2030-01-01T00:00:00Z"}}, "end date must be after"),
    ({"dashboards": [{"timeRange": {"from": "now-1h", "to": "now"}}]}, "dashboard uid is required"),
    ({"dashboards": [{"dashboard": {"uid": "x"}, "reportVariables": {"env": [1]}}]}, "bad request data"),
])
def test_definition_400(sim, change, message):
    for method, path in (("POST", "/api/reports"), ("PUT", "/api/reports/1"), ("POST", "/api/reports/test-email")):
        assert_error(sim.api(method, path, "admin", json=dict(DEFINITION, **change)), 400, message)
    assert sim.stats()["by_route"].get("POST /api/reports") and len(sim.api("GET", "/api/reports", "admin").json()) == 3
    assert sim.outbox() == []


def test_put_needs_a_name_and_unknown_id_is_404(sim):
    assert_error(sim.api("PUT", "/api/reports/1", "admin", json={"subject": "no name"}), 400, "report name is required")
    assert_error(sim.api("PUT", "/api/reports/99", "admin", json=DEFINITION), 404, "Report not found")


def test_test_email_mails_the_unsaved_definition(sim):
    body = dict(DEFINITION, recipients="a@example.com;b@example.com", subject="Try me")
    response = sim.api("POST", "/api/reports/test-email", "sender", json=body)
    assert response.status_code == 200 and response.json() == {"message": "Test email sent"}
    (mail,) = sim.outbox()
    assert (mail["to"], mail["subject"], mail["report_id"]) == (["a@example.com", "b@example.com"], "Try me", 0)
    assert len(sim.api("GET", "/api/reports", "admin").json()) == 3  # nothing saved
    with open(os.path.join(sim.state_dir, "outbox", mail["file"]), "rb") as handle:
        assert "slo-overview" in email.message_from_binary_file(handle, policy=email.policy.default).get_body().get_content()


def test_test_email_needs_recipients_and_smtp(sim):
    assert_error(sim.api("POST", "/api/reports/test-email", "admin", json=dict(DEFINITION, recipients="")), 400, "recipients are required")
    sim.settings(smtp_enabled=False)
    assert_error(sim.api("POST", "/api/reports/test-email", "admin", json=DEFINITION), 500, "SMTP not configured")
    assert sim.outbox() == []


@pytest.mark.parametrize("method, path, token, permission", [
    ("GET", "/api/reports/settings", "sender", "reports.settings:read"),
    ("POST", "/api/reports/settings", "sender", "reports.settings:write"),
    ("POST", "/api/reports/test-email", "readonly", "reports:send"),
])
def test_settings_and_test_email_permissions(sim, method, path, token, permission):
    body = assert_error(sim.api(method, path, token, json=DEFINITION), 403)
    assert body["message"].endswith("Permissions needed: " + permission)


def test_settings_defaults_save_and_replace(sim):
    settings = sim.api("GET", "/api/reports/settings", "admin").json()
    assert settings["branding"]["emailFooterMode"] == "sent-by"
    assert (settings["embeddedImageTheme"], settings["pdfTheme"]) == ("dark", "light")
    saved = sim.api("POST", "/api/reports/settings", "admin", json={
        "branding": {"reportLogoUrl": "https://example.com/logo.png", "emailFooterMode": "none"}, "pdfTheme": "dark"})
    assert saved.json() == {"message": "Report settings saved"}
    settings = sim.api("GET", "/api/reports/settings", "admin").json()
    assert settings["branding"]["reportLogoUrl"] == "https://example.com/logo.png"
    assert (settings["branding"]["emailFooterMode"], settings["pdfTheme"], settings["embeddedImageTheme"]) == ("none", "dark", "dark")
    # A save replaces the settings: what it leaves out gets its default back.
    sim.api("POST", "/api/reports/settings", "admin", json={"pdfTheme": "light"})
    assert sim.api("GET", "/api/reports/settings", "admin").json()["branding"]["reportLogoUrl"] == ""


@pytest.mark.parametrize("body, message", [
    ({"pdfTheme": "blue"}, "invalid pdfTheme"),
    ({"embeddedImageTheme": "neon"}, "invalid embeddedImageTheme"),
    ({"branding": {"emailFooterMode": "loud"}}, "invalid email footer mode"),
    ({"branding": {"reportLogoUrl": "ftp://example.com/x.png"}}, "invalid reportLogoUrl"),
    ({"branding": {"emailFooterText": 3}}, "bad request data"),
    ({"branding": "none"}, "bad request data"),
])
def test_settings_400(sim, body, message):
    assert_error(sim.api("POST", "/api/reports/settings", "admin", json=body), 400, message)
    assert sim.api("GET", "/api/reports/settings", "admin").json()["pdfTheme"] == "light"


# Annotations ----------------------------------------------------------------------------------
# Sources: pkg/api/annotations.go (handlers), pkg/services/annotations/annotationsimpl/xorm_store.go
# (store, tag filter, order, clean-up), pkg/services/tag/model.go (tag parsing), pkg/web/context.go
# (query parsing), Grafana's HTTP API docs for annotations.


def annotate(sim, token="sender", **body):
    """POST an annotation and return its id."""
    response = sim.api("POST", "/api/annotations", token, json={"text": "delivered", **body})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id", "message"} and response.json()["message"] == "Annotation added"
    return response.json()["id"]


def listed(sim, token="sender", **params):
    response = sim.api("GET", "/api/annotations", token, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_annotation_create_and_query_by_tags(sim):
    first = annotate(sim, tags=["report:1", "run:a"], time=1000)
    second = annotate(sim, tags=["report:1", "run:b"], time=2000, timeEnd=2500, dashboardUID="slo-overview")
    annotate(sim, tags=["report:2"], time=3000)
    found = listed(sim, tags="report:1")
    assert [item["id"] for item in found] == [second, first]
    item = found[0]
    assert set(item) == {"id", "alertId", "dashboardId", "dashboardUID", "panelId", "userId", "login", "email", "avatarUrl",
                         "time", "timeEnd", "text", "tags", "created", "updated", "data"}
    assert (item["time"], item["timeEnd"], item["text"], item["tags"]) == (2000, 2500, "delivered", ["report:1", "run:b"])
    assert (item["dashboardUID"], item["login"], item["data"]) == ("slo-overview", "sim-sender", {})
    both = listed(sim, tags=["report:1", "run:a"])
    assert [item["id"] for item in both] == [first]


def test_annotation_ids_come_from_one_sequence_across_orgs(sim):
    # The id is the database row's (PostAnnotation answers {"id", "message"} after Save).
    first = annotate(sim)
    other = sim.api("POST", "/api/annotations", auth=("reporter", "sim-reporter-password"), headers={"X-Grafana-Org-Id": "2"},
                    json={"text": "org2"}).json()["id"]
    assert (first, other, annotate(sim)) == (1, 2, 3)


def test_annotation_time_defaults_to_now_and_ranges_are_swapped(sim):
    # xorm_store.go Add: epoch defaults to the server's created time; validateTimeRange sets
    # timeEnd to time when missing and swaps a range given backwards.
    before = int(time.time() * 1000)
    annotate(sim, tags=["t"])
    annotate(sim, tags=["swapped"], time=5000, timeEnd=4000)
    [item] = listed(sim, tags="t")
    assert before <= item["time"] <= int(time.time() * 1000) + 1
    assert item["timeEnd"] == item["time"] and item["created"] == item["updated"] >= before
    [swapped] = listed(sim, tags="swapped")
    assert (swapped["time"], swapped["timeEnd"]) == (4000, 5000)


def test_annotation_tags_are_key_value_pairs(sim):
    # tag.ParseTagPairs: split with strings.Split at ":", key and value trimmed of spaces, so a
    # value ends at a second colon; duplicates and empty keys dropped; stored and returned joined.
    odd = annotate(sim, tags=[" delivery : abc ", "run:a:b:c", "plain", "plain", ":", ""])
    [item] = listed(sim, tags="delivery:abc")
    assert item["id"] == odd
    assert item["tags"] == ["delivery:abc", "run:a", "plain"]
    # The query is parsed the same way: spaces do not matter, and the part after a second colon is lost.
    assert [item["id"] for item in listed(sim, tags=" delivery:abc")] == [odd]
    assert [item["id"] for item in listed(sim, tags="run:a:zzz")] == [odd]
    assert listed(sim, tags="run:b") == []


def test_annotation_tag_without_value_matches_any_value_of_its_key(sim):
    # xorm_store.go: a query tag without value filters on the key only.
    one = annotate(sim, tags=["delivery:abc", "state:claimed"], time=1000)
    two = annotate(sim, tags=["delivery:def"], time=2000)
    assert [item["id"] for item in listed(sim, tags="delivery")] == [two, one]
    assert [item["id"] for item in listed(sim, tags=["delivery", "state"])] == [one]
    # "All must match" counts the stored tags that match any query tag against the number of
    # query tags, so one stored tag cannot satisfy two query tags of the same key...
    assert listed(sim, tags=["delivery", "delivery:abc"]) == []
    # ...and two values of one key both count for a key-only query.
    annotate(sim, tags=["env:dev", "env:prod"], time=3000)
    assert listed(sim, tags="env") == []
    assert len(listed(sim, tags="env", matchAny="true")) == 1


def test_annotation_order_is_newest_time_end_then_time(sim):
    # xorm_store.go: ORDER BY epoch_end DESC, epoch DESC; models.go SortedItems sorts the same way.
    # A long region (a lease) sorts before a later point. Ties have no defined order in Grafana.
    point = annotate(sim, tags=["o"], time=5000)
    region = annotate(sim, tags=["o"], time=1000, timeEnd=9000)
    early = annotate(sim, tags=["o"], time=2000, timeEnd=5000)
    assert [item["id"] for item in listed(sim, tags="o")] == [region, point, early]


def test_annotation_match_any_limit_and_time_range(sim):
    ids = [annotate(sim, tags=[f"tag{index}"], time=1000 * index) for index in range(1, 6)]
    any_two = listed(sim, tags=["tag1", "tag3"], matchAny="true")
    assert [item["id"] for item in any_two] == [ids[2], ids[0]]
    assert listed(sim, tags=["tag1", "tag3"]) == []
    assert [item["id"] for item in listed(sim, limit=2)] == [ids[4], ids[3]]
    ranged = listed(sim, **{"from": 2000, "to": 4000, "type": "annotation"})
    assert [item["time"] for item in ranged] == [4000, 3000, 2000]
    # Grafana filters by time only when both from and to are given (xorm_store.go: From > 0 && To > 0).
    assert len(listed(sim, **{"from": 4500})) == 5
    assert listed(sim, type="alert") == []


# Parse or ignore (pkg/web/context.go): QueryInt64 reads a bad number as 0, so limit is 100 and
# from/to do not filter; QueryBool is strconv.ParseBool; Query takes a parameter's first value.
@pytest.mark.parametrize("value", ["1", "t", "T", "TRUE", "true", "True"])
def test_annotation_match_any_accepts_go_booleans(sim, value):
    annotate(sim, tags=["a"], time=1000)
    annotate(sim, tags=["b"], time=2000)
    assert len(listed(sim, tags=["a", "b"], matchAny=value)) == 2


@pytest.mark.parametrize("value", ["yes", "on", "2", ""])
def test_annotation_match_any_other_values_are_false(sim, value):
    annotate(sim, tags=["a"], time=1000)
    annotate(sim, tags=["b"], time=2000)
    assert listed(sim, tags=["a", "b"], matchAny=value) == []


def test_annotation_bad_numbers_are_ignored(sim):
    for index in range(105):
        annotate(sim, tags=["bulk"], time=index + 1)
    assert len(listed(sim, tags="bulk")) == 100  # limit defaults to 100 (xorm_store.go)
    assert len(listed(sim, tags="bulk", limit="many")) == 100
    assert len(listed(sim, tags="bulk", limit="0")) == 100
    assert len(listed(sim, tags="bulk", limit=["3", "50"])) == 3
    assert len(listed(sim, tags="bulk", **{"from": "yesterday", "to": "now", "limit": 200})) == 105


def test_annotations_are_org_scoped(sim):
    annotate(sim, tags=["shared"])
    reporter = ("reporter", "sim-reporter-password")
    response = sim.api("POST", "/api/annotations", auth=reporter, headers={"X-Grafana-Org-Id": "2"}, json={"text": "org2", "tags": ["shared"]})
    assert response.status_code == 200
    org1 = listed(sim, tags="shared")
    org2 = sim.api("GET", "/api/annotations", auth=reporter, headers={"X-Grafana-Org-Id": "2"}, params={"tags": "shared"}).json()
    assert [item["text"] for item in org1] == ["delivered"]
    assert [(item["text"], item["login"]) for item in org2] == [("org2", "reporter")]


@pytest.mark.parametrize("body, message", [
    # PostAnnotation: "Failed to save annotation" for an empty text, after the permission check.
    ({"tags": ["x"]}, "Failed to save annotation"),
    ({"text": "x", "tags": "x"}, "bad request data"),
    ({"text": "x", "time": "now"}, "bad request data"),
    ({"text": "x", "time": 1.5}, "bad request data"),
])
def test_annotation_400(sim, body, message):
    assert_error(sim.api("POST", "/api/annotations", "sender", json=body), 400, message)


def test_annotation_permissions(sim):
    # The routes' middleware needs the action with any scope: the RBAC 403 body.
    body = assert_error(sim.api("POST", "/api/annotations", "send-only", json={"text": "x"}), 403)
    assert body["message"].endswith("Permissions needed: annotations:create")
    assert assert_error(sim.api("GET", "/api/annotations", "send-only"), 403)["title"] == "Access denied"
    assert sim.api("GET", "/api/annotations", "admin").status_code == 200


def test_annotation_patch_changes_only_what_is_given_and_delete_removes(sim):
    claim = annotate(sim, tags=["reportops.grafana", "delivery:abc"], time=1000, timeEnd=9000)
    [before] = listed(sim, tags="delivery:abc")
    time.sleep(0.01)
    response = sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"text": "sent", "timeEnd": 5000})
    assert response.status_code == 200 and response.json()["message"] == "Annotation patched"
    [after] = listed(sim, tags="delivery:abc")
    assert (after["text"], after["time"], after["timeEnd"], after["tags"]) == ("sent", 1000, 5000, ["reportops.grafana", "delivery:abc"])
    assert after["created"] == before["created"] and after["updated"] > before["updated"]
    # An empty text and zero times leave the fields as they are (PatchAnnotation).
    sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"text": "", "time": 0, "timeEnd": 0})
    assert [(item["text"], item["time"], item["timeEnd"]) for item in listed(sim, tags="delivery:abc")] == [("sent", 1000, 5000)]
    assert sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"tags": ["x"]}).json()["message"] == "Annotation patched"
    assert listed(sim, tags="x")[0]["id"] == claim
    assert listed(sim, tags="delivery:abc") == []
    assert_error(sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"time": "now"}), 400, "bad request data")
    assert_error(sim.api("PATCH", "/api/annotations/abc", "sender", json={}), 400, "annotationId is invalid")
    response = sim.api("DELETE", f"/api/annotations/{claim}", "sender")
    assert response.status_code == 200 and response.json()["message"] == "Annotation deleted"
    assert listed(sim) == []


def test_annotation_gone_is_404_with_a_wildcard_scope_and_403_without(simulator):
    # The middleware evaluates annotations:id:<id>. A wildcard scope passes without resolving it,
    # then the handler answers 404 "Annotation not found"; a type scope needs the id resolved,
    # and an id that is gone cannot be: 403 (accesscontrol middleware deny(), AnnotationTypeScopeResolver).
    sim = simulator(config={"tokens": [
        {"token": "sim-token-wild", "permissions": [
            "annotations:read annotations:*", "annotations:create annotations:*",
            "annotations:write annotations:*", "annotations:delete annotations:*"]},
        {"token": "sim-token-typed", "permissions": [
            "annotations:read annotations:type:organization", "annotations:create annotations:type:organization",
            "annotations:write annotations:type:organization", "annotations:delete annotations:type:organization"]}]})
    claim = annotate(sim, token="wild", tags=["t"])
    assert sim.api("PATCH", f"/api/annotations/{claim}", "typed", json={"text": "typed"}).status_code == 200
    assert sim.api("DELETE", f"/api/annotations/{claim}", "typed").status_code == 200
    assert_error(sim.api("DELETE", f"/api/annotations/{claim}", "wild"), 404, "Annotation not found")
    assert_error(sim.api("PATCH", f"/api/annotations/{claim}", "wild", json={"text": "x"}), 404, "Annotation not found")
    body = assert_error(sim.api("DELETE", f"/api/annotations/{claim}", "typed"), 403)
    assert body["message"].endswith("Permissions needed: annotations:delete")
    assert assert_error(sim.api("PATCH", "/api/annotations/999", "typed", json={"text": "x"}), 403)["title"] == "Access denied"


def test_organization_annotations_need_the_organization_scope(sim):
    # Issue 12 point 1. annotations:read scoped to dashboards lists organisation annotations as
    # 200 without them, not 403 (xorm_store.go getAccessControlFilter adds "dashboard_id = 0"
    # only for scope annotations:type:organization).
    claim = annotate(sim, tags=["t"])
    on_dashboard = annotate(sim, tags=["t"], dashboardUID="slo-overview")
    listed_response = sim.api("GET", "/api/annotations", "dashboard-reader", params={"tags": "t"})
    assert listed_response.status_code == 200 and [item["id"] for item in listed_response.json()] == [on_dashboard]
    # Writing an annotation it cannot read: the handler finds it through the read filter, 404.
    assert_error(sim.api("PATCH", f"/api/annotations/{claim}", "dashboard-reader", json={"text": "x"}), 404, "Annotation not found")
    assert sim.api("PATCH", f"/api/annotations/{claim}", "readonly", json={"text": "x"}).status_code == 403
    assert sim.api("DELETE", f"/api/annotations/{claim}", "readonly").status_code == 403


def test_scoped_to_dashboards_cannot_create_or_change_organization_annotations(simulator):
    # Issue 12 point 1. canCreateAnnotation (pkg/api/annotations.go) evaluates annotations:create
    # on annotations:type:organization; without it dashboardGuardianResponse answers
    # 403 {"message":"Access denied to this dashboard"}. Grafana 11 scopes dashboard annotations
    # with dashboards:* (or annotations:type:dashboard).
    scoped = simulator(config={"tokens": [
        {"token": "sim-token-all", "permissions": ["annotations:create", "annotations:read"]},
        {"token": "sim-token-dashboards", "permissions": [
            "annotations:read dashboards:*", "annotations:create dashboards:*",
            "annotations:write annotations:type:dashboard", "annotations:delete annotations:type:dashboard"]}]})
    claim = annotate(scoped, token="all", tags=["t"])
    created = scoped.api("POST", "/api/annotations", "dashboards", json={"text": "x"})
    assert assert_error(created, 403) == {"message": "Access denied to this dashboard", "traceID": ""}
    assert scoped.api("GET", "/api/annotations", "dashboards").json() == []
    for method, body in (("PATCH", {"text": "x"}), ("DELETE", None)):
        response = scoped.api(method, f"/api/annotations/{claim}", "dashboards", json=body)
        assert response.status_code == 403 and response.json()["title"] == "Access denied", (method, response.text)
    assert annotate(scoped, token="dashboards", tags=["t"], dashboardUID="slo-overview")
    assert [item["dashboardUID"] for item in scoped.api("GET", "/api/annotations", "dashboards").json()] == ["slo-overview"]


# Annotation clean-up ([annotations.api] max_age, max_annotations_to_keep): annotationsimpl/cleanup.go
# runs CleanAnnotations for annotations without a dashboard: created before now - max_age, then
# all but the newest max_annotations_to_keep ids, across orgs (xorm_store.go).
def test_annotation_cleanup_by_count_deletes_the_oldest_ids(sim):
    ids = [annotate(sim, tags=["ledger"], time=10_000 - index) for index in range(4)]
    on_dashboard = annotate(sim, tags=["ledger"], dashboardUID="slo-overview")
    sim.settings(annotations_max_count=2)
    assert sorted(item["id"] for item in listed(sim, tags="ledger")) == [ids[2], ids[3], on_dashboard]
    assert sim.control("POST", "annotations/cleanup") == {"deleted": 0}


def test_annotation_cleanup_by_age(simulator):
    sim = simulator(config={"annotations_max_age_seconds": 0.5})
    old = annotate(sim, tags=["ledger"])
    time.sleep(0.6)
    new = annotate(sim, tags=["ledger"])
    assert [item["id"] for item in listed(sim, tags="ledger")] == [new]
    assert old != new
    # Deleting or patching a cleaned-up record: 404 with a wildcard scope.
    assert sim.api("PATCH", f"/api/annotations/{old}", "sender", json={"text": "x"}).status_code == 404


# Request log and stats ------------------------------------------------------------------------


def test_request_log_redacts_credentials(sim):
    sim.send("1")
    sim.api("GET", "/api/reports", auth=("reporter", "sim-reporter-password"), headers={"Cookie": "grafana_session=secret-cookie"})
    sim.api("GET", "/api/reports", headers={"X-Api-Key": "secret-api-key"})
    sim.stats()
    with open(os.path.join(sim.state_dir, "requests.jsonl"), encoding="utf-8") as handle:
        raw = handle.read()
    for secret in ("sim-token-sender", "sim-reporter-password", "cmVwb3J0ZXI6", "secret-cookie", "secret-api-key"):
        assert secret not in raw
    records = [json.loads(line) for line in raw.splitlines()]
    assert [(record["method"], record["path"], record["status"]) for record in records] == [
        ("POST", "/api/reports/email", 200), ("GET", "/api/reports", 200), ("GET", "/api/reports", 401)]
    send, basic, dummy = records
    assert send["headers"]["Authorization"] == "<redacted>"
    assert basic["headers"]["Cookie"] == "<redacted>"
    assert send["body"] == {"id": "1", "useEmailsFromReport": True}
    assert (send["org_id"], send["duration_ms"] >= 150) == (1, True)
    assert set(send) == {"time", "method", "path", "query", "headers", "body", "status", "org_id", "duration_ms"}
    assert sim.requests_log() == records


def test_request_log_truncates_large_bodies_and_keeps_text(sim):
    sim.api("POST", "/api/annotations", "sender", data="x" * 10000, headers={"Content-Type": "text/plain"})
    sim.api("GET", "/api/reports?targetOrgId=1", "sender")
    big, query = sim.requests_log()
    assert big["body"] == "x" * 4096
    assert big["status"] == 400
    assert query["query"] == {"targetOrgId": ["1"]}


def test_stats_count_routes_by_literal_path(sim):
    sim.api("GET", "/api/reports/3", "sender")
    sim.api("GET", "/api/reports/3", "sender")
    sim.api("GET", "/api/nothing", "sender")
    sim.send("1")
    stats = sim.stats()
    assert stats == {"requests": 4, "sends": 1, "renders": 0, "in_flight_renders": 0, "max_concurrent_renders": 1,
                     "by_route": {"GET /api/reports/3": 2, "GET /api/nothing": 1, "POST /api/reports/email": 1}}


def test_reset_restores_startup_state(sim):
    sim.api("POST", "/api/reports", "admin", json={"name": "temp"})
    sim.api("DELETE", "/api/reports/1", "admin")
    annotate(sim, tags=["x"])
    sim.send("2")
    sim.fault(path="/api/health", mode="status", status=500)
    sim.settings(profile=9, render_limit=1)
    sim.reset()
    assert sim.stats() == {"requests": 0, "by_route": {}, "sends": 0, "renders": 0, "in_flight_renders": 0, "max_concurrent_renders": 0}
    assert sim.outbox() == [] and sim.requests_log() == []
    assert sim.control("GET", "faults") == []
    assert sim.control("GET", "settings") == {
        "profile": 10, "render_seconds": 0.2, "render_limit": 4, "smtp_enabled": True, "tracing": False, "lockout_attempts": 5,
        "lockout_window_seconds": 300, "annotations_max_age_seconds": 0, "annotations_max_count": 0,
        "annotations_two_queries": True, "annotations_search_seconds": 0, "annotations_tag_seconds": 0,
        "renderer": "available", "rendering_timeout_seconds": 0, "csv_tables": True, "edition": "Enterprise",
        "license_expiry_days": 365, "renderer_version": "4.0.0", "reporting_enabled": True, "clock_offset_seconds": 0,
        # Issue 25's switches, at their 11.5 defaults.
        "annotations_visible_dashboards": 0, "dashboard_read_migrated": False, "pdf_uncombined_zip": False,
        # Issue 32's switches, at their 11.5 defaults.
        "new_pdf_rendering": False, "license_expiry_known": True, "smtp_host": "localhost:25", "proxy_server": "",
        "proxy_clock_offset_seconds": 0}
    assert [report["id"] for report in sim.api("GET", "/api/reports", "admin").json()] == [1, 2, 3]
    assert sim.api("GET", "/api/annotations", "admin").json() == []


@pytest.mark.parametrize("method, path, body", [
    ("PATCH", "settings", {"render_limit": 0}),
    ("PATCH", "settings", {"profile": 8}),
    ("PATCH", "settings", {"colour": "blue"}),
    ("POST", "faults", {"path": "/api/health", "mode": "explode"}),
    ("POST", "faults", {"path": "api/health", "mode": "drop"}),
    ("POST", "faults", {"path": "/api/health", "mode": "status", "status": 200}),
    ("POST", "faults", {"path": "/api/health", "mode": "drop", "count": 0}),
])
def test_control_rejects_bad_input(sim, method, path, body):
    response = sim.session.request(method, f"{sim.url}/_sim/{path}", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"]


def test_unknown_control_route_is_404(sim):
    assert sim.session.get(sim.url + "/_sim/nothing", timeout=10).status_code == 404


# Faults ---------------------------------------------------------------------------------------


def test_fault_status_n_times_then_normal(sim):
    sim.fault(method="POST", path="/api/reports/email", mode="status", status=503, count=2, retry_after=7)
    for dummy in range(2):
        response = sim.send("1")
        body = assert_error(response, 503, "Service Unavailable")
        assert set(body) == {"message", "traceID"}
        assert response.headers["Retry-After"] == "7"
    assert sim.send("1").status_code == 200
    assert sim.control("GET", "faults") == []
    stats = sim.stats()
    assert (stats["by_route"]["POST /api/reports/email"], stats["sends"]) == (3, 1)
    assert [record["status"] for record in sim.requests_log()] == [503, 503, 200]


def test_fault_status_profile_shapes_and_message(sim):
    sim.fault(path="/api/reports", mode="status", status=401, count=1)
    assert set(assert_error(sim.api("GET", "/api/reports", "sender"), 401)) == AUTH_401_KEYS
    sim.fault(path="/api/reports", mode="status", status=429, message="slow down")
    assert assert_error(sim.api("GET", "/api/reports", "sender"), 429, "slow down")["traceID"] == ""
    sim.settings(profile=9)
    assert assert_error(sim.api("GET", "/api/reports", "sender"), 429) == {"message": "slow down"}


def test_fault_matches_method_and_path_prefix(sim):
    sim.fault(method="GET", path="/api/reports/*", mode="status", status=500)
    assert sim.api("GET", "/api/reports/2", "sender").status_code == 500
    assert sim.api("GET", "/api/reports/3", "sender").status_code == 500
    assert sim.api("GET", "/api/reports", "sender").status_code == 200
    assert sim.send("1").status_code == 200
    sim.control("DELETE", "faults")
    assert sim.api("GET", "/api/reports/2", "sender").status_code == 200


def test_fault_drop_closes_without_response(sim):
    sim.fault(path="/api/reports/email", mode="drop", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        sim.send("1")
    assert sim.outbox() == []
    assert sim.requests_log()[0]["status"] == "dropped"
    assert sim.stats()["by_route"] == {"POST /api/reports/email": 1}
    assert sim.send("1").status_code == 200


def test_fault_hang_times_out_client(sim):
    sim.fault(path="/api/reports/email", mode="hang", seconds=2, count=1)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        sim.api("POST", "/api/reports/email", "sender", json={"id": "1", "useEmailsFromReport": True}, timeout=0.5)
    assert time.monotonic() - started < 2
    assert sim.requests_log()[0]["status"] == "hung"
    assert sim.outbox() == []


def test_fault_html502(sim):
    sim.fault(path="/api/reports/email", mode="html502")
    response = sim.send("1")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text


def test_fault_redirect_login(sim):
    sim.fault(path="/api/reports/*", mode="redirect_login")
    response = sim.api("GET", "/api/reports/1", "sender", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    followed = sim.api("GET", "/api/reports/1", "sender")
    assert followed.status_code == 200
    assert followed.headers["Content-Type"].startswith("text/html")
    assert "<form" in followed.text


def test_fault_slow_then_normal_answer(sim):
    sim.fault(path="/api/health", mode="slow", seconds=0.5)
    started = time.monotonic()
    assert sim.api("GET", "/api/health").status_code == 200
    assert time.monotonic() - started >= 0.5


# Process, TLS and configuration ---------------------------------------------------------------


def run_cli(*args, timeout=30):
    """Run grafana_sim.py with pipes for stdout/stderr; a leaked pipe in a child would hit the timeout."""
    return subprocess.run([sys.executable, SIMULATOR, *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_https_with_ca_file(simulator):
    sim = simulator("--https")
    assert sim.url.startswith("https://127.0.0.1:")
    assert sim.ca_path == os.path.join(sim.state_dir, "ca.pem")
    response = requests.post(sim.url + "/api/reports/email", headers=sim.auth("sender"), json={"id": "1", "useEmailsFromReport": True},
                             verify=sim.ca_path, timeout=30)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sim.url + "/api/health", timeout=10)
    assert oct(os.stat(sim.client_cert[1]).st_mode & 0o777) == "0o600"
    assert os.path.getsize(sim.client_cert[0]) > 0


def test_https_localhost_name_is_valid(simulator):
    sim = simulator("--https", "--host", "localhost")
    assert sim.url.startswith("https://localhost:")
    assert requests.get(sim.url + "/api/health", verify=sim.ca_path, timeout=10).status_code == 200


def test_mtls_requires_client_certificate(simulator):
    sim = simulator("--https", "--require-client-cert")
    ok = requests.get(sim.url + "/api/reports", headers=sim.auth("sender"), verify=sim.ca_path, cert=sim.client_cert, timeout=10)
    assert ok.status_code == 200
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(sim.url + "/api/reports", headers=sim.auth("sender"), verify=sim.ca_path, timeout=10)
    # The failed handshake must not disturb the server.
    assert sim.stats()["by_route"] == {"GET /api/reports": 1}


def test_plain_http_client_on_https_port_fails_cleanly(simulator):
    sim = simulator("--https")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sim.url.replace("https://", "http://") + "/api/health", timeout=10)
    assert sim.stats()["requests"] == 0


def test_ipv6_loopback(simulator):
    try:
        sim = simulator("--host", "::1")
    except pytest.fail.Exception:
        pytest.skip("no IPv6 loopback on this machine")
    assert sim.url.startswith("http://[::1]:")
    assert sim.api("GET", "/api/health").status_code == 200


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_even_with_a_hung_request(simulator, signum):
    sim = simulator()
    sim.fault(path="/api/health", mode="hang", seconds=600)
    errors = []

    def hang():
        try:
            requests.get(sim.url + "/api/health", timeout=30)
        except requests.exceptions.ConnectionError as exc:
            errors.append(exc)

    client = threading.Thread(target=hang)
    client.start()
    deadline = time.monotonic() + 5
    while sim.stats()["requests"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    sim.process.send_signal(signum)
    assert sim.process.wait(10) == 0
    assert time.monotonic() - started < 3
    client.join(10)
    assert len(errors) == 1
    assert not os.path.exists(os.path.join(sim.state_dir, "pid"))


def test_lifetime_ends_the_server(simulator):
    sim = simulator("--lifetime", "0.5")
    assert sim.api("GET", "/api/health").status_code == 200
    assert sim.process.wait(10) == 0
    assert not os.path.exists(os.path.join(sim.state_dir, "pid"))


def test_background_and_stop(tmp_path):
    state_dir = tmp_path / "bg"
    started = run_cli("serve", "--background", "--state-dir", str(state_dir), "--lifetime", "60")
    assert started.returncode == 0, started.stderr
    ready = json.loads(started.stdout)
    assert set(ready) == {"url", "pid", "state_dir", "ca_path"}
    assert ready["ca_path"] is None and ready["state_dir"] == str(state_dir)
    try:
        with open(state_dir / "url", encoding="utf-8") as handle:
            assert handle.read().strip() == ready["url"]
        with open(state_dir / "pid", encoding="utf-8") as handle:
            assert int(handle.read()) == ready["pid"]
        assert requests.get(ready["url"] + "/api/health", timeout=10).status_code == 200
    finally:
        stopped = run_cli("stop", "--state-dir", str(state_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert not (state_dir / "pid").exists()
    assert not grafana_sim.process_alive(ready["pid"])
    again = run_cli("stop", "--state-dir", str(state_dir))
    assert again.returncode == 0
    assert "not running" in again.stdout


def test_background_https_reports_ca_path(tmp_path):
    state_dir = tmp_path / "bg-tls"
    started = run_cli("serve", "--background", "--https", "--state-dir", str(state_dir))
    assert started.returncode == 0, started.stderr
    ready = json.loads(started.stdout)
    try:
        assert ready["ca_path"] == str(state_dir / "ca.pem")
        assert requests.get(ready["url"] + "/api/health", verify=ready["ca_path"], timeout=10).status_code == 200
    finally:
        assert run_cli("stop", "--state-dir", str(state_dir)).returncode == 0


def test_background_reports_a_failed_start(tmp_path):
    result = run_cli("serve", "--background", "--state-dir", str(tmp_path / "bad"), "--config", str(tmp_path / "missing.json"))
    assert result.returncode == 1
    assert "missing.json" in result.stderr


def test_non_loopback_host_is_refused(tmp_path):
    result = run_cli("serve", "--host", "0.0.0.0", "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "loopback" in result.stderr


def test_yaml_config_and_profile_flag(simulator, tmp_path):
    config = tmp_path / "sim.yml"
    config.write_text("""
version: 10.4.2
orgs: [{id: 1, name: Main}]
tokens: [{token: yaml-token, name: yaml, org_id: 1, permissions: [reports:read]}]
reports: [{id: 5, org_id: 1, name: From YAML, recipients: y@example.com}]
""", encoding="utf-8")
    sim = simulator("--config", str(config), "--profile", "9")
    assert sim.api("GET", "/api/health").json()["version"] == "10.4.2"
    assert sim.api("GET", "/api/reports/5", headers={"Authorization": "Bearer yaml-token"}).json()["name"] == "From YAML"
    assert sim.api("GET", "/api/reports", "sim-token-admin").json() == {"message": "Invalid API key"}


def test_bad_config_is_reported(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"tokens": [{"name": "no token value"}]}), encoding="utf-8")
    result = run_cli("serve", "--config", str(config), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "missing key 'token'" in result.stderr


def test_client_timeout_during_render_still_mails(sim):
    sim.settings(render_seconds=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sim.api("POST", "/api/reports/email", "sender", json={"id": "1", "useEmailsFromReport": True}, timeout=0.3)
    deadline = time.monotonic() + 5
    while not sim.outbox() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(sim.outbox()) == 1
    assert sim.stats()["sends"] == 1
    deadline = time.monotonic() + 2
    while not sim.requests_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.requests_log()[0]["status"] in (200, "client closed")


def test_fault_status_without_standard_reason(sim):
    sim.fault(path="/api/health", mode="status", status=499)
    assert_error(sim.api("GET", "/api/health"), 499, "Error")
