# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""grafana_report_preflight with fetch_url scripted: the requests it makes (GET only), and its checks.

GET /api/admin/settings (pkg/api/admin.go) answers settings:read callers only; an organization's token gets 403.
GET /api/access-control/user/permissions?reloadcache=true reads them fresh (pkg/services/accesscontrol/api/api.go).
"""

from __future__ import annotations

import email.utils
import time

from ansible_collections.reportops.grafana.plugins.modules.grafana_report_preflight import main

TOKEN = "glsa_unit_test_token_value_0123456789"
BASE = dict(url="http://grafana.test:3000", token=TOKEN)
SETTINGS = {"buildInfo": {"version": "11.5.0", "edition": "Enterprise"}, "licenseInfo": {"expiry": int(time.time()) + 90 * 86400},
            "rendererAvailable": True, "rendererVersion": "4.0.0", "reporting": {"enabled": True}}
PERMISSIONS = {"reports:send": ["reports:*"], "reports:read": ["reports:*"]}
REPORTS = [{"id": 3, "name": "Weekly SLO"}, {"id": 4, "name": "Daily"}]
REPORT = {"id": 3, "name": "Weekly SLO", "dashboards": [{"dashboard": {"uid": "slo"}, "timeRange": {"from": "now-7d", "to": "now"}}]}
DELIVERY = {"name": "weekly", "report": "Weekly SLO", "use_emails_from_report": True}
ADMIN = {"smtp": {"enabled": "true", "host": "mail.example.com:587"}}
FORBIDDEN = {"title": "Access denied", "message": "You'll need additional permissions to perform this action. "
                                                  "Permissions needed: settings:read"}


def now_header(offset=0):
    return {"Date": email.utils.formatdate(time.time() + offset, usegmt=True)}


def statuses(outcome):
    return dict((item["name"], item["status"]) for item in outcome.result["checks"])


def paths(fetch):
    return [(call["method"], call["url"].split("3000")[1].split("?")[0]) for call in fetch.calls]


def test_healthy_with_render(run_module, fetch):
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, REPORTS).reply(200, ADMIN).reply(200, PERMISSIONS)
    fetch.reply(200, REPORT).reply(200, {"dashboard": {"uid": "slo"}})
    fetch.reply(200, "%PDF-1.4", headers={"Content-Type": "application/pdf"})
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY], render=True))
    assert not outcome.failed and not outcome.result["changed"] and not outcome.warnings
    assert set(statuses(outcome).values()) == {"ok"}
    assert list(statuses(outcome)) == ["connection", "edition", "licence", "reporting", "renderer", "smtp", "clock",
                                       "permissions:send", "permissions:names", "report:weekly", "render:weekly"]
    assert paths(fetch) == [("GET", "/api/frontend/settings"), ("GET", "/api/reports"), ("GET", "/api/admin/settings"),
                            ("GET", "/api/access-control/user/permissions"), ("GET", "/api/reports/3"),
                            ("GET", "/api/dashboards/uid/slo"), ("GET", "/api/reports/render/pdfs")]
    # Permissions read fresh: a role granted a minute ago counts.
    assert fetch.calls[3]["url"].endswith("/api/access-control/user/permissions?reloadcache=true")
    assert outcome.result["grafana"]["renderer_version"] == "4.0.0" and outcome.result["grafana"]["edition"] == "Enterprise"
    assert outcome.result["grafana"]["smtp_enabled"] is True


def test_an_organization_token_passes_with_smtp_unknown(run_module, fetch):
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, REPORTS).reply(403, FORBIDDEN).reply(200, PERMISSIONS)
    fetch.reply(200, REPORT).reply(200, {"dashboard": {"uid": "slo"}})
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY]))
    assert not outcome.failed and statuses(outcome)["smtp"] == "skipped"
    smtp = next(item for item in outcome.result["checks"] if item["name"] == "smtp")
    assert "could not be verified" in smtp["message"] and "send_test_email" in smtp["message"]
    assert outcome.result["grafana"]["smtp_enabled"] is None


def test_smtp_off_fails_a_run_that_sends(run_module, fetch):
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, REPORTS).reply(200, {"smtp": {"enabled": "false"}})
    fetch.reply(200, PERMISSIONS).reply(200, REPORT).reply(200, {"dashboard": {"uid": "slo"}})
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY]))
    assert outcome.failed and outcome.result["msg"].startswith("1 of 10 checks failed: smtp: SMTP is off")


def test_an_unreachable_grafana_is_one_check(run_module, fetch):
    """Issue 31: one line, not a failure and a skipped line for every check it prevented; no "nothing was sent"."""
    fetch.reply(-1, msg="Request failed: <urlopen error [Errno 111] Connection refused>")
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY], ledger="grafana", history="grafana"))
    assert outcome.failed and [item["name"] for item in outcome.result["checks"]] == ["connection"]
    assert outcome.result["msg"] == ("Grafana could not be read, so nothing else was checked: Could not connect to "
                                     "http://grafana.test:3000 ([Errno 111] Connection refused); check url and the network.")
    assert "nothing was sent" not in outcome.result["msg"].lower()


def test_bad_credentials_are_one_check(run_module, fetch):
    fetch.reply(401, {"message": "Invalid API key"})
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY]))
    assert outcome.failed and "Grafana did not accept the credentials" in outcome.result["msg"]
    assert list(statuses(outcome)) == ["connection"]
    assert TOKEN not in str(outcome.result)


def test_a_warning_is_an_ansible_warning(run_module, fetch):
    fetch.reply(200, dict(SETTINGS, licenseInfo={"expiry": int(time.time()) + 3 * 86400}),
                headers=dict(now_header(-300), Server="nginx/1.25.3")).reply(200, ADMIN)
    outcome = run_module(main, dict(BASE, deliveries=[]))
    assert not outcome.failed
    assert statuses(outcome) == {"connection": "ok", "edition": "ok", "licence": "warn", "reporting": "ok", "renderer": "ok",
                                 "smtp": "ok", "clock": "warn"}
    # Each warning names its Grafana: a play prints the warnings of every environment together.
    assert [warning.split(": ")[0] for warning in outcome.warnings] == [BASE["url"] + ", licence", BASE["url"] + ", clock"]
    assert "behind this host's" in outcome.warnings[1] and "set by nginx/1.25.3 (its Server header)" in outcome.warnings[1]


def test_a_licence_without_expiry_whose_reports_answer_warns(run_module, fetch):
    """Issue 32, point 4: a hosted Grafana may say no expiry; its report listing answering is what counts."""
    fetch.reply(200, dict(SETTINGS, licenseInfo={"expiry": 0}), headers=now_header()).reply(200, REPORTS).reply(200, ADMIN)
    outcome = run_module(main, dict(BASE, deliveries=[]))
    assert not outcome.failed and statuses(outcome)["licence"] == "warn"
    assert paths(fetch)[1] == ("GET", "/api/reports")
    fetch.reply(200, dict(SETTINGS, licenseInfo={"expiry": 0}), headers=now_header()).reply(404, {"message": "Not found"})
    fetch.reply(200, ADMIN)
    outcome = run_module(main, dict(BASE, deliveries=[]))
    assert outcome.failed and "its report routes refuse" in outcome.result["msg"]


def test_dashboard_permissions_follow_what_exists(run_module, fetch):
    """Issue 32, point 5: dashboards:read always, folders:create only for a missing folder."""
    held = {"dashboards:read": ["dashboards:*"], "dashboards:write": ["dashboards:*"], "folders:read": ["folders:*"]}
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, ADMIN).reply(200, held)
    fetch.reply(200, [{"id": 7, "uid": "f1", "title": "Reports"}]).reply(200, {"dashboard": {"uid": "d"}})
    outcome = run_module(main, dict(BASE, deliveries=[], features=["dashboard"], dashboard_uid="d", dashboard_folder="Reports"))
    assert not outcome.failed and statuses(outcome)["permissions:dashboard"] == "ok"
    # The folder is missing and so is the dashboard: folders:create and dashboards:create are needed.
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, ADMIN).reply(200, held)
    fetch.reply(200, []).reply(404, {"message": "Dashboard not found"})
    outcome = run_module(main, dict(BASE, deliveries=[], features=["dashboard"], dashboard_uid="d", dashboard_folder="Reports"))
    assert outcome.failed and "lack folders:create; dashboards:create," in outcome.result["msg"]
    assert all(method == "GET" for method, path in paths(fetch))


def test_reports_missing_ambiguous_or_not_viewable(run_module, fetch):
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, REPORTS + [{"id": 5, "name": "Daily"}]).reply(200, ADMIN)
    fetch.reply(200, PERMISSIONS).reply(200, REPORT).reply(403, {"message": "Access denied to this dashboard"})
    deliveries = [DELIVERY, dict(DELIVERY, name="daily", report="Daily"), dict(DELIVERY, name="gone", report="Gone")]
    outcome = run_module(main, dict(BASE, deliveries=deliveries))
    assert outcome.failed
    checks = dict((item["name"], item) for item in outcome.result["checks"])
    assert "Access to dashboard 'slo' was denied" in checks["report:weekly"]["message"]
    assert "report name 'Daily' matches 2 reports in this Grafana (ids 4, 5)" in checks["report:daily"]["message"]
    assert "report 'Gone' does not exist in this Grafana" in checks["report:gone"]["message"]
    assert all(method == "GET" for method, path in paths(fetch))


def test_permissions_unreadable_is_one_warning(run_module, fetch):
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, REPORTS).reply(200, ADMIN).reply(404, {"message": "Not found"})
    fetch.reply(200, REPORT).reply(200, {"dashboard": {"uid": "slo"}})
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY]))
    assert not outcome.failed and statuses(outcome)["permissions"] == "warn"
