# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""One delivery of a report: its validation, its plan and its send.

The same code serves grafana_report_send (one delivery), grafana_report_deliver (many, in threads)
and the role's filters (which check deliveries when a schedule is installed, hours before it runs).
"""

from __future__ import annotations

import re
import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.reportops.grafana.plugins.module_utils._client import (
    GrafanaError,
    normalize_report_id,
    split_recipients,
)

# A plain address: no display name, quotes, spaces or control characters; a dotted domain.
_ADDRESS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                      r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
# Names end up in file and unit names (role) and in messages, so they are kept to a safe alphabet.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_INTERVAL_PART = re.compile(r"(\d+)([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TRUE = ("yes", "on", "1", "true", "y")
_FALSE = ("no", "off", "0", "false", "n")
MAX_RETRIES = 10
MAX_RENDER_BACKOFF = 300

# The options of one delivery in grafana_report_deliver's `deliveries`.
DELIVERY_OPTIONS = ("name", "report", "report_id", "emails", "use_emails_from_report", "delivery_key", "min_interval")
# Argument specs shared by the modules that send: to whom and what the ledger remembers (options of
# grafana_report_send, suboptions of grafana_report_deliver's deliveries), and the options of the
# ledger doc fragment. The values are checked by the functions below, not by their types alone.
DELIVERY_ARGUMENT_SPEC = dict(
    emails=dict(type="list", elements="str"),
    use_emails_from_report=dict(type="bool", default=False),
    delivery_key=dict(type="str", no_log=False),
    min_interval=dict(type="str"),
)
LEDGER_ARGUMENT_SPEC = dict(
    ledger=dict(type="str", choices=["file", "grafana"], default="file"),
    ledger_path=dict(type="path"),
    retries=dict(type="int", default=2),
)
# Options of the render_retries doc fragment: sends that Grafana reports as failed are sent again.
RENDER_RETRY_ARGUMENT_SPEC = dict(
    render_retries=dict(type="int", default=2),
    render_backoff=dict(type="float", default=10.0),
)


class DeliveryError(ValueError):
    """Invalid input; the message names the field and says what is expected."""


def invalid_addresses(recipients):
    """The addresses in `recipients` that are not plain addresses such as ops@example.com."""
    return [address for address in recipients if len(address) > 254 or not _ADDRESS.match(address)]


def parse_interval(text):
    """Seconds in an interval such as '90s', '30m', '12h', '7d', '1h30m' or '3600'; None if invalid."""
    compact = "".join(str(text).split()).lower()
    if not compact or not re.fullmatch(r"(\d+[smhdw]?)+", compact):
        return None
    parts = _INTERVAL_PART.findall(compact)
    # A bare number is only allowed alone: '1h30' is a typo, not 1h30s.
    if len(parts) > 1 and any(unit == "" for dummy, unit in parts):
        return None
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    return seconds if seconds > 0 else None


def checked_report_id(value, field="report_id"):
    report_id = normalize_report_id(value)
    if report_id is None:
        raise DeliveryError("%s must be a positive integer (the report's id, not a dashboard uid), got %r." % (field, value))
    return report_id


def checked_emails(value, field="emails", alternative=", or use_emails_from_report: true"):
    """Addresses from a string or a list of strings, split, validated and without duplicates.

    `alternative` ends the message for an empty list: what else the caller accepts instead.
    """
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, (list, tuple)) or any(not isinstance(item, str) for item in values):
        raise DeliveryError("%s must be a list of addresses or a string of addresses, got %r." % (field, value))
    recipients = split_recipients(values)
    if not recipients:
        raise DeliveryError("%s is empty: give at least one address%s." % (field, alternative))
    invalid = invalid_addresses(recipients)
    if invalid:
        raise DeliveryError("%s has %d invalid address(es): %s. Give plain addresses such as ops@example.com, without display names."
                            % (field, len(invalid), ", ".join(repr(address[:100]) for address in invalid[:5])))
    return recipients


def checked_bool(value, field):
    if isinstance(value, bool):
        return value
    text = to_text(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DeliveryError("%s must be a boolean, got %r." % (field, value))


def checked_interval(value, field="min_interval"):
    """Seconds, or None when unset."""
    if value is None:
        return None
    seconds = parse_interval(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if seconds is None:
        raise DeliveryError("%s must be a positive duration such as 90s, 30m, 12h, 7d or a number of seconds, got %r." % (field, value))
    return seconds


def checked_delivery_key(value, field="delivery_key"):
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not to_text(value).strip():
        raise DeliveryError("%s must be a non-empty string, got %r." % (field, value))
    return to_text(value)


def checked_retries(value):
    if not 0 <= value <= MAX_RETRIES:
        raise DeliveryError("retries must be between 0 and %d, got %d." % (MAX_RETRIES, value))
    return value


def checked_render_retries(params):
    """Checks render_retries and render_backoff of the module options."""
    if not 0 <= params["render_retries"] <= MAX_RETRIES:
        raise DeliveryError("render_retries must be between 0 and %d, got %d." % (MAX_RETRIES, params["render_retries"]))
    if not 0 <= params["render_backoff"] <= MAX_RENDER_BACKOFF:
        raise DeliveryError("render_backoff must be between 0 and %d seconds, got %s." % (MAX_RENDER_BACKOFF, params["render_backoff"]))


def checked_name(value, field="name"):
    if not isinstance(value, str) or not _NAME.match(value):
        raise DeliveryError("%s must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
                            "(it names files and timers), got %r." % (field, value))
    return value


class Delivery:
    """One validated delivery: which report, to whom, and what the ledger should remember."""

    def __init__(self, report_id=None, recipients=None, delivery_key=None, min_interval=None, name=None, report=None,
                 min_interval_text=None):
        self.name = name
        self.report = report                  # a report name, resolved to report_id per Grafana
        self.report_id = report_id            # digits, as a string
        self.recipients = recipients          # a list, or None for the report's saved recipients
        self.delivery_key = delivery_key
        self.min_interval = min_interval      # seconds
        self.min_interval_text = min_interval_text

    @property
    def uses_ledger(self):
        return self.delivery_key is not None or self.min_interval is not None

    def resolved(self, report_id):
        return Delivery(report_id, self.recipients, self.delivery_key, self.min_interval, self.name, self.report,
                        self.min_interval_text)

    def options(self):
        """The delivery as grafana_report_deliver takes it, unset options left out."""
        options = dict(name=self.name, report=self.report, report_id=None if self.report else self.report_id,
                       emails=self.recipients, use_emails_from_report=True if self.recipients is None else None,
                       delivery_key=self.delivery_key, min_interval=self.min_interval_text)
        return dict((key, value) for key, value in options.items() if value is not None)


def _is_set(value):
    return value is not None and value != "" and value != []


def checked_delivery(options, where=None, extra_options=()):
    """A Delivery from a dict of DELIVERY_OPTIONS, or DeliveryError listing every problem.

    `where` prefixes each problem (e.g. "delivery 'weekly-slo'"), and the field names become
    "<where>: <field>". `extra_options` are further keys the caller checks itself.
    """
    if not isinstance(options, dict):
        raise DeliveryError("%s must be a dictionary, got %r." % (where or "a delivery", options))
    name = options.get("name")
    if where is None:
        where = "delivery '%s'" % name if isinstance(name, str) and name else "a delivery without a name"
    problems = []

    def check(function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except DeliveryError as exc:
            problems.append("%s: %s" % (where, exc))
            return None

    unknown = sorted(set(options) - set(DELIVERY_OPTIONS) - set(extra_options))
    if unknown:
        problems.append("%s: unknown option(s) %s; expected %s." % (where, ", ".join(map(str, unknown)),
                                                                    ", ".join(DELIVERY_OPTIONS + tuple(extra_options))))
    check(checked_name, name)
    report, report_id = options.get("report"), None
    if _is_set(report) == _is_set(options.get("report_id")):
        problems.append("%s: report: set exactly one of report (a report name) and report_id." % where)
    elif _is_set(report):
        if not isinstance(report, str):
            problems.append("%s: report must be a report name (a string), got %r." % (where, report))
    else:
        report, report_id = None, check(checked_report_id, options.get("report_id"))
    use_report = check(checked_bool, options.get("use_emails_from_report") or False, "use_emails_from_report")
    recipients = None
    if _is_set(options.get("emails")) == bool(use_report):
        problems.append("%s: emails: set exactly one of emails and use_emails_from_report: true." % where)
    elif not use_report:
        recipients = check(checked_emails, options.get("emails"))
    min_interval = check(checked_interval, options.get("min_interval"))
    delivery_key = check(checked_delivery_key, options.get("delivery_key"))
    if problems:
        raise DeliveryError(" ".join(problems))
    return Delivery(report_id, recipients, delivery_key, min_interval, name, report,
                    to_text(options["min_interval"]).strip() if min_interval else None)


def checked_deliveries(deliveries, extra_options=()):
    """Every delivery of a list checked, names unique; DeliveryError lists every problem of every delivery."""
    if not isinstance(deliveries, (list, tuple)):
        raise DeliveryError("deliveries must be a list of dictionaries, got %r." % (deliveries,))
    problems, checked, seen = [], [], set()
    for index, options in enumerate(deliveries):
        name = options.get("name") if isinstance(options, dict) else None
        if isinstance(name, str) and name:
            if name in seen:
                problems.append("delivery '%s': name: defined more than once; names must be unique." % name)
            seen.add(name)
        try:
            checked.append(checked_delivery(options, None if name else "delivery #%d" % (index + 1), extra_options))
        except DeliveryError as exc:
            problems.append(str(exc))
    if problems:
        raise DeliveryError(" ".join(problems))
    return checked


def resolve_report_names(deliveries, reports):
    """The deliveries with report names turned into this Grafana's ids; DeliveryError names every name missing or ambiguous."""
    problems, resolved = [], []
    for delivery in deliveries:
        if delivery.report is None:
            resolved.append(delivery)
            continue
        ids = [to_text(report.get("id")) for report in reports if report.get("name") == delivery.report]
        if len(ids) == 1:
            resolved.append(delivery.resolved(ids[0]))
        elif not ids:
            names = sorted(set(to_text(report.get("name")) for report in reports))
            problems.append("delivery '%s': report '%s' does not exist in this Grafana (its reports: %s)."
                            % (delivery.name, delivery.report, ", ".join(names) or "none"))
        else:
            problems.append("delivery '%s': report name '%s' matches %d reports in this Grafana (ids %s); rename one "
                            "in Grafana or give report_id." % (delivery.name, delivery.report, len(ids), ", ".join(ids)))
    if problems:
        raise DeliveryError(" ".join(problems))
    return resolved


def delivery_ledger(client, params, deliveries):
    """The ledger the module options ask for, and the scope that keeps Grafanas apart in a shared file.

    (None, "") when no delivery uses a ledger: a plain send then does not load (and compile) its code.
    """
    if not any(delivery.uses_ledger for delivery in deliveries):
        return None, ""
    from ansible_collections.reportops.grafana.plugins.module_utils._ledger import (  # pylint: disable=import-outside-toplevel
        FileLedger,
        GrafanaLedger,
        default_ledger_path,
    )
    file_ledger = FileLedger(params["ledger_path"] or default_ledger_path())
    scope = "%s|org=%s" % (client.base_url, params["org_id"] or "default")
    if params["ledger"] == "grafana":
        # Annotations are per Grafana and org already; the file's lock and copy of records need the scope.
        return GrafanaLedger(client, file_ledger, local_scope=scope), ""
    return file_ledger, scope


def deliver(client, ledger, scope, delivery, retries, check_mode, report=None, warn=None, history=None):
    """Carry out one resolved delivery: plan (skip, check or send), then send through the ledger.

    `report` is the report as Grafana returned it, when the caller read it (for the saved
    recipients and a name in messages). Never raises for Grafana or ledger failures: the
    outcome says `failed` with one sentence, and whether Grafana may have acted anyway.
    With a `history` (_history.History), every outcome but check mode's gets its record; the
    Grafana ledger's record of a send is that record, so a send recorded there gets no other.
    """
    started = time.time()
    recipients = delivery.recipients
    if recipients is None:
        recipients = split_recipients([report.get("recipients") or ""]) if report else []
    outcome = dict(name=delivery.name, report=delivery.report, report_id=delivery.report_id, recipients=recipients,
                   recipients_source="report" if delivery.recipients is None else "emails",
                   status="failed", sent=False, changed=False, attempts=0)

    recorded = []  # holds True once the Grafana ledger's record of the send is the outcome record

    def finish(status, message, **extra):
        outcome.update(extra, status=status, message=message, elapsed=round(time.time() - started, 3))
        if history is not None and status != "checked" and not recorded:
            history.write(record_fields(), delivery, started, time.time())
        return outcome

    def record_fields():
        return history.fields(outcome, delivery, delivery.report or (report or {}).get("name"))

    def skipped(reason):
        return finish("skipped", "Not sent: %s" % reason, skipped_reason=reason)

    def failed(exc):
        return finish("failed", exc.message, **({"http_status": exc.status} if exc.status else {}))

    def checked_message():
        name = " (%s)" % report.get("name") if report and report.get("name") else ""
        outcome["changed"] = True
        return "Check mode: report %s%s would be sent to %s." % (
            delivery.report_id, name, ", ".join(recipients) or "its saved recipients")

    def send():
        try:
            answer, outcome["attempts"] = client.send_report(delivery.report_id, delivery.recipients, retries)
        except GrafanaError as exc:
            outcome["attempts"] = exc.attempts
            raise
        outcome.update(sent=True, changed=True, http_status=200)
        return answer.get("message", "Report was sent") if isinstance(answer, dict) else "Report was sent"

    if not delivery.uses_ledger:
        try:
            return finish("checked", checked_message()) if check_mode else finish("sent", send())
        except GrafanaError as exc:
            return failed(exc)
    from ansible_collections.reportops.grafana.plugins.module_utils._ledger import (  # pylint: disable=import-outside-toplevel
        GrafanaLedger,
        LedgerError,
        delivery_id,
    )
    ledger_id = delivery_id(delivery.report_id, delivery.recipients, delivery.delivery_key, scope)
    # The Grafana ledger's record of a send is an annotation: with history, the outcome record itself.
    outcome_in_ledger = history is not None and isinstance(ledger, GrafanaLedger)
    try:
        if check_mode:
            reason = ledger.peek(ledger_id, delivery.delivery_key, delivery.min_interval)
            return skipped(reason) if reason else finish("checked", checked_message())
        deadline = started + client.timeout
        ledger.prepare()
        with ledger.reserve(ledger_id, deadline, delivery.delivery_key, delivery.min_interval, retries) as reservation:
            if reservation.skip_reason:
                return skipped(reservation.skip_reason)
            try:
                message = send()
            except GrafanaError as exc:
                # The ledger says what it did with the delivery: released, or held while Grafana may still send.
                exc.message = " ".join(filter(None, (exc.message, reservation.failed(exc.may_have_acted))))
                raise
            try:
                details = dict(report_id=delivery.report_id, delivery_key=delivery.delivery_key)
                if outcome_in_ledger:
                    outcome.update(status="sent", message=message, elapsed=round(time.time() - started, 3))
                    details = record_fields()
                reservation.sent(details)
                if outcome_in_ledger:
                    recorded.append(True)
            except (LedgerError, GrafanaError) as exc:
                # The report went out: say so, and that the next run may not know it.
                if warn:
                    warn("%sreport %s was sent, but the ledger could not record it, so a re-run may send it again: %s"
                         % ("Delivery '%s': " % delivery.name if delivery.name else "", delivery.report_id,
                            getattr(exc, "message", exc)))
            return finish("sent", message)
    except GrafanaError as exc:
        return failed(exc)
    except LedgerError as exc:
        return finish("failed", str(exc))
