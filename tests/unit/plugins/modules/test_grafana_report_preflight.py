# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""grafana_report_preflight with fetch_url scripted: the requests it makes (GET only), and its checks."""

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


def now_header(offset=0):
    return {"Date": email.utils.formatdate(time.time() + offset, usegmt=True)}


def statuses(outcome):
    return dict((item["name"], item["status"]) for item in outcome.result["checks"])


def paths(fetch):
    return [(call["method"], call["url"].split("3000")[1].split("?")[0]) for call in fetch.calls]


def test_healthy_with_render(run_module, fetch):
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, PERMISSIONS).reply(200, REPORTS).reply(200, REPORT)
    fetch.reply(200, {"dashboard": {"uid": "slo"}}).reply(200, "%PDF-1.4", headers={"Content-Type": "application/pdf"})
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY], render=True))
    assert not outcome.failed and not outcome.result["changed"] and not outcome.warnings
    assert set(statuses(outcome).values()) == {"ok"}
    assert list(statuses(outcome)) == ["connection", "edition", "licence", "reporting", "renderer", "clock", "permissions:send",
                                       "permissions:names", "report:weekly", "render:weekly"]
    assert paths(fetch) == [("GET", "/api/frontend/settings"), ("GET", "/api/access-control/user/permissions"),
                            ("GET", "/api/reports"), ("GET", "/api/reports/3"), ("GET", "/api/dashboards/uid/slo"),
                            ("GET", "/api/reports/render/pdfs")]
    assert outcome.result["grafana"]["renderer_version"] == "4.0.0" and outcome.result["grafana"]["edition"] == "Enterprise"


def test_a_connection_failure_skips_the_rest(run_module, fetch):
    fetch.reply(401, {"message": "Invalid API key"})
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY]))
    assert outcome.failed and outcome.result["msg"].startswith("1 of 9 checks failed: connection: Grafana did not accept the credentials")
    assert set(status for name, status in statuses(outcome).items() if name != "connection") == {"skipped"}
    assert TOKEN not in str(outcome.result)


def test_a_warning_is_an_ansible_warning(run_module, fetch):
    fetch.reply(200, dict(SETTINGS, licenseInfo={"expiry": int(time.time()) + 3 * 86400}), headers=now_header(-300))
    outcome = run_module(main, dict(BASE, deliveries=[]))
    assert not outcome.failed
    assert statuses(outcome) == {"connection": "ok", "edition": "ok", "licence": "warn", "reporting": "ok", "renderer": "ok",
                                 "clock": "warn"}
    assert [warning.split(":")[0] for warning in outcome.warnings] == ["licence", "clock"]
    assert "behind this host's" in outcome.warnings[1]


def test_reports_missing_ambiguous_or_not_viewable(run_module, fetch):
    fetch.reply(200, SETTINGS, headers=now_header()).reply(200, PERMISSIONS)
    fetch.reply(200, REPORTS + [{"id": 5, "name": "Daily"}]).reply(200, REPORT).reply(403, {"message": "Access denied to this dashboard"})
    deliveries = [DELIVERY, dict(DELIVERY, name="daily", report="Daily"), dict(DELIVERY, name="gone", report="Gone")]
    outcome = run_module(main, dict(BASE, deliveries=deliveries))
    assert outcome.failed
    checks = dict((item["name"], item) for item in outcome.result["checks"])
    assert "Access to dashboard 'slo' was denied" in checks["report:weekly"]["message"]
    assert "report name 'Daily' matches 2 reports in this Grafana (ids 4, 5)" in checks["report:daily"]["message"]
    assert "report 'Gone' does not exist in this Grafana" in checks["report:gone"]["message"]
    assert all(method == "GET" for method, path in paths(fetch))


def test_permissions_unreadable_is_one_warning(run_module, fetch):
    fetch.reply(200, SETTINGS, headers=now_header()).reply(404, {"message": "Not found"}).reply(200, REPORTS).reply(200, REPORT)
    fetch.reply(200, {"dashboard": {"uid": "slo"}})
    outcome = run_module(main, dict(BASE, deliveries=[DELIVERY]))
    assert not outcome.failed and statuses(outcome)["permissions"] == "warn"
