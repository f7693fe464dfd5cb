# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each pre-flight check's decision, from what Grafana answered."""

from __future__ import annotations

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils._delivery import Delivery, checked_deliveries
from ansible_collections.reportops.grafana.plugins.module_utils._preflight import (
    PREFLIGHT_ARGUMENT_SPEC,
    PreflightError,
    checked_params,
    clock_check,
    edition_check,
    failure,
    grafana_clock,
    grafana_facts,
    licence_check,
    permission_check,
    renderer_check,
    reporting_check,
    run_uses,
    scope_covers,
)

NOW = 1767225600  # 2026-01-01T00:00:00Z
ENTERPRISE = {"buildInfo": {"version": "11.5.0", "edition": "Enterprise"}, "licenseInfo": {"expiry": NOW + 90 * 86400},
              "rendererAvailable": True, "rendererVersion": "4.0.0", "reporting": {"enabled": True}}


def settings(**changes):
    result = dict(ENTERPRISE)
    for key, value in changes.items():
        result[key] = dict(result.get(key) or {}, **value) if isinstance(value, dict) else value
    return result


def params(**changes):
    result = dict((name, spec.get("default")) for name, spec in PREFLIGHT_ARGUMENT_SPEC.items())
    result.update(dict(deliveries=[]), **changes)
    return result


def delivery(**options):
    base = dict(name="d", report=None, report_id=None, emails=None, use_emails_from_report=True, delivery_key=None,
                min_interval=None)
    base.update(options)
    return base


def test_edition():
    assert edition_check(ENTERPRISE)["status"] == "ok"
    oss = edition_check(settings(buildInfo={"edition": "Open Source"}))
    assert oss["status"] == "fail" and "reports need Grafana Enterprise" in oss["message"]
    assert edition_check(settings(buildInfo={"edition": ""}))["status"] == "warn"


@pytest.mark.parametrize("licence, status, said", [
    ({"expiry": NOW + 90 * 86400}, "ok", "Licensed until 2026-04-01"),
    ({"expiry": NOW + 5 * 86400}, "warn", "expires on 2026-01-06T00:00:00Z, in 5 days"),
    ({"expiry": NOW - 1}, "fail", "expired on 2025-12-31T23:59:59Z"),
    ({"expiry": 0}, "fail", "has no licence"),
    ({"expiry": NOW + 90 * 86400, "hasLicense": False}, "fail", "has no licence"),
])
def test_licence(licence, status, said):
    result = licence_check(settings(licenseInfo=dict({"hasLicense": True}, **licence)), NOW)
    assert result["status"] == status and said in result["message"]


def test_licence_of_an_oss_build_is_not_checked():
    assert licence_check(settings(buildInfo={"edition": "Open Source"}, licenseInfo={"expiry": 0}), NOW)["status"] == "skipped"


def test_reporting():
    assert reporting_check(ENTERPRISE)["status"] == "ok"
    disabled = reporting_check(settings(reporting={"enabled": False}))
    assert disabled["status"] == "fail" and "[reporting] enabled = true" in disabled["message"]
    unknown = dict(ENTERPRISE)
    del unknown["reporting"]
    assert reporting_check(unknown)["status"] == "skipped"


def test_renderer_names_the_rendering_service_on_grafana_13():
    assert renderer_check(ENTERPRISE, True) == dict(name="renderer", status="ok", message="Renderer available (version 4.0.0).")
    missing_13 = renderer_check(settings(rendererAvailable=False, buildInfo={"version": "13.0.1"}), True)
    assert missing_13["status"] == "fail" and "Grafana 13 removed the image renderer plugin" in missing_13["message"]
    assert "[rendering] server_url" in missing_13["message"]
    missing_11 = renderer_check(settings(rendererAvailable=False), True)
    assert "install the grafana-image-renderer plugin" in missing_11["message"]
    # Nothing sent or rendered: a warning only.
    assert renderer_check(settings(rendererAvailable=False), False)["status"] == "warn"


@pytest.mark.parametrize("skew, ledger, status", [
    (0, True, "ok"), (11, True, "ok"), (-11, False, "ok"), (12, True, "fail"), (120, False, "warn"), (-120, True, "fail"),
    (None, True, "skipped"),
])
def test_clock(skew, ledger, status):
    result = clock_check(skew, 10, ledger)
    assert result["status"] == status
    if status == "fail":
        assert "ledger: grafana" in result["message"] and ("ahead of" if skew > 0 else "behind") in result["message"]


def test_grafana_clock_reads_the_date_header():
    assert grafana_clock("Thu, 01 Jan 2026 00:00:00 GMT") == NOW
    assert grafana_clock(None) is None and grafana_clock("not a date") is None


@pytest.mark.parametrize("held, wanted, covers", [
    ("annotations:type:organization", "annotations:type:organization", True),
    ("annotations:*", "annotations:type:organization", True),
    ("annotations:type:*", "annotations:type:organization", True),
    ("*", "annotations:type:organization", True),
    ("annotations:type:dashboard", "annotations:type:organization", False),
    ("dashboards:*", "annotations:type:organization", False),
    ("", "annotations:type:organization", False),
])
def test_scope_covers(held, wanted, covers):
    assert scope_covers(held, wanted) is covers


def test_ledger_needs_organization_annotations():
    full = dict(("annotations:%s" % verb, ["annotations:type:*"]) for verb in ("read", "create", "write", "delete"))
    assert permission_check("ledger", full)["status"] == "ok"
    dashboard_only = dict(full, **{"annotations:read": ["annotations:type:dashboard", "dashboards:uid:x"]})
    result = permission_check("ledger", dashboard_only)
    assert result == dict(name="permissions:ledger", status="fail", message=(
        "The credentials lack annotations:read with scope annotations:type:organization (it holds annotations:type:dashboard,"
        " dashboards:uid:x only), which ledger: grafana needs: grant it to the service account (or user), for example"
        " through a role that has them."))
    without_delete = dict(full)
    del without_delete["annotations:delete"]
    assert "annotations:delete with scope annotations:type:organization," in permission_check("history", without_delete)["message"]


@pytest.mark.parametrize("create, write", [("reports:create", "reports:write"), ("reports.admin:create", "reports.admin:write"),
                                           ("reports.admin:create", "reports:write")])
def test_definitions_accept_both_spellings(create, write):
    held = {"reports:read": ["reports:*"], create: ["reports:*"], write: ["reports:*"], "reports:delete": ["reports:*"]}
    assert permission_check("definitions", held)["status"] == "ok"


def test_definitions_name_both_spellings_when_missing():
    result = permission_check("definitions", {"reports:read": ["reports:*"], "reports:delete": ["reports:*"]})
    assert result["status"] == "fail"
    assert "reports:create or reports.admin:create; reports:write or reports.admin:write," in result["message"]


def test_send_names_settings_dashboard():
    assert permission_check("send", {"reports:send": ["reports:id:3"]})["status"] == "ok"
    names = permission_check("names", {"reports:send": ["reports:*"]})
    assert names["status"] == "fail" and names["message"].startswith("The credentials lack reports:read, which finding")
    assert "reports.settings:write" in permission_check("settings", {"reports.settings:read": [""]})["message"]
    dashboard = permission_check("dashboard", {"dashboards:create": ["folders:*"], "dashboards:write": ["dashboards:*"]})
    assert dashboard["status"] == "fail" and "folders:read; folders:create," in dashboard["message"]


def test_uses_follow_the_run():
    deliveries = [Delivery.of(options) for options in checked_deliveries([delivery(name="a", report="Weekly SLO"),
                                                                          delivery(name="b", report_id=3)])]
    assert run_uses(deliveries, params()) == ["send", "names"]
    # The Grafana ledger is used only by deliveries with a delivery key or a minimum interval.
    assert "ledger" not in run_uses(deliveries, params(ledger="grafana"))
    keyed = [Delivery.of(options) for options in checked_deliveries([delivery(name="a", report_id=3, min_interval="1d")])]
    assert run_uses(keyed, params(ledger="grafana", history="grafana", features=["render", "dashboard"])) == [
        "send", "ledger", "history", "dashboard", "render"]
    assert run_uses([], params(ledger="grafana")) == ["ledger"]


def test_checked_params_use_the_delivery_checks():
    with pytest.raises(PreflightError, match="delivery 'a': report: set exactly one of report"):
        checked_params(params(deliveries=[delivery(name="a")]))
    with pytest.raises(PreflightError, match="max_clock_skew"):
        checked_params(params(max_clock_skew=-1))


def test_facts_and_failure():
    facts = grafana_facts(ENTERPRISE, 3)
    assert facts == dict(version="11.5.0", edition="Enterprise", licence_expiry="2026-04-01T00:00:00Z", licence_state=None,
                         renderer_available=True, renderer_version="4.0.0", reporting_enabled=True, clock_skew=3)
    checks = [dict(name="a", status="ok", message="fine"), dict(name="b", status="fail", message="Do this."),
              dict(name="c", status="warn", message="Maybe.")]
    assert failure(checks) == "1 of 3 checks failed: b: Do this."
    assert failure(checks[:1]) is None
