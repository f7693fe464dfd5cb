# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

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
    fetch.reply(200, SAVED).reply(200, {"message": "Report settings saved"}).reply(200, dict(SAVED, pdfTheme="dark"))
    outcome = run_module(main, dict(BASE, pdf_theme="dark", email_footer_text="Sent by SRE"))
    assert outcome.result["changed"] and outcome.result["changed_fields"] == ["email_footer_text", "pdf_theme"]
    assert [call["method"] for call in fetch.calls] == ["GET", "POST", "GET"]
    assert fetch.calls[1]["url"].endswith("/api/reports/settings")
    body = fetch.bodies()[1]
    assert body == {"branding": dict(SAVED["branding"], emailFooterText="Sent by SRE"), "embeddedImageTheme": "dark", "pdfTheme": "dark"}
    assert outcome.result["diff"] == {"before": {"pdf_theme": "light", "email_footer_text": "Sent by"},
                                      "after": {"pdf_theme": "dark", "email_footer_text": "Sent by SRE"}}


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
