# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""A report rendered to a file without sending it: the checks, the query of Grafana's render routes,
and the file written only when its content changed (grafana_report_render and the role's archive)."""

from __future__ import annotations

import calendar
import copy
import json
import os
import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError
from ansible_collections.reportops.grafana.plugins.module_utils._client import text_summary
from ansible_collections.reportops.grafana.plugins.module_utils._report_values import normalize_report_id
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import (
    MAX_SCALE_FACTOR,
    REPORT_ARGUMENT_SPEC,
    DefinitionError,
    checked_dashboards,
    checked_time_range,
    checked_variables,
    dashboards_of,
    instant,
    variable_values,
)

# What each render route answers (Enterprise OpenAPI spec, renderReportPDFs and renderReportCSVs:
# "produces"); the CSV route answers a zip of CSV files, which Grafana's UI saves as <title>.zip.
CONTENT_TYPES = {"pdf": "application/pdf", "csv": "application/zip"}
# The range the reporting frontend renders a dashboard with when it keeps none
# (getRange(db.timeRange).raw || defaultTimeRange.raw, public/app/extensions/reports: now-6h to now).
DEFAULT_TIME_RANGE = {"from": "now-6h", "to": "now"}
# An answer of another type than asked for is kept beside dest (for a look) unless it is text, which the message quotes.
_TEXT_ANSWER = re.compile(r"^(text/|application/(json|xml|problem\+json)$)")
# Options the CSV route does not take (its parameters are dashboards and title only).
PDF_ONLY_OPTIONS = ("orientation", "layout", "scale_factor", "include_tables")
_EPOCH_MS = re.compile(r"^[0-9]{10,13}$")
_RELATIVE = re.compile(r"^now")
# A numeric mode (0640, "0640", "640") or a symbolic one (u=rw,g=r), as the file module takes them.
_NUMERIC_MODE = re.compile(r"^0?[0-7]{3,4}$")
_SYMBOLIC_MODE = re.compile(r"^[ugoa]*[-+=][rwxXstugo]*([-+=][rwxXstugo]*)*(,[ugoa]*[-+=][rwxXstugo]*([-+=][rwxXstugo]*)*)*$")
# A page object of a PDF (not the /Pages tree); Chromium writes them uncompressed.
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")

# The options of grafana_report_render; those it shares with grafana_report have that module's spec.
RENDER_ARGUMENT_SPEC = dict(
    report=dict(type="str"),
    report_id=dict(type="raw", aliases=["id"]),
    dashboards=REPORT_ARGUMENT_SPEC["dashboards"],
    time_range=REPORT_ARGUMENT_SPEC["time_range"],
    variables=dict(type="dict"),
    format=dict(type="str", choices=list(CONTENT_TYPES), default="pdf"),
    orientation=REPORT_ARGUMENT_SPEC["orientation"],
    layout=REPORT_ARGUMENT_SPEC["layout"],
    scale_factor=REPORT_ARGUMENT_SPEC["scale_factor"],
    include_tables=dict(type="bool"),
    title=dict(type="str"),
    dest=dict(type="path", required=True),
    mode=dict(type="raw"),
)
RENDER_MUTUALLY_EXCLUSIVE = [("report", "report_id", "dashboards")]
RENDER_REQUIRED_ONE_OF = [("report", "report_id", "dashboards")]


class RenderError(InputError):
    """Invalid input; the message names the option and says what is expected."""


def report_variables(value):
    """A dashboard's reportVariables with every value a list of strings (variable_values), as the render routes take them."""
    return dict((to_text(name), variable_values(values)) for name, values in (value or {}).items())


def checked_mode(mode):
    """The mode as the file module takes it (an int, an octal string or a symbolic string), or None."""
    if mode is None:
        return None
    text = to_text(mode) if isinstance(mode, (str, int)) and not isinstance(mode, bool) else ""
    if isinstance(mode, int) and not isinstance(mode, bool):
        # YAML reads 0640 as the integer 416, which is what it means.
        return mode if 0 <= mode <= 0o7777 else _bad_mode(mode)
    if _NUMERIC_MODE.match(text) or _SYMBOLIC_MODE.match(text):
        return text
    return _bad_mode(mode)


def _bad_mode(mode):
    raise RenderError("mode must be an octal mode such as '0640' (quoted) or a symbolic one such as u=rw,g=r, got %r." % (mode,))


def checked_dest(dest):
    """The absolute destination; its folder must exist, and it must not be a folder itself."""
    if not dest or not dest.strip():
        raise RenderError("dest must be the path of the file to write.")
    dest = os.path.abspath(dest)
    folder = os.path.dirname(dest)
    if not os.path.isdir(folder):
        raise RenderError("dest's folder %s does not exist; create it first (ansible.builtin.file state=directory)." % folder)
    if os.path.isdir(dest):
        raise RenderError("dest %s is a folder; give the path of the file to write, such as %s." % (dest, os.path.join(dest, "report.pdf")))
    if not os.access(folder, os.W_OK):
        raise RenderError("dest's folder %s is not writable by this user." % folder)
    return dest


def checked_render(params):
    """The render the options describe, checked before any request; raises RenderError."""
    file_format = params["format"]
    if file_format != "pdf":
        given = [name for name in PDF_ONLY_OPTIONS if params.get(name) is not None]
        if given:
            raise RenderError("%s appl%s to format=pdf only; Grafana's CSV render takes the dashboards and a title."
                              % (", ".join(given), "ies" if len(given) == 1 else "y"))
    scale = params.get("scale_factor")
    if scale is not None and not 1 <= scale <= MAX_SCALE_FACTOR:
        raise RenderError("scale_factor must be between 1 and %d, got %d." % (MAX_SCALE_FACTOR, scale))
    try:
        dashboards = None if params.get("dashboards") is None else checked_dashboards(params["dashboards"])
        variables = checked_variables(params.get("variables"), "variables")
        time_range = None
        if params.get("time_range") is not None:
            time_range = checked_time_range(params["time_range"], "time_range")
            if not time_range["from"]:
                raise RenderError("time_range needs from and to, such as {from: now-30d, to: now}.")
            time_range = dict((key, grafana_time(value, "time_range." + key)) for key, value in time_range.items())
    except DefinitionError as exc:
        raise RenderError(str(exc))
    report_id = None
    if params.get("report_id") is not None:
        report_id = normalize_report_id(params["report_id"])
        if report_id is None:
            raise RenderError("report_id must be a positive integer (the report's id, not a dashboard uid), got %r." % (params["report_id"],))
    if params.get("report") is not None and not params["report"].strip():
        raise RenderError("report must be the name of a saved report.")
    return dict(format=file_format, report=params.get("report"), report_id=report_id, dashboards=dashboards,
                time_range=time_range, variables=variables,
                dest=checked_dest(params["dest"]), mode=checked_mode(params.get("mode")),
                options=dict((name, params.get(name)) for name in PDF_ONLY_OPTIONS + ("title",)))


def saved_report_plan(file_format="pdf"):
    """The render of a saved report as it is saved, nothing overridden (the pre-flight renders what a send would)."""
    return dict(format=file_format, report=None, report_id=None, dashboards=None, time_range=None, variables=None,
                dest=None, mode=None, options=dict((name, None) for name in PDF_ONLY_OPTIONS + ("title",)))


def grafana_time(value, field):
    """A time as Grafana's render takes it: relative (now-30d) as it is, a date as epoch milliseconds,
    which is what Grafana's own UI sends for an absolute time (from.valueOf())."""
    if not value or _RELATIVE.match(value) or _EPOCH_MS.match(value):
        return value
    try:
        moment = instant(value, "UTC", field)
    except DefinitionError as exc:
        raise RenderError(str(exc))
    return str(calendar.timegm(moment.utctimetuple()) * 1000 + moment.microsecond // 1000)


def dashboard_items(plan, report=None):
    """The `dashboards` parameter: the report's (as Grafana gave them, with any unknown field) or the
    given ones, with the time range and variables overridden where the options say so."""
    if plan["dashboards"] is not None:
        items = []
        for item in plan["dashboards"]:
            entry = {"dashboard": {"uid": item["uid"]}}
            if item["time_range"] and item["time_range"]["from"]:
                entry["timeRange"] = dict((key, grafana_time(value, "dashboards.time_range." + key)) for key, value in item["time_range"].items())
            entry["reportVariables"] = item["variables"] or {}
            items.append(entry)
    else:
        items = [copy.deepcopy(item) for item in dashboards_of(report)]
    for item in items:
        if plan["time_range"]:
            item["timeRange"] = dict(item.get("timeRange") or {}, **plan["time_range"])
        variables = report_variables(item.get("reportVariables"))
        variables.update(plan["variables"] or {})
        item["reportVariables"] = variables
    return items


def with_time_ranges(items, dashboards):
    """The items with no empty time range: a saved report may keep {"from": "", "to": ""} (Grafana's docs' own example),
    which the frontend never renders; such an item gets its dashboard's own time range (`dashboards`: uid -> model, as
    GET /api/dashboards/uid gives it), else the frontend's default, DEFAULT_TIME_RANGE."""
    for item in items:
        given = dict((key, value) for key, value in (item.get("timeRange") or {}).items() if value)
        if given.get("from") and given.get("to"):
            continue
        own = (dashboards.get(item["dashboard"]["uid"]) or {}).get("time") or {}
        fallback = own if own.get("from") and own.get("to") else DEFAULT_TIME_RANGE
        item["timeRange"] = dict((key, given.get(key) or grafana_time(to_text(fallback[key]), "the dashboard's time." + key))
                                 for key in ("from", "to"))
    return items


def unexpected_answer(dest, content, content_type, expected, dashboards):
    """(message, path to keep the answer at or None) for a render answered with another Content-Type than `expected`."""
    said = "Grafana answered the render of %d dashboard%s with Content-Type %r (%d bytes), not %s" % (
        dashboards, "" if dashboards == 1 else "s", content_type, len(content), expected)
    kind = content_type.split(";")[0].strip().lower()
    if not content or _TEXT_ANSWER.match(kind):
        return "%s; it says %s. Check that url is Grafana's and the reverse proxy in front of it." % (
            said, text_summary(to_text(content, errors="surrogate_or_replace"))), None
    keep = "%s.%s" % (dest, "zip" if kind == "application/zip" else "answer")
    advice = (" Several dashboards without pdfCombineOneFile may come as one file each: set pdf_combine_one_file on the"
              " report (grafana_report) for one PDF." if dashboards > 1 else "")
    return ("%s; the answer is kept as %s for a look, and dest is left as it was.%s" % (said, keep, advice)), keep


def render_query(plan, items, report=None):
    """The render route's query: the report's saved PDF options unless the options override them,
    sent as Grafana's UI sends them (strings; booleans only when true)."""
    options = (report or {}).get("options") or {}
    chosen = plan["options"]
    query = [("dashboards", json.dumps(items, sort_keys=True, separators=(",", ":")))]
    title = chosen["title"] if chosen["title"] is not None else (report or {}).get("name")
    if title:
        query.append(("title", title))
    if plan["format"] != "pdf":
        return query
    for name, key in (("orientation", "orientation"), ("layout", "layout")):
        value = chosen[name] or options.get(key)
        if value:
            query.append((key, value))
    scale = chosen["scale_factor"] or (report or {}).get("scaleFactor")
    if scale:
        query.append(("scaleFactor", str(scale)))
    include_tables = chosen["include_tables"]
    if include_tables is None:
        include_tables = "pdf-tables-appendix" in ((report or {}).get("formats") or [])
    # pdfCombineOneFile as the report saved it, as the frontend's Preview PDF sends it; what Grafana answers without
    # it for several dashboards is not documented (unexpected_answer says what came).
    for key, value in (("includeTables", include_tables), ("pdfShowTemplateVariables", options.get("pdfShowTemplateVariables")),
                       ("pdfCombineOneFile", options.get("pdfCombineOneFile"))):
        if value:
            query.append((key, "true"))
    return query


def pdf_pages(content):
    """Pages of a PDF, counted by its page objects; None when none can be read (say, compressed object streams)."""
    count = len(_PDF_PAGE.findall(content))
    return count or None
