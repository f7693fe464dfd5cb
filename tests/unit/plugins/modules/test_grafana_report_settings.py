# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.reportops.grafana.plugins.modules.grafana_report_settings import main

BASE = dict(url="http://grafana.test:3000", token="glsa_unit_test_token_value_0123456789")
SAVED = {"id": 1, "orgId": 1, "userId": 1,
         "branding": {"reportLogoUrl": "", "emailLogoUrl": "", "emailFooterMode": "sent-by", "emailFooterText": "Sent by",
                      "emailFooterLink": "https://grafana.com/"},
         "embeddedImageTheme": "dark", "pdfTheme": "light"}


def test_unchanged_writes_nothing(run_module, fetch):
    fetch.reply(200, SAVED)
    outcome = run_module(main, dict(BASE, pdf_theme="light", email_footer_mode="sent-by", report_logo_url=""))
    assert not outcome.result["changed"] and outcome.result["changed_fields"] == []
    assert [call["method"] for call in fetch.calls] == ["GET"]


def test_change_saves_the_whole_settings_once(run_module, fetch):
    saved = dict(SAVED, branding=dict(SAVED["branding"], emailFooterText="Sent by SRE"), pdfTheme="dark")
    fetch.reply(200, SAVED).reply(200, {"message": "Report settings saved"}).reply(200, saved)
    outcome = run_module(main, dict(BASE, pdf_theme="dark", email_footer_text="Sent by SRE"))
    assert outcome.result["changed"] and outcome.result["changed_fields"] == ["email_footer_text", "pdf_theme"]
    assert [call["method"] for call in fetch.calls] == ["GET", "POST", "GET"]
    assert fetch.calls[1]["url"].endswith("/api/reports/settings")
    body = fetch.bodies()[1]
    assert body == saved
    assert outcome.result["diff"] == {"before": {"pdf_theme": "light", "email_footer_text": "Sent by"},
                                      "after": {"pdf_theme": "dark", "email_footer_text": "Sent by SRE"}}


# Grafana 13's ReportSettings (the reporting frontend's ReportsSettingsDrawer test data): the five fields this
# module does not manage go back as Grafana gave them, since the POST replaces the whole object.
GRAFANA_13 = dict(SAVED, pdfHeaderEnabled=True, pdfTimeRangeEnabled=False, pdfDashboardTitleEnabled=True, footerFontFamily="Inter",
                  footerItems=[{"type": "pageNumber"}, {"type": "flexSpacer"}, {"type": "logo"}])


def test_grafana_13_fields_are_kept(run_module, fetch):
    saved = dict(GRAFANA_13, branding=dict(GRAFANA_13["branding"], emailFooterText="Sent by SRE"))
    fetch.reply(200, GRAFANA_13).reply(200, {"message": "Report settings saved"}).reply(200, saved)
    outcome = run_module(main, dict(BASE, email_footer_text="Sent by SRE"))
    assert not outcome.failed and outcome.result["changed"]
    assert fetch.bodies()[1] == saved


def test_a_setting_grafana_did_not_keep_fails_with_its_version(run_module, fetch):
    fetch.reply(200, SAVED).reply(200, {"message": "Report settings saved"}).reply(200, SAVED).reply(200, {"version": "9.5.1"})
    outcome = run_module(main, dict(BASE, pdf_theme="dark"))
    assert outcome.failed and outcome.result["changed"]
    assert outcome.result["msg"] == "Grafana 9.5.1 did not keep the report settings it was sent: pdf_theme: asked for 'dark', Grafana kept 'light'."


# Grafana's documented examples (tests/simulator/fixtures/grafana_docs, see its README), read as Grafana answers them.
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "simulator", "fixtures", "grafana_docs")


@pytest.mark.parametrize("name", ["get_settings.json", "settings_grafana13.json"])
def test_docs_settings_examples_are_read_and_sent_back(run_module, fetch, name):
    with open(os.path.join(FIXTURES, name)) as handle:
        documented = json.load(handle)
    saved = dict(documented, branding=dict(documented["branding"], emailFooterText="Sent by SRE"))
    fetch.reply(200, documented).reply(200, {"message": "Report settings saved"}).reply(200, saved)
    outcome = run_module(main, dict(BASE, email_footer_text="Sent by SRE", email_footer_mode="sent-by"))
    assert not outcome.failed and outcome.result["changed_fields"] == ["email_footer_text"]
    assert fetch.bodies()[1] == saved


def test_check_mode_writes_nothing(run_module, fetch):
    fetch.reply(200, SAVED)
    outcome = run_module(main, dict(BASE, embedded_image_theme="light"), check_mode=True)
    assert outcome.result["changed"] and outcome.result["settings"]["embeddedImageTheme"] == "light"
    assert len(fetch.calls) == 1


@pytest.mark.parametrize("args, field", [
    (dict(report_logo_url="ftp://example.com/logo.png"), "report_logo_url"),
    (dict(email_footer_link="example.com"), "email_footer_link"),
    (dict(email_logo_url="https://"), "email_logo_url"),
    (dict(pdf_theme="blue"), "pdf_theme"),
    (dict(email_footer_mode="loud"), "email_footer_mode"),
])
def test_bad_input_fails_before_any_request(run_module, fetch, args, field):
    outcome = run_module(main, dict(BASE, **args))
    assert outcome.failed and field in outcome.result["msg"] and fetch.calls == []


def test_forbidden_names_the_permission(run_module, fetch):
    fetch.reply(200, SAVED).reply(403, {"message": "Permissions needed: reports.settings:write"})
    outcome = run_module(main, dict(BASE, pdf_theme="dark"))
    assert outcome.failed and "reports.settings:write permission" in outcome.result["msg"]
