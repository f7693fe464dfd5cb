#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_report_settings
short_description: Manage the report branding and themes of a Grafana organization
version_added: 0.2.0
description:
  - Sets the organization-wide report settings of Grafana Enterprise (C(/api/reports/settings)) - logos, the mail
    footer and the themes of PDFs and embedded images.
  - Only the options you set are compared; the others keep their saved values. A change sends the whole settings
    object once, because Grafana replaces the settings with the body of C(POST /api/reports/settings) - the object
    Grafana returned with only your options changed, so the fields this module does not manage (such as Grafana 13's
    C(pdfHeaderEnabled), C(pdfTimeRangeEnabled), C(pdfDashboardTitleEnabled), C(footerFontFamily) and C(footerItems))
    keep their values. A second run with the same options sends no write.
  - After a write, the settings are read back; an option that Grafana did not keep fails the task with the option,
    the value asked for, the value kept and Grafana's version.
  - Every option is checked before any request.
  - Needs C(reports.settings:read), and C(reports.settings:write) to change them.
author:
  - reportops maintainers (@reportops)
extends_documentation_fragment:
  - reportops.grafana.connection
  - reportops.grafana.connection.ATTRIBUTES
attributes:
  check_mode:
    description: Reads the settings and predicts the change; writes nothing.
  diff_mode:
    support: full
    description: Shows the options you set, before and after.
options:
  report_logo_url:
    description:
      - URL of the logo in the PDF (Grafana field C(branding.reportLogoUrl)), C(http) or C(https). Empty for Grafana's.
    type: str
  email_logo_url:
    description:
      - URL of the logo in the mail (Grafana field C(branding.emailLogoUrl)), C(http) or C(https). Empty for Grafana's.
    type: str
  email_footer_mode:
    description:
      - V(sent-by) shows O(email_footer_text) and O(email_footer_link) in the mail footer; V(none) shows no footer
        (Grafana field C(branding.emailFooterMode)).
    type: str
    choices: [sent-by, none]
  email_footer_text:
    description:
      - Text of the mail footer (Grafana field C(branding.emailFooterText)).
    type: str
  email_footer_link:
    description:
      - Link of the mail footer (Grafana field C(branding.emailFooterLink)), C(http) or C(https).
    type: str
  embedded_image_theme:
    description:
      - Theme of the images embedded in the mail (Grafana field C(embeddedImageTheme)).
    type: str
    choices: [light, dark]
  pdf_theme:
    description:
      - Theme of the PDF (Grafana field C(pdfTheme)).
    type: str
    choices: [light, dark]
seealso:
  - module: reportops.grafana.grafana_report
"""

EXAMPLES = r"""
- name: Company branding and a light theme for every report
  reportops.grafana.grafana_report_settings:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    report_logo_url: https://static.example.com/logo.png
    email_logo_url: https://static.example.com/logo-small.png
    email_footer_mode: sent-by
    email_footer_text: Sent by the SRE team
    email_footer_link: https://wiki.example.com/reports
    pdf_theme: light
    embedded_image_theme: light
"""

RETURN = r"""
settings:
  description:
    - The report settings as Grafana answers them after the change; in check mode, those that would be saved.
  returned: always
  type: dict
  sample: {"branding": {"reportLogoUrl": "https://static.example.com/logo.png", "emailLogoUrl": "", "emailFooterMode": "sent-by",
                        "emailFooterText": "Sent by", "emailFooterLink": "https://grafana.com/"},
           "embeddedImageTheme": "dark", "pdfTheme": "light"}
changed_fields:
  description: The options that differed.
  returned: always
  type: list
  elements: str
  sample: [pdf_theme]
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient
from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError, module_kwargs, run_module
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import round_trip

# Option: (Grafana's branding key, or None for a top-level key, the Grafana field name).
FIELDS = dict(
    report_logo_url=("branding", "reportLogoUrl"),
    email_logo_url=("branding", "emailLogoUrl"),
    email_footer_mode=("branding", "emailFooterMode"),
    email_footer_text=("branding", "emailFooterText"),
    email_footer_link=("branding", "emailFooterLink"),
    embedded_image_theme=(None, "embeddedImageTheme"),
    pdf_theme=(None, "pdfTheme"),
)
URL_OPTIONS = ("report_logo_url", "email_logo_url", "email_footer_link")
ARGUMENT_SPEC = dict(
    report_logo_url=dict(type="str"),
    email_logo_url=dict(type="str"),
    email_footer_mode=dict(type="str", choices=["sent-by", "none"]),
    email_footer_text=dict(type="str"),
    email_footer_link=dict(type="str"),
    embedded_image_theme=dict(type="str", choices=["light", "dark"]),
    pdf_theme=dict(type="str", choices=["light", "dark"]),
)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def wanted_settings(params):
    """The options the user set, stripped; raises InputError naming a bad URL."""
    wanted = dict((name, params[name].strip()) for name in FIELDS if params.get(name) is not None)
    for name in URL_OPTIONS:
        if wanted.get(name) and not _URL.match(wanted[name]):
            raise InputError("%s must be an http:// or https:// URL (or empty for Grafana's default), got %r." % (name, wanted[name]))
    return wanted


def settings_view(settings):
    """Grafana's settings in the module's option names."""
    branding = settings.get("branding") or {}
    return dict((name, (branding if group else settings).get(key) or "") for name, (group, key) in FIELDS.items())


def settings_body(current, wanted):
    """The whole settings object to save: what Grafana returned, with only the wanted options changed."""
    return round_trip(current, dict((tuple(key for key in FIELDS[name] if key), value) for name, value in wanted.items()))


def unkept_message(client, wanted, settings):
    """The failure of a save that Grafana answered with success but did not keep, or None."""
    kept = settings_view(settings)
    problems = ["%s: asked for %r, Grafana kept %r" % (name, wanted[name], kept[name]) for name in sorted(wanted) if kept[name] != wanted[name]]
    if not problems:
        return None
    return "%s did not keep the report settings it was sent: %s." % (client.version_phrase(), "; ".join(problems))


def apply(module):
    """Validate, plan (compare with the saved settings), execute (save, read back): (the result, or a failure's message)."""
    wanted = wanted_settings(module.params)
    client = GrafanaClient(module)
    current = client.get_settings()
    before = dict((name, value) for name, value in settings_view(current).items() if name in wanted)
    fields = sorted(name for name in wanted if wanted[name] != before[name])
    settings = current
    problem = None
    if fields:
        settings = settings_body(current, wanted)
        if not module.check_mode:
            client.save_settings(settings)
            settings = client.get_settings()
            problem = unkept_message(client, wanted, settings)
    return dict(changed=bool(fields), settings=settings, changed_fields=fields, diff=dict(before=before, after=wanted)), problem


def main():
    module = AnsibleModule(**module_kwargs(ARGUMENT_SPEC))
    run_module(module, apply)


if __name__ == "__main__":
    main()
