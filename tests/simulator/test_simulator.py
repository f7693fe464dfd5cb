# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the Grafana simulator over real HTTP against a real process."""

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


def test_known_path_with_wrong_method_is_405(sim):
    body = assert_error(sim.api("PATCH", "/api/reports", "admin", json={}), 405)
    assert body == {"message": "Method Not Allowed"}


@pytest.mark.parametrize("path", ["/api/reports/abc", "/api/reports/-1", "/api/reports/1.5"])
def test_non_integer_report_id_in_path_is_400(sim, path):
    assert_error(sim.api("GET", path, "admin"), 400, "id is invalid")


# Authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers, message", [
    ({}, "Unauthorized"),
    ({"Authorization": "Bearer glsa_unknown"}, "Invalid API key"),
    ({"Authorization": "Bearer sim-token-expired"}, "Expired API key"),
    ({"Authorization": "Bearer sim-token-revoked"}, "Revoked API key"),
    ({"Authorization": "Basic cmVwb3J0ZXI6d3Jvbmc="}, "Invalid username or password"),  # reporter:wrong
    ({"Authorization": "Basic !!!not-base64"}, "Invalid username or password"),
    ({"Authorization": "Token whatever"}, "Unauthorized"),
])
def test_401_messages_profile_10(sim, headers, message):
    response = sim.api("GET", "/api/reports", headers=headers)
    body = assert_error(response, 401)
    assert set(body) == AUTH_401_KEYS
    assert body["message"] == message
    assert body["messageId"] == "auth.unauthorized"
    assert body["statusCode"] == 401
    assert body["extra"] is None
    assert re.fullmatch(r"[0-9a-f]{32}", body["traceID"])
    assert "WWW-Authenticate" not in response.headers


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


def test_user_asking_for_foreign_org_is_401(sim):
    response = sim.api("GET", "/api/reports", auth=("viewer", "sim-viewer-password"), headers={"X-Grafana-Org-Id": "2"})
    assert_error(response, 401, "User does not belong to the requested organization")


def test_token_asking_for_other_org_is_401(sim):
    response = sim.api("GET", "/api/reports", "sender", headers={"X-Grafana-Org-Id": "2"})
    assert_error(response, 401, "API key does not belong to the requested organization")


def test_token_org_via_target_org_id_query(sim):
    assert_error(sim.api("GET", "/api/reports?targetOrgId=2", "sender"), 401, "does not belong to the requested organization")
    response = sim.api("GET", "/api/reports?targetOrgId=2", "org2")
    assert response.status_code == 200
    assert [report["id"] for report in response.json()] == [7]


def test_org_header_matching_token_org_is_fine(sim):
    assert sim.api("GET", "/api/reports/1", "sender", headers={"X-Grafana-Org-Id": "1"}).status_code == 200


@pytest.mark.parametrize("request_kwargs, message", [
    ({"headers": {"X-Grafana-Org-Id": "one"}}, "invalid X-Grafana-Org-Id header"),
    ({"params": {"targetOrgId": "x"}}, "invalid targetOrgId"),
])
def test_non_numeric_org_is_400(sim, request_kwargs, message):
    body = assert_error(sim.api("GET", "/api/reports", "sender", **request_kwargs), 400, message)
    assert set(body) == {"message", "traceID"}


def test_report_ids_are_per_org(sim):
    assert_error(sim.api("GET", "/api/reports/1", "org2"), 404, "Report not found")
    assert sim.api("GET", "/api/reports/7", "org2").json()["name"] == "Weekly SLO"
    assert_error(sim.api("GET", "/api/reports/7", "sender"), 404, "Report not found")


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
    assert created.json() == {"id": 4, "message": "Report created"}
    report = sim.api("GET", "/api/reports/4", "admin").json()
    assert set(report) == REPORT_KEYS
    assert (report["name"], report["orgId"], report["formats"]) == ("New one", 1, ["pdf"])

    # PUT replaces the definition: what the body leaves out gets Grafana's defaults back.
    body = {"name": "New one", "recipients": "n@example.com", "subject": "Changed", "schedule": {"frequency": "daily"}}
    updated = sim.api("PUT", "/api/reports/4", "admin", json=body)
    assert updated.json() == {"message": "Report updated"}
    report = sim.api("GET", "/api/reports/4", "admin").json()
    assert (report["name"], report["subject"], report["schedule"]["frequency"]) == ("New one", "Changed", "daily")
    assert report["schedule"]["timeZone"] == "UTC"

    assert sim.send("4").status_code == 200
    assert sim.outbox()[0]["subject"] == "Changed"

    deleted = sim.api("DELETE", "/api/reports/4", "admin")
    assert deleted.json() == {"message": "Report config was removed"}
    assert_error(sim.api("GET", "/api/reports/4", "admin"), 404, "Report not found")
    assert_error(sim.api("DELETE", "/api/reports/4", "admin"), 404, "Report not found")
    assert_error(sim.api("PUT", "/api/reports/4", "admin", json={"name": "x"}), 404, "Report not found")


def test_created_report_ids_are_per_org(sim):
    response = sim.api("POST", "/api/reports", auth=("reporter", "sim-reporter-password"), json={"name": "x"})
    assert response.status_code == 403
    response = sim.api("POST", "/api/reports?targetOrgId=1", "admin", json={"name": "Org 1 report"})
    assert response.json()["id"] == 4


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
    ({"dashboards": [{"dashboard": {"uid": "x"}, "reportVariables": {"env": "prod"}}]}, "bad request data"),
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


def annotate(sim, token="sender", **body):
    """POST an annotation and return its id."""
    response = sim.api("POST", "/api/annotations", token, json={"text": "delivered", **body})
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Annotation added"
    return response.json()["id"]


def test_annotation_create_and_query_by_tags(sim):
    first = annotate(sim, tags=["report:1", "run:a"], time=1000)
    second = annotate(sim, tags=["report:1", "run:b"], time=2000, timeEnd=2500, dashboardUID="slo-overview")
    annotate(sim, tags=["report:2"], time=3000)
    found = sim.api("GET", "/api/annotations", "sender", params={"tags": "report:1"}).json()
    assert [item["id"] for item in found] == [second, first]
    item = found[0]
    assert set(item) == {"id", "alertId", "dashboardId", "dashboardUID", "panelId", "userId", "login", "email", "avatarUrl",
                         "time", "timeEnd", "text", "tags", "created", "updated", "data"}
    assert (item["time"], item["timeEnd"], item["text"], item["tags"]) == (2000, 2500, "delivered", ["report:1", "run:b"])
    assert (item["dashboardUID"], item["login"], item["data"]) == ("slo-overview", "sim-sender", {})
    both = sim.api("GET", "/api/annotations", "sender", params={"tags": ["report:1", "run:a"]}).json()
    assert [item["id"] for item in both] == [first]


def test_annotation_time_defaults_to_now(sim):
    before = int(time.time() * 1000)
    annotate(sim, tags=["t"])
    [item] = sim.api("GET", "/api/annotations", "sender").json()
    assert before <= item["time"] <= int(time.time() * 1000) + 1
    assert item["timeEnd"] == item["time"]


def test_annotation_match_any_limit_and_time_range(sim):
    ids = [annotate(sim, tags=[f"tag{index}"], time=1000 * index) for index in range(1, 6)]
    any_two = sim.api("GET", "/api/annotations", "sender", params={"tags": ["tag1", "tag3"], "matchAny": "true"}).json()
    assert [item["id"] for item in any_two] == [ids[2], ids[0]]
    none = sim.api("GET", "/api/annotations", "sender", params={"tags": ["tag1", "tag3"]}).json()
    assert none == []
    limited = sim.api("GET", "/api/annotations", "sender", params={"limit": 2}).json()
    assert [item["id"] for item in limited] == [ids[4], ids[3]]
    ranged = sim.api("GET", "/api/annotations", "sender", params={"from": 2000, "to": 4000, "type": "annotation"}).json()
    assert [item["time"] for item in ranged] == [4000, 3000, 2000]
    assert sim.api("GET", "/api/annotations", "sender", params={"type": "alert"}).json() == []
    assert_error(sim.api("GET", "/api/annotations", "sender", params={"limit": "many"}), 400, "bad request data")


def test_annotation_default_limit_is_100(sim):
    for index in range(105):
        annotate(sim, tags=["bulk"], time=index + 1)
    assert len(sim.api("GET", "/api/annotations", "sender", params={"tags": "bulk"}).json()) == 100


def test_annotations_are_org_scoped(sim):
    annotate(sim, tags=["shared"])
    reporter = ("reporter", "sim-reporter-password")
    response = sim.api("POST", "/api/annotations", auth=reporter, headers={"X-Grafana-Org-Id": "2"}, json={"text": "org2", "tags": ["shared"]})
    assert response.status_code == 200
    org1 = sim.api("GET", "/api/annotations", "sender", params={"tags": "shared"}).json()
    org2 = sim.api("GET", "/api/annotations", auth=reporter, headers={"X-Grafana-Org-Id": "2"}, params={"tags": "shared"}).json()
    assert [item["text"] for item in org1] == ["delivered"]
    assert [(item["text"], item["login"]) for item in org2] == [("org2", "reporter")]


@pytest.mark.parametrize("body, message", [
    ({"tags": ["x"]}, "text is required"),
    ({"text": "x", "tags": "x"}, "bad request data"),
    ({"text": "x", "time": "now"}, "bad request data"),
])
def test_annotation_400(sim, body, message):
    assert_error(sim.api("POST", "/api/annotations", "sender", json=body), 400, message)


def test_annotation_permissions(sim):
    assert sim.api("POST", "/api/annotations", "send-only", json={"text": "x"}).status_code == 403
    assert sim.api("GET", "/api/annotations", "send-only").status_code == 403
    assert sim.api("GET", "/api/annotations", "admin").status_code == 200


def test_annotation_patch_changes_only_what_is_given_and_delete_removes(sim):
    claim = annotate(sim, tags=["reportops.grafana", "delivery:abc"], time=1000, timeEnd=9000)
    [before] = sim.api("GET", "/api/annotations", "sender", params={"tags": "delivery:abc"}).json()
    time.sleep(0.01)
    response = sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"text": "sent", "timeEnd": 5000})
    assert response.status_code == 200 and response.json()["message"] == "Annotation patched"
    [after] = sim.api("GET", "/api/annotations", "sender", params={"tags": "delivery:abc"}).json()
    assert (after["text"], after["time"], after["timeEnd"], after["tags"]) == ("sent", 1000, 5000, ["reportops.grafana", "delivery:abc"])
    assert after["created"] == before["created"] and after["updated"] > before["updated"]
    assert sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"tags": ["x"]}).json()["message"] == "Annotation patched"
    assert sim.api("GET", "/api/annotations", "sender", params={"tags": "x"}).json()[0]["id"] == claim
    assert_error(sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"time": "now"}), 400, "bad request data")
    response = sim.api("DELETE", f"/api/annotations/{claim}", "sender")
    assert response.status_code == 200 and response.json()["message"] == "Annotation deleted"
    assert sim.api("GET", "/api/annotations", "sender").json() == []
    assert_error(sim.api("DELETE", f"/api/annotations/{claim}", "sender"), 404, "Annotation not found")


def test_organization_annotations_need_the_organization_scope(sim):
    claim = annotate(sim, tags=["t"])
    on_dashboard = annotate(sim, tags=["t"], dashboardUID="slo-overview")
    # annotations:read scoped to dashboards: 200 without the organisation annotation, not 403.
    listed = sim.api("GET", "/api/annotations", "dashboard-reader", params={"tags": "t"})
    assert listed.status_code == 200 and [item["id"] for item in listed.json()] == [on_dashboard]
    assert sim.api("PATCH", f"/api/annotations/{claim}", "readonly", json={"text": "x"}).status_code == 403
    assert sim.api("DELETE", f"/api/annotations/{claim}", "readonly").status_code == 403


def test_writes_scoped_to_dashboards_cannot_touch_organization_annotations(simulator):
    scoped = simulator(config={"tokens": [
        {"token": "sim-token-all", "permissions": ["annotations:create", "annotations:read"]},
        {"token": "sim-token-dashboards", "permissions": [
            "annotations:create annotations:type:dashboard", "annotations:write annotations:type:dashboard",
            "annotations:delete annotations:type:dashboard"]}]})
    claim = annotate(scoped, token="all", tags=["t"])
    for method, path, body in (("POST", "/api/annotations", {"text": "x"}), ("PATCH", f"/api/annotations/{claim}", {"text": "x"}),
                               ("DELETE", f"/api/annotations/{claim}", None)):
        response = scoped.api(method, path, "dashboards", json=body)
        assert response.status_code == 403, (method, response.text)
    assert annotate(scoped, token="dashboards", tags=["t"], dashboardUID="slo-overview")
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
    assert stats == {"requests": 4, "sends": 1, "in_flight_renders": 0, "max_concurrent_renders": 1,
                     "by_route": {"GET /api/reports/3": 2, "GET /api/nothing": 1, "POST /api/reports/email": 1}}


def test_reset_restores_startup_state(sim):
    sim.api("POST", "/api/reports", "admin", json={"name": "temp"})
    sim.api("DELETE", "/api/reports/1", "admin")
    annotate(sim, tags=["x"])
    sim.send("2")
    sim.fault(path="/api/health", mode="status", status=500)
    sim.settings(profile=9, render_limit=1)
    sim.reset()
    assert sim.stats() == {"requests": 0, "by_route": {}, "sends": 0, "in_flight_renders": 0, "max_concurrent_renders": 0}
    assert sim.outbox() == [] and sim.requests_log() == []
    assert sim.control("GET", "faults") == []
    assert sim.control("GET", "settings") == {"profile": 10, "render_seconds": 0.2, "render_limit": 4, "smtp_enabled": True}
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
    assert assert_error(sim.api("GET", "/api/reports", "sender"), 429, "slow down")["traceID"]
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
