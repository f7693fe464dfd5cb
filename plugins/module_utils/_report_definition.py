# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Report definitions: the options of grafana_report, their checks, and their mapping to and from
Grafana's report objects.

Grafana fills its own defaults into a report and answers dates in the schedule's time zone, so a
definition is compared with a report only on the fields the user set, each in a normalised form
(recipients without order or case, dates as instants, formats as a set). The same checks serve the
module and the role's filter, which checks a list of definitions before any environment is touched.
"""

from __future__ import annotations

import copy
import datetime
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError
from ansible_collections.reportops.grafana.plugins.module_utils._report_values import split_recipients
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import (
    DeliveryError,
    checked_emails,
    plain,
    unknown_key_problem,
)

try:  # Python 3.9+; without it, dates need an explicit UTC offset.
    import zoneinfo
except ImportError:  # pragma: no cover - Python 3.8
    zoneinfo = None

FORMATS = ["pdf", "csv", "image", "pdf-tables", "pdf-tables-appendix"]
# "never" is deprecated by Grafana but still accepted: a report that is only sent on demand.
FREQUENCIES = ["once", "hourly", "daily", "weekly", "monthly", "last", "custom", "never"]
INTERVAL_UNITS = ["hours", "days", "weeks", "months"]
WORKDAY_FREQUENCIES = ("hourly", "daily")
MAX_SCALE_FACTOR = 10
# What Grafana answers for a field that a definition left out or empty: equal to an unset value.
GRAFANA_DEFAULTS = {"formats": ["pdf"], "orientation": "landscape", "layout": "grid", "scale_factor": 2}
# Report states that Grafana computes from the schedule: never sent back, Grafana works them out again.
COMPUTED_STATES = ("expired", "not scheduled")

_TIME_RANGE_OPTIONS = {"from": dict(type="str"), "to": dict(type="str")}

# The options of grafana_report besides the connection; also what the role's definitions are checked against.
REPORT_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    recipients=dict(type="list", elements="str"),
    reply_to=dict(type="list", elements="str"),
    subject=dict(type="str"),
    # Not `message`: Ansible keeps that name for itself.
    body=dict(type="str"),
    dashboards=dict(type="list", elements="dict", options=dict(
        uid=dict(type="str", required=True),
        time_range=dict(type="dict", options=_TIME_RANGE_OPTIONS),
        variables=dict(type="dict"),
    )),
    schedule=dict(type="dict", options=dict(
        frequency=dict(type="str", choices=FREQUENCIES),
        start=dict(type="str"),
        end=dict(type="str"),
        time_zone=dict(type="str"),
        workdays_only=dict(type="bool"),
        interval_amount=dict(type="int"),
        interval_unit=dict(type="str", choices=INTERVAL_UNITS),
        last_day_of_month=dict(type="bool"),
    )),
    formats=dict(type="list", elements="str", choices=FORMATS),
    orientation=dict(type="str", choices=["portrait", "landscape"]),
    layout=dict(type="str", choices=["grid", "simple"]),
    time_range=dict(type="dict", options=_TIME_RANGE_OPTIONS),
    scale_factor=dict(type="int"),
    include_dashboard_link=dict(type="bool"),
    pdf_show_template_variables=dict(type="bool"),
    pdf_combine_one_file=dict(type="bool"),
    paused=dict(type="bool"),
    send_test_email=dict(type="bool", default=False),
    test_email_recipients=dict(type="list", elements="str"),
)
# Options that are not part of the report's definition.
CONTROL_OPTIONS = ("name", "state", "send_test_email", "test_email_recipients")
# What a new report gets for the options its definition leaves out: the UI and Terraform always send a
# schedule with a time zone and turn the dashboard link on. Frequency `never`: sent only when asked.
CREATE_DEFAULTS = dict(schedule=dict(frequency="never", time_zone="UTC"), include_dashboard_link=True)
# The schedule of a new report before the user's sub-options are applied: every field the UI sends.
NEW_SCHEDULE = {"frequency": "never", "timeZone": "UTC", "intervalFrequency": "", "intervalAmount": 0, "workdaysOnly": False,
                "dayOfMonth": "", "endDate": None}

_DATE_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
                        re.IGNORECASE)
# Grafana time range values: relative (now-7d, now/d, now-1M/M), epoch milliseconds, or a date.
_TIME_VALUE = re.compile(r"^(now([+-][0-9]+[smhdwMy])*(/[smhdwMy])?|[0-9]{10,13}|\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?)$")
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")
_UTC_NAMES = ("UTC", "Etc/UTC", "Z")


class DefinitionError(InputError):
    """Invalid input; the message names the field and says what is expected."""


# -- checks ------------------------------------------------------------------------------------


def validated_options(options):
    """The options of one definition (a dict as a role variable gives it) checked against the module's
    argument spec, with its defaults; raises DefinitionError naming every problem."""
    if not isinstance(options, dict):
        raise DefinitionError("a definition must be a dictionary of grafana_report options, got %r." % (options,))
    options = plain(options)
    result = ArgumentSpecValidator(REPORT_ARGUMENT_SPEC).validate(options)
    if result.error_messages:
        # The validator's text for an unknown key is only "KEY. Supported parameters include: ...".
        unknown = sorted(map(str, set(options) - set(REPORT_ARGUMENT_SPEC)))
        problems = [unknown_key_problem(key, REPORT_ARGUMENT_SPEC) for key in unknown]
        # A key unknown in a suboption (schedule, dashboards) keeps the validator's words, which name where it is.
        problems += [("unsupported option %s" if isinstance(error, UnsupportedError) else "%s") % to_text(error)
                     for error in result.errors.errors
                     if not (isinstance(error, UnsupportedError) and to_text(error).split(".")[0] in unknown)]
        raise DefinitionError(" ".join(problems))
    return result.validated_parameters


def checked_definition(params):
    """The user's definition, normalised, from options that passed the argument spec.

    Unset options (None) stay None: only what the user set is compared and changed.
    Raises DefinitionError, naming the field, for anything Grafana would refuse or misread.
    """
    name = params["name"]
    if not isinstance(name, str) or not name.strip():
        raise DefinitionError("name must be a non-empty string: the report's name, unique in the organization.")
    definition = dict((key, params.get(key)) for key in REPORT_ARGUMENT_SPEC)
    definition["name"] = name.strip()
    if definition["state"] == "absent":
        if definition["send_test_email"]:
            raise DefinitionError("send_test_email needs state=present: there is no definition to mail.")
        return definition
    if definition["test_email_recipients"] is not None:
        if not definition["send_test_email"]:
            raise DefinitionError("test_email_recipients needs send_test_email=true: they are where the test email goes.")
        definition["test_email_recipients"] = checked_addresses(definition["test_email_recipients"], "test_email_recipients")
    if definition["recipients"] is not None:
        definition["recipients"] = checked_addresses(definition["recipients"], "recipients")
    if definition["reply_to"] is not None:
        # An empty list, or only empty strings, removes the reply-to addresses.
        definition["reply_to"] = checked_addresses(definition["reply_to"], "reply_to") if "".join(definition["reply_to"]).strip() else []
    if definition["dashboards"] is not None:
        definition["dashboards"] = checked_dashboards(definition["dashboards"])
    if definition["time_range"] is not None:
        definition["time_range"] = checked_time_range(definition["time_range"], "time_range")
    if definition["schedule"] is not None:
        definition["schedule"] = checked_schedule(definition["schedule"])
    if definition["formats"] is not None:
        if not definition["formats"]:
            raise DefinitionError("formats must not be empty: give one or more of %s." % ", ".join(FORMATS))
        definition["formats"] = sorted(set(definition["formats"]), key=definition["formats"].index)
    if definition["scale_factor"] is not None and not 1 <= definition["scale_factor"] <= MAX_SCALE_FACTOR:
        raise DefinitionError("scale_factor must be between 1 and %d, got %d." % (MAX_SCALE_FACTOR, definition["scale_factor"]))
    return definition


def checked_addresses(values, field):
    """The addresses of a definition, checked as the recipients of a send are."""
    try:
        return checked_emails([to_text(value) for value in values], field, alternative=" such as ops@example.com")
    except DeliveryError as exc:
        raise DefinitionError(str(exc))


def variable_values(value):
    """The values of one dashboard variable as a list of strings, whichever form Grafana stored it in.

    Grafana's docs show a string (``{"namefilter": "TestData"}``), its current frontend sends lists
    (``Record<string, string[]>``); reports in the wild have both. None (or null) is no value.
    """
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [to_text(item) for item in value]
    return [to_text(value)]


def checked_time_range(value, field):
    time_range = {}
    for key in ("from", "to"):
        text = "" if value.get(key) is None else "".join(to_text(value[key]).split())
        if text and not _TIME_VALUE.match(text):
            raise DefinitionError("%s.%s must be a Grafana time such as now-7d, now/d, an epoch in milliseconds or a date, got %r."
                                  % (field, key, value[key]))
        time_range[key] = text
    if bool(time_range["from"]) != bool(time_range["to"]):
        raise DefinitionError("%s needs both from and to (or neither, for the dashboard's own range)." % field)
    return time_range


def checked_variables(value, field):
    """Dashboard variables as {name: [values]}, each value a string; a single value may be given without a list."""
    if value is None:
        return None
    variables = {}
    for name, values in value.items():
        listed = values if isinstance(values, list) else [values]
        if any(isinstance(item, (dict, list, bool)) or item is None for item in listed):
            raise DefinitionError("%s.%s must be a value or a list of values (strings), got %r." % (field, name, values))
        variables[to_text(name)] = [to_text(item) for item in listed]
    return variables


def checked_dashboards(dashboards):
    if not dashboards:
        raise DefinitionError("dashboards must not be empty: a report renders at least one dashboard (give its uid).")
    checked = []
    for index, item in enumerate(dashboards):
        field = "dashboards[%d]" % index
        uid = (item.get("uid") or "").strip()
        if not uid:
            raise DefinitionError("%s.uid must be the dashboard's uid (from its URL, /d/UID/...), got %r." % (field, item.get("uid")))
        variables = checked_variables(item.get("variables"), field + ".variables")
        time_range = None if item.get("time_range") is None else checked_time_range(item["time_range"], field + ".time_range")
        checked.append(dict(uid=uid, time_range=time_range, variables=variables))
    return checked


def checked_schedule(schedule):
    schedule = dict(schedule)
    frequency = schedule.get("frequency")
    if schedule.get("time_zone") is not None:
        schedule["time_zone"] = checked_zone_name(schedule["time_zone"])
    for key in ("start", "end"):
        if schedule.get(key) is not None and schedule[key].strip() == "" and key == "end":
            schedule[key] = ""  # no end date
        elif schedule.get(key) is not None:
            schedule_moment(schedule[key], "schedule." + key)
    interval = [key for key in ("interval_amount", "interval_unit") if schedule.get(key) is not None]
    if frequency == "custom" and len(interval) < 2:
        raise DefinitionError("schedule.frequency custom needs schedule.interval_amount and schedule.interval_unit "
                              "(for example 2 and weeks).")
    if interval and frequency != "custom":
        raise DefinitionError("schedule.%s needs schedule.frequency custom." % interval[0])
    if schedule.get("interval_amount") is not None and schedule["interval_amount"] < 1:
        raise DefinitionError("schedule.interval_amount must be a positive number, got %d." % schedule["interval_amount"])
    if schedule.get("workdays_only") and frequency not in WORKDAY_FREQUENCIES:
        raise DefinitionError("schedule.workdays_only needs schedule.frequency hourly or daily.")
    if schedule.get("last_day_of_month") and frequency != "monthly":
        raise DefinitionError("schedule.last_day_of_month needs schedule.frequency monthly.")
    start, end = schedule.get("start"), schedule.get("end")
    if start and end:
        first, last = schedule_moment(start, "schedule.start"), schedule_moment(end, "schedule.end")
        # Both in one zone, or both with an offset: comparable now. Otherwise once the zone is known.
        if (first.tzinfo is None) == (last.tzinfo is None) and last <= first:
            raise DefinitionError("schedule.end (%s) must be after schedule.start (%s)." % (end, start))
    return schedule


def checked_zone_name(name):
    name = name.strip()
    if not _ZONE_NAME.match(name) or (tz_database() and zone(name) is None):
        raise DefinitionError("schedule.time_zone must be an IANA time zone such as Europe/Warsaw or UTC, got %r." % name)
    return name


# -- dates and time zones ----------------------------------------------------------------------


def tz_database():
    """Whether this Python can resolve IANA time zones (zoneinfo and a time zone database)."""
    return zone("Europe/London") is not None


def zone(name):
    """The tzinfo of an IANA name, or None when it is unknown or cannot be resolved here."""
    if name in _UTC_NAMES:
        return datetime.timezone.utc
    if zoneinfo is None or not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, KeyError, OSError, zoneinfo.ZoneInfoNotFoundError):
        return None


def schedule_moment(value, field):
    """A date-time (naive when it has no offset); DefinitionError if it is not one.

    Accepts 2030-05-06, 2030-05-06 09:00, 2030-05-06T09:00:00, with Z or an offset such as +02:00.
    """
    match = _DATE_TIME.match(to_text(value).strip())
    if not match:
        raise DefinitionError("%s must be a date and time such as 2030-05-06 09:00 or 2030-05-06T09:00:00+02:00, got %r." % (field, value))
    year, month, day, hour, minute, second, offset = match.groups()
    tzinfo = None
    if offset:
        if offset.upper() == "Z":
            tzinfo = datetime.timezone.utc
        else:
            digits = offset.replace(":", "")
            minutes = int(digits[1:3]) * 60 + int(digits[3:5])
            tzinfo = datetime.timezone(datetime.timedelta(minutes=-minutes if digits[0] == "-" else minutes))
    try:
        return datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tzinfo)
    except ValueError as exc:
        raise DefinitionError("%s is not a valid date: %s (%s)." % (field, value, exc))


def instant(value, zone_name, field):
    """A user's or Grafana's date-time as an aware datetime; a naive one is in `zone_name`."""
    moment = schedule_moment(value, field)
    if moment.tzinfo is not None:
        return moment
    tzinfo = zone(zone_name or "UTC")
    if tzinfo is None:
        raise DefinitionError("%s (%s) has no UTC offset, and time zone %r cannot be resolved on this host (no time zone "
                              "database); give the offset, such as 2030-05-06T09:00:00+02:00." % (field, value, zone_name))
    return moment.replace(tzinfo=tzinfo)


def rendered(moment, zone_name):
    """An aware datetime as RFC 3339 in the schedule's time zone (in UTC where that cannot be resolved)."""
    return moment.astimezone(zone(zone_name) or datetime.timezone.utc).isoformat()


# -- views: a report in the module's terms -----------------------------------------------------


def dashboards_of(report):
    """A report's dashboards; Grafana before 9 had one, in dashboardId, dashboardUid and dashboardName (the
    collection refers to dashboards by uid, so one without a uid is none). grafana_report_info lists these too."""
    dashboards = report.get("dashboards")
    if not dashboards and report.get("dashboardUid"):
        dashboards = [{"dashboard": {"id": report.get("dashboardId"), "uid": report["dashboardUid"],
                                     "name": report.get("dashboardName")}}]
    return dashboards or []


def _time_range_view(value):
    value = value or {}
    return {"from": "".join(to_text(value.get("from") or "").split()), "to": "".join(to_text(value.get("to") or "").split())}


def report_view(report):
    """Every managed field of a Grafana report, in the module's option names and forms."""
    schedule = report.get("schedule") or {}
    options = report.get("options") or {}
    zone_name = schedule.get("timeZone") or ""
    dates = {}
    for key, field in (("start", "startDate"), ("end", "endDate")):
        dates[key] = rendered(instant(schedule[field], zone_name, field), zone_name) if schedule.get(field) else ""
    return dict(
        name=report.get("name"),
        recipients=split_recipients([report.get("recipients") or ""]),
        reply_to=split_recipients([report.get("replyTo") or ""]),
        subject=report.get("subject") or "",
        body=report.get("message") or "",
        dashboards=[dict(uid=(item.get("dashboard") or {}).get("uid") or "",
                         time_range=_time_range_view(item.get("timeRange")),
                         variables=dict((name, variable_values(values)) for name, values in (item.get("reportVariables") or {}).items()))
                    for item in dashboards_of(report)],
        schedule=dict(
            frequency=schedule.get("frequency") or "",
            start=dates["start"],
            end=dates["end"],
            time_zone=zone_name,
            workdays_only=bool(schedule.get("workdaysOnly")),
            interval_amount=schedule.get("intervalAmount") or 0,
            interval_unit=schedule.get("intervalFrequency") or "",
            last_day_of_month=schedule.get("dayOfMonth") == "last",
        ),
        formats=list(report.get("formats") or GRAFANA_DEFAULTS["formats"]),
        orientation=options.get("orientation") or GRAFANA_DEFAULTS["orientation"],
        layout=options.get("layout") or GRAFANA_DEFAULTS["layout"],
        time_range=_time_range_view(options.get("timeRange")),
        scale_factor=report.get("scaleFactor") or GRAFANA_DEFAULTS["scale_factor"],
        include_dashboard_link=bool(report.get("enableDashboardUrl")),
        pdf_show_template_variables=bool(options.get("pdfShowTemplateVariables")),
        pdf_combine_one_file=bool(options.get("pdfCombineOneFile")),
        paused=report.get("state") == "paused",
    )


def comparable(view):
    """A view with the differences that do not matter to Grafana taken out."""
    view = copy.deepcopy(view)
    if "recipients" in view:
        view["recipients"] = sorted(address.lower() for address in view["recipients"])
    if "reply_to" in view:
        view["reply_to"] = sorted(address.lower() for address in view["reply_to"])
    if "formats" in view:
        view["formats"] = sorted(set(view["formats"]))
    for item in view.get("dashboards") or []:
        item["variables"] = dict((name, sorted(values)) for name, values in (item.get("variables") or {}).items())
    schedule = view.get("schedule") or {}
    for key in ("start", "end"):
        if schedule.get(key):
            schedule[key] = schedule_moment(schedule[key], key).astimezone(datetime.timezone.utc)
    return view


# -- the plan: what to compare, show and send --------------------------------------------------


def _merged_dashboards(wanted, current_view):
    """The user's dashboards, each taking what it leaves unset from the current one with its uid."""
    unused = list((current_view or {}).get("dashboards") or [])
    merged = []
    for item in wanted:
        match = next((entry for entry in unused if entry["uid"] == item["uid"]), None)
        if match is not None:
            unused.remove(match)
        merged.append(dict(
            uid=item["uid"],
            time_range=item["time_range"] if item["time_range"] is not None else (match or {}).get("time_range", {"from": "", "to": ""}),
            variables=item["variables"] if item["variables"] is not None else (match or {}).get("variables", {}),
        ))
    return merged


def schedule_zone(definition, current=None):
    """The time zone a naive start or end of the definition is in: its own, else the report's, else UTC."""
    schedule = definition.get("schedule") or {}
    return schedule.get("time_zone") or ((current or {}).get("schedule") or {}).get("timeZone") or "UTC"


def wanted_view(definition, current=None):
    """The fields the user set, in the module's forms (dates in the schedule's time zone).

    A new report (no `current`) also gets CREATE_DEFAULTS for what the definition leaves out, so
    that they are written, shown and checked like the user's own options.
    """
    current_view = report_view(current) if current else None
    if current is None:
        definition = dict(definition)
        for key, value in CREATE_DEFAULTS.items():
            if definition.get(key) is None:
                definition[key] = copy.deepcopy(value)
            elif isinstance(value, dict):
                definition[key] = dict(value, **dict((name, item) for name, item in definition[key].items() if item is not None))
    view = {}
    for key, value in definition.items():
        if key in CONTROL_OPTIONS or value is None:
            continue
        if key == "dashboards":
            value = _merged_dashboards(value, current_view)
        elif key == "schedule":
            zone_name = schedule_zone(definition, current)
            value = dict((name, item) for name, item in value.items() if item is not None)
            for name in ("start", "end"):
                if value.get(name):
                    value[name] = rendered(instant(value[name], zone_name, "schedule." + name), zone_name)
        view[key] = value
    if "time_range" in view:
        _apply_report_time_range(view, current_view)
    schedule = view.get("schedule") or {}
    start = schedule.get("start") or (current_view or {}).get("schedule", {}).get("start")
    if schedule.get("end") and start and schedule_moment(schedule["end"], "end") <= schedule_moment(start, "start"):
        raise DefinitionError("schedule.end (%s) must be after the start (%s)." % (schedule["end"], start))
    return view


def _apply_report_time_range(view, current_view):
    """Grafana ignores the report-wide options.timeRange once a report has dashboards (the Terraform
    provider deprecated its field for that), so `time_range` becomes the time range of every
    dashboard that has none; it is not written as options.timeRange."""
    time_range = view.pop("time_range")
    dashboards = view.get("dashboards")
    if dashboards is None:
        dashboards = copy.deepcopy((current_view or {}).get("dashboards") or [])
    for item in dashboards:
        if not (item["time_range"].get("from") or item["time_range"].get("to")):
            item["time_range"] = dict(time_range)
    if dashboards:
        view["dashboards"] = dashboards


def current_view_of(wanted, current):
    """The current report's values of exactly the fields in `wanted`."""
    full = report_view(current)
    view = {}
    for key, value in wanted.items():
        view[key] = dict((name, full[key][name]) for name in value) if key == "schedule" else full[key]
    return view


def changed_fields(before, after):
    """Dotted names of the fields that differ once normalised, such as recipients or schedule.start."""
    before, after = comparable(before), comparable(after)
    changed = []
    for key in after:
        if key == "schedule":
            changed.extend("schedule." + name for name in after[key] if after[key][name] != before[key].get(name))
        elif after[key] != before.get(key):
            changed.append(key)
    return changed


# -- the round trip: what Grafana gave, with only the user's fields changed ---------------------


def round_trip(saved, changes):
    """The body of a write that replaces a whole object (PUT /api/reports/{id}, POST /api/reports/settings):
    `saved` exactly as Grafana returned it, with each value of `changes` (a path, a tuple of keys, to a
    value) put in place. Fields the collection does not know, and the form Grafana gave each value in,
    go back unchanged; a path that does not exist yet is created."""
    body = copy.deepcopy(saved)
    for path, value in changes.items():
        target = body
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = copy.deepcopy(value)
    return body


# Options that set one field of Grafana's report, with the path of that field.
_FIELD_PATHS = dict(name=("name",), subject=("subject",), body=("message",), scale_factor=("scaleFactor",),
                    include_dashboard_link=("enableDashboardUrl",), orientation=("options", "orientation"),
                    layout=("options", "layout"), pdf_show_template_variables=("options", "pdfShowTemplateVariables"),
                    pdf_combine_one_file=("options", "pdfCombineOneFile"))
# Options that are lists of addresses, each a comma-separated string in Grafana.
_ADDRESS_PATHS = dict(recipients=("recipients",), reply_to=("replyTo",))


def saved_definition(report):
    """What Grafana returned for a report, as the base of the next write: all of it, but a state that
    Grafana computes from the schedule (expired, not scheduled), which it works out again."""
    saved = copy.deepcopy(report)
    if saved.get("state") in COMPUTED_STATES:
        del saved["state"]
    return saved


def report_body(wanted, report=None):
    """The body of a write of the wanted fields (a wanted_view): the saved report, or for a new one
    NEW_SCHEDULE, with only those fields changed."""
    base = saved_definition(report) if report else {"schedule": dict(NEW_SCHEDULE)}
    changes = {}
    for key, value in wanted.items():
        if key in _FIELD_PATHS:
            changes[_FIELD_PATHS[key]] = value
        elif key in _ADDRESS_PATHS:
            changes[_ADDRESS_PATHS[key]] = ",".join(value)
        elif key == "formats":
            changes[("formats",)] = list(value)
        elif key == "paused":
            changes[("state",)] = "paused" if value else "scheduled"
        elif key == "dashboards":
            changes[("dashboards",)] = _dashboards_body(value, dashboards_of(base))
        elif key == "schedule":
            changes[("schedule",)] = _schedule_body(value, base.get("schedule") or {})
    return round_trip(base, changes)


def _dashboards_body(wanted, saved_items):
    """The wanted dashboards, each the saved item with its uid (its id, name and unknown fields kept)
    with the time range and variables changed; a variable whose values did not change keeps Grafana's form."""
    unused = list(saved_items)
    items = []
    for dashboard in wanted:
        saved = next((item for item in unused if (item.get("dashboard") or {}).get("uid") == dashboard["uid"]), None)
        if saved is not None:
            unused.remove(saved)
        saved = saved or {"dashboard": {"uid": dashboard["uid"]}}
        saved_variables = saved.get("reportVariables") or {}
        variables = {}
        for name, values in dashboard["variables"].items():
            same = name in saved_variables and sorted(variable_values(saved_variables[name])) == sorted(values)
            variables[name] = copy.deepcopy(saved_variables[name]) if same else list(values)
        time_range = dict(dashboard["time_range"])
        if _time_range_view(saved.get("timeRange")) == time_range:
            time_range = saved.get("timeRange") or time_range
        items.append(round_trip(saved, {("timeRange",): time_range, ("reportVariables",): variables}))
    return items


def test_email_body(body, definition):
    """The body of POST /api/reports/test-email: the definition as saved, mailed to test_email_recipients
    when given (nothing is saved, so the report's own recipients stay as they are)."""
    if definition.get("test_email_recipients"):
        return round_trip(body, {("recipients",): ",".join(definition["test_email_recipients"])})
    return body


def unkept_fields(wanted, report):
    """(field, asked for, what Grafana kept) for each wanted field that the report read back after a
    write does not hold: what an older Grafana drops because it does not know the field."""
    kept = current_view_of(wanted, report)
    problems = []
    for field in changed_fields(kept, wanted):
        if field.startswith("schedule."):
            name = field.split(".", 1)[1]
            problems.append((field, wanted["schedule"][name], kept["schedule"][name]))
        else:
            problems.append((field, wanted[field], kept[field]))
    return problems


# The options every exported definition has; reply_to and schedule follow when the report has them.
_EXPORTED_OPTIONS = ("name", "recipients", "subject", "body", "formats", "orientation", "layout", "scale_factor",
                     "include_dashboard_link", "pdf_show_template_variables", "pdf_combine_one_file", "paused")


def definition_options(report):
    """The grafana_report options that recreate a report (its `definition`): applied to the same
    Grafana they change nothing, applied to another they create an equal report."""
    view = report_view(report)
    options = dict((key, view[key]) for key in _EXPORTED_OPTIONS)
    if view["reply_to"]:
        options["reply_to"] = view["reply_to"]
    options["dashboards"] = view["dashboards"]
    schedule = view["schedule"]
    exported = dict((key, schedule[key]) for key in ("frequency", "start", "end", "time_zone") if schedule[key])
    if schedule["frequency"] in WORKDAY_FREQUENCIES:
        exported["workdays_only"] = schedule["workdays_only"]
    if schedule["frequency"] == "custom":
        exported.update(interval_amount=schedule["interval_amount"], interval_unit=schedule["interval_unit"])
    if schedule["frequency"] == "monthly":
        exported["last_day_of_month"] = schedule["last_day_of_month"]
    if exported:
        options["schedule"] = exported
    return options


def _schedule_body(wanted, schedule):
    schedule = dict(schedule)
    names = dict(frequency="frequency", time_zone="timeZone", workdays_only="workdaysOnly",
                 interval_amount="intervalAmount", interval_unit="intervalFrequency")
    for key, value in wanted.items():
        if key in names:
            schedule[names[key]] = value
        elif key == "start":
            schedule["startDate"] = value
        elif key == "end":
            schedule["endDate"] = value or None
        elif key == "last_day_of_month":
            schedule["dayOfMonth"] = "last" if value else ""
    # Fields of another frequency would linger from the saved schedule: clear them.
    frequency = wanted.get("frequency")
    if frequency is not None:
        if frequency != "custom":
            schedule.update(intervalFrequency="", intervalAmount=0)
        if frequency not in WORKDAY_FREQUENCIES:
            schedule["workdaysOnly"] = False
        if frequency != "monthly":
            schedule["dayOfMonth"] = ""
    return schedule
