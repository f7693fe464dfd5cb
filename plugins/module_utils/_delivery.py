# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""One delivery of a report: its validation, its plan and its send.

The same code serves grafana_report_send (one delivery), grafana_report_deliver (many, in threads)
and the role's filters (which check deliveries when a schedule is installed, hours before it runs).
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.errors import ArgumentTypeError, RequiredError, UnsupportedError

from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError
from ansible_collections.reportops.grafana.plugins.module_utils._client import (
    MAX_RENDER_BACKOFF,
    GrafanaError,
    RetryPolicy,
)
from ansible_collections.reportops.grafana.plugins.module_utils._report_values import (
    normalize_report_id,
    one_report_id,
    split_recipients,
)
from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import UNCERTAIN, utc_iso
from ansible_collections.reportops.grafana.plugins.module_utils._ledger import (
    FileLedger,
    GrafanaLedger,
    LedgerError,
    NullLedger,
    default_ledger_path,
    delivery_id,
)

# A plain address: no display name, quotes, spaces or control characters; a dotted domain.
_ADDRESS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                      r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
# Names end up in file and unit names (role) and in messages, so they are kept to a safe alphabet.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_INTERVAL_PART = re.compile(r"(\d+)([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Ansible's words for a value it could not convert (ArgumentSpecValidator's ArgumentTypeError), to name the field.
_TYPE_ERROR = re.compile(r"^argument '([^']+)' is of type .* unable to convert to (\w+)")
_TYPE_NAMES = {"bool": "boolean", "str": "string", "int": "integer", "list": "list", "dict": "dictionary"}
MAX_RETRIES = 10

# Argument specs shared by the modules that send: to whom and what the ledger remembers (options of
# grafana_report_send, suboptions of grafana_report_deliver's deliveries), and the options of the
# ledger doc fragment. The values are checked by the functions below, not by their types alone.
DELIVERY_ARGUMENT_SPEC = dict(
    emails=dict(type="list", elements="str"),
    use_emails_from_report=dict(type="bool", default=False),
    delivery_key=dict(type="str", no_log=False),
    min_interval=dict(type="str"),
)
# The suboptions of one delivery in grafana_report_deliver's `deliveries`, the spec that the role's deliveries
# are checked with too (plus the role's own keys), so that both refuse and convert alike.
DELIVERIES_SUBOPTIONS = dict(
    name=dict(type="str", required=True),
    report=dict(type="str"),
    report_id=dict(type="raw"),
    **DELIVERY_ARGUMENT_SPEC
)
LEDGER_ARGUMENT_SPEC = dict(
    ledger=dict(type="str", choices=["file", "grafana"], default="file"),
    ledger_path=dict(type="path"),
    resend_uncertain=dict(type="bool", default=False),
)


class DeliveryError(InputError):
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


def checked_retry_options(params):
    """The client's RetryPolicy of the module options (_module.RETRY_ARGUMENT_SPEC), each checked."""
    if not 0 <= params["retries"] <= MAX_RETRIES:
        raise DeliveryError("retries must be between 0 and %d, got %d." % (MAX_RETRIES, params["retries"]))
    if not 0 <= params["render_retries"] <= MAX_RETRIES:
        raise DeliveryError("render_retries must be between 0 and %d, got %d." % (MAX_RETRIES, params["render_retries"]))
    if not 0 <= params["render_backoff"] <= MAX_RENDER_BACKOFF:
        raise DeliveryError("render_backoff must be between 0 and %d seconds, got %s." % (MAX_RENDER_BACKOFF, params["render_backoff"]))
    return RetryPolicy(params["retries"], params["render_retries"], params["render_backoff"])


def checked_name(value, field="name"):
    if not isinstance(value, str) or not _NAME.match(value):
        raise DeliveryError("%s must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
                            "(it names files and timers), got %r." % (field, value))
    return value


class Delivery:
    """One validated delivery: which report, to whom, and what the ledger should remember."""

    def __init__(self, report_id=None, recipients=None, delivery_key=None, min_interval=None, name=None, report=None):
        self.name = name
        self.report = report                  # a report name, resolved to report_id per Grafana
        self.report_id = report_id            # digits, as a string
        self.recipients = recipients          # a list, or None for the report's saved recipients
        self.delivery_key = delivery_key
        self.min_interval = min_interval      # seconds

    @classmethod
    def of(cls, options):
        """The Delivery of checked options (delivery_options), built by the module that sends it."""
        return cls(options.get("report_id"), options.get("emails"), options.get("delivery_key"),
                   checked_interval(options.get("min_interval")), options.get("name"), options.get("report"))

    @property
    def uses_ledger(self):
        return self.delivery_key is not None or self.min_interval is not None

    def resolved(self, report_id):
        return Delivery(report_id, self.recipients, self.delivery_key, self.min_interval, self.name, self.report)


def _is_set(value):
    return value is not None and value != "" and value != []


def plain(value):
    """`value` as plain dicts, lists and scalars: the lazy containers of a task's arguments (ansible-core 2.19+) would
    be deep-copied by the validator, which instantiates template plugins again (a deprecation on ansible-core 2.21)."""
    if isinstance(value, Mapping):
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def nearest(word, known):
    """The known word closest to a mistyped one (emial: emails), or None when none is close."""
    found = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_key_problem(key, known):
    """The sentence for an option that the spec does not know, with the nearest known one when there is one."""
    guess = nearest(key, known)
    return "unknown key %s: %s" % (key, "did you mean %s?" % guess if guess else "known keys: %s." % ", ".join(known))


def _spec_problems(options, spec):
    """The options converted by Ansible's ArgumentSpecValidator with `spec` (the module's), and its complaints
    in the model's words; a missing name is left to checked_name, which also says what a name may hold."""
    options = plain(options)
    result = ArgumentSpecValidator(spec).validate(options)
    problems = [unknown_key_problem(key, spec) for key in sorted(map(str, set(options) - set(spec)))]
    for error in result.errors:
        if isinstance(error, UnsupportedError):
            continue  # named above, key by key
        if isinstance(error, ArgumentTypeError) and _TYPE_ERROR.match(str(error)):
            field, wanted = _TYPE_ERROR.match(str(error)).groups()
            problems.append("%s must be a %s, got %r." % (field, _TYPE_NAMES.get(wanted, wanted), options.get(field)))
        elif not isinstance(error, RequiredError):
            problems.append(str(error))
    return result.validated_parameters, problems


def _at(where, problem):
    return "%s: %s" % (where, problem) if where else str(problem)


def delivery_options(params, where=None, named=True):
    """The model of every delivery: the checked options of one, normalized as grafana_report_deliver takes them
    (report_id as digits, emails as a list, min_interval as its text; unset ones left out), from options already
    converted by the module's argument spec (AnsibleModule, or _spec_problems); or DeliveryError listing every
    problem of their values, each as "<where>: <field> ...".

    `named` is false for grafana_report_send, whose one delivery has neither a name nor a report name.
    """
    problems = []

    def check(function, *args):
        try:
            return function(*args)
        except DeliveryError as exc:
            problems.append(_at(where, exc))
            return None

    checked = dict(name=check(checked_name, params.get("name")) if named else None)
    if named and _is_set(params.get("report")) == _is_set(params.get("report_id")):
        problems.append(_at(where, "report: set exactly one of report (a report name) and report_id."))
    elif _is_set(params.get("report")):
        checked["report"] = to_text(params["report"])
    else:
        checked["report_id"] = check(checked_report_id, params.get("report_id"))
    use_report, emails = bool(params.get("use_emails_from_report")), params.get("emails")
    if (use_report and _is_set(emails)) or (not use_report and emails is None):
        problems.append(_at(where, "emails: set exactly one of emails and use_emails_from_report: true; %s." % (
            "they are mutually exclusive" if use_report else "one of emails or use_emails_from_report: true is required")))
    elif use_report:
        checked["use_emails_from_report"] = True
    else:
        checked["emails"] = check(checked_emails, emails)
    if check(checked_interval, params.get("min_interval")):
        checked["min_interval"] = to_text(params["min_interval"]).strip()
    checked["delivery_key"] = check(checked_delivery_key, params.get("delivery_key"))
    if problems:
        raise DeliveryError(" ".join(problems))
    return dict((key, value) for key, value in checked.items() if value is not None)


def checked_delivery(options, where=None, extra_spec=None, converted=False):
    """The checked options (delivery_options) of a dict of grafana_report_deliver's delivery suboptions, or
    DeliveryError listing every problem.

    Unless `converted` (by AnsibleModule already), the options are converted and checked by the module's own argument
    spec first (`extra_spec` adds the keys of a caller, the role's, which are left out of the result). `where`
    prefixes each problem (e.g. "delivery 'weekly-slo'").
    """
    if not isinstance(options, dict):
        raise DeliveryError("%s must be a dictionary, got %r." % (where or "a delivery", options))
    name = options.get("name")
    if where is None:
        where = "delivery '%s'" % name if isinstance(name, str) and name else "a delivery without a name"
    problems = []
    if not converted:
        options, problems = _spec_problems(options, dict(DELIVERIES_SUBOPTIONS, **(extra_spec or {})))
        problems = [_at(where, problem) for problem in problems]
    try:
        checked = delivery_options(options, where)
    except DeliveryError as exc:
        problems.append(str(exc))
    if problems:
        raise DeliveryError(" ".join(problems))
    return checked


def checked_deliveries(deliveries, extra_spec=None, converted=False):
    """The checked options of every delivery of a list (checked_delivery), names unique; DeliveryError lists every
    problem of every delivery."""
    if not isinstance(deliveries, (list, tuple)):
        raise DeliveryError("deliveries must be a list of dictionaries, got %r." % (deliveries,))
    problems, checked, seen = [], [], set()
    for index, options in enumerate(deliveries):
        name = options.get("name") if isinstance(options, dict) else None
        if isinstance(name, str) and name:
            if name in seen:
                problems.append("delivery '%s': name: defined more than once; names must be unique." % name)
            seen.add(name)
        where = "delivery '%s'" % name if isinstance(name, str) and name else "delivery #%d" % (index + 1)
        try:
            checked.append(checked_delivery(options, where, extra_spec, converted))
        except DeliveryError as exc:
            problems.append(str(exc))
    if problems:
        raise DeliveryError(" ".join(problems))
    return checked


def module_deliveries(deliveries):
    """The Delivery of each of a module's `deliveries` (grafana_report_deliver's, grafana_report_preflight's), which
    AnsibleModule converted with DELIVERIES_SUBOPTIONS already: the model checks their values."""
    return [Delivery.of(options) for options in checked_deliveries(deliveries, converted=True)]


def report_id_by_name(name, reports):
    """The id of the one report of the listing `reports` called `name`; DeliveryError when there is none or several."""
    report_id = one_report_id(name, reports, DeliveryError, "rename one in Grafana or give report_id.")
    if report_id is None:
        names = sorted(set(to_text(report.get("name")) for report in reports))
        raise DeliveryError("report '%s' does not exist in this Grafana (its reports: %s)." % (name, ", ".join(names) or "none"))
    return report_id


def resolve_report_names(deliveries, reports):
    """The deliveries with report names turned into this Grafana's ids; DeliveryError names every name missing or ambiguous."""
    problems, resolved = [], []
    for delivery in deliveries:
        if delivery.report is None:
            resolved.append(delivery)
            continue
        try:
            resolved.append(delivery.resolved(report_id_by_name(delivery.report, reports)))
        except DeliveryError as exc:
            problems.append("delivery '%s': %s" % (delivery.name, exc))
    if problems:
        raise DeliveryError(" ".join(problems))
    return resolved


def planned(deliveries, reports):
    """The deliveries with names resolved, each with its report; every report proven to exist when listed."""
    if reports is None:
        return [(delivery, None) for delivery in deliveries]
    by_id = dict((str(report.get("id")), report) for report in reports if isinstance(report, dict))
    resolved = resolve_report_names(deliveries, list(by_id.values()))
    missing = ["delivery '%s': report %s does not exist in this Grafana (use the report's id, not a dashboard's)."
               % (delivery.name, delivery.report_id) for delivery in resolved if delivery.report_id not in by_id]
    if missing:
        raise DeliveryError(" ".join(missing))
    return [(delivery, by_id[delivery.report_id]) for delivery in resolved]


def delivery_ledger(client, params, deliveries):
    """The ledger the module options ask for, and the scope that keeps Grafanas apart in a shared file.

    The NullLedger when no delivery uses a ledger: a plain send then needs no ledger file.
    """
    if not any(delivery.uses_ledger for delivery in deliveries):
        return NullLedger(), ""
    file_ledger = FileLedger(params["ledger_path"] or default_ledger_path())
    scope = "%s|org=%s" % (client.base_url, params["org_id"] or "default")
    if params["ledger"] == "grafana":
        # Annotations are per Grafana and org already; the file's lock and copy of records need the scope.
        return GrafanaLedger(client, file_ledger, local_scope=scope), ""
    return file_ledger, scope


def would_send_message(delivery, report, recipients):
    """Check mode's message for a delivery that would be sent."""
    name = " (%s)" % report.get("name") if report and report.get("name") else ""
    return "Check mode: report %s%s would be sent to %s." % (
        delivery.report_id, name, ", ".join(recipients) or "its saved recipients")


def sent_message(answer):
    """Grafana's message for a send, or the collection's."""
    return answer.get("message", "Report was sent") if isinstance(answer, dict) else "Report was sent"


def unless_denied(read, attempt, reading, warn):
    """read()'s answer, or None with a warning when Grafana denies it (403): a send needs reports:send only, and
    the reading (`attempt`, e.g. "list the reports to check them") only checks."""
    try:
        return read()
    except GrafanaError as exc:
        if exc.status != 403:
            raise
        warn("Could not %s (%s); sending needs reports:send, %s needs reports:read."
             % (attempt, exc.grafana_message or "HTTP 403", reading))
        return None


def deliver(client, ledger, scope, delivery, retries, check_mode, report=None, warn=None, history=None,  # pylint: disable=too-many-locals
            resend_uncertain=False):
    """Carry out one resolved delivery: plan (skip, check or send), then send through the ledger.

    `report` is the report as Grafana returned it, when the caller read it (for the saved
    recipients and a name in messages). Never raises for Grafana or ledger failures: the
    result's `outcome` says `failed` with one sentence, and whether Grafana may have acted anyway.
    A delivery without delivery_key or min_interval goes through the NullLedger, which never skips.
    With a `history` (_history.History), every outcome but check mode's gets its record; the
    Grafana ledger's record of a send is that record, so a send recorded there gets no other.

    A send that may have reached Grafana (a timeout, a dropped connection, a proxy's 5xx) fails, and the ledger remembers
    it as uncertain: its outcome record says `uncertain`, and later runs skip the delivery (held, with a warning) as if
    it had been sent, unless `resend_uncertain`.
    """
    started = time.time()
    recipients = delivery.recipients
    if recipients is None:
        recipients = split_recipients([report.get("recipients") or ""]) if report else []
    result = dict(name=delivery.name, report=delivery.report, report_id=delivery.report_id, recipients=recipients,
                  recipients_source="report" if delivery.recipients is None else "emails",
                  outcome="failed", sent=False, changed=False, attempts=0)
    if not delivery.uses_ledger:
        ledger = NullLedger()
    ledger_id = delivery_id(delivery.report_id, delivery.recipients, delivery.delivery_key, scope)
    outcome_in_ledger = history is not None and ledger.records_outcomes
    report_name = delivery.report or (report or {}).get("name")
    recorded, reservation = False, None
    try:
        if check_mode:
            reservation = ledger.look(ledger_id, delivery.delivery_key, delivery.min_interval, resend_uncertain)
            reason = reservation.skip_reason
            outcome, message = ("skipped", reason) if reason else ("checked", would_send_message(delivery, report, recipients))
        else:
            ledger.prepare()
            with ledger.reserve(ledger_id, started + client.timeout, delivery.delivery_key, delivery.min_interval,
                                retries, resend_uncertain) as reservation:
                reason = reservation.skip_reason
                if reason:
                    outcome, message = "skipped", reason
                else:
                    outcome, message = _send(client, delivery, retries, reservation, result,
                                             (history, report_name, started) if outcome_in_ledger else None)
                if outcome == "sent":
                    recorded = _record_send(reservation, delivery, report_name, history if outcome_in_ledger else None,
                                            result, message, started, warn)
                # With the Grafana ledger and history, its record of the uncertain send is the outcome record.
                recorded = recorded or (reservation.uncertain and outcome_in_ledger)
        if outcome == "skipped":
            _known(result, reservation)
            if reservation.held and warn:
                warn("%sreport %s was not sent: %s" % (
                    "Delivery '%s': " % delivery.name if delivery.name else "", delivery.report_id, reason))
    except GrafanaError as exc:
        outcome, message = "failed", exc.message
        result.update(exc.status_field("http_status"))
    except LedgerError as exc:
        outcome, message = "failed", str(exc)
    if outcome == "skipped":
        result["skipped_reason"], message = message, "Not sent: %s" % message
    result.update(outcome=outcome, message=message, elapsed=round(time.time() - started, 3),
                  changed=outcome in ("sent", "checked"))
    # Check mode writes nothing: not its skips or failures either.
    if history is not None and not check_mode and not recorded:
        uncertain = outcome == "failed" and reservation is not None and reservation.uncertain
        history.write(history.fields(dict(result, outcome=UNCERTAIN) if uncertain else result, delivery, report_name),
                      delivery, started, time.time())
    return result


def _known(result, reservation):
    """What the ledger knew of a delivery it skipped, for its outcome record: when it was last sent (and when a send of
    it last may have been), in UTC."""
    for name in ("last_sent", "last_uncertain"):
        moment = getattr(reservation, name, None)
        if moment is not None:
            result[name] = utc_iso(moment)


def _send(client, delivery, retries, reservation, result, outcome_record=None):  # pylint: disable=too-many-arguments
    """POST the delivery: ("sent", Grafana's message), or ("failed", the error's message followed by what the ledger
    did with the delivery: released, or remembered as uncertain when Grafana may still have sent it).

    `outcome_record` (history, report name, start) when the ledger's record of an uncertain send is the outcome record.
    """
    try:
        answer, result["attempts"] = client.send_report(delivery.report_id, delivery.recipients, retries)
    except GrafanaError as exc:
        result.update(attempts=exc.attempts, **exc.status_field("http_status"))
        details = dict(report_id=delivery.report_id, delivery_key=delivery.delivery_key, message=exc.message)
        if exc.may_have_acted and outcome_record is not None:
            history, report_name, started = outcome_record
            details = history.fields(dict(result, outcome=UNCERTAIN, message=exc.message,
                                          elapsed=round(time.time() - started, 3)), delivery, report_name)
        return "failed", " ".join(filter(None, (exc.message, reservation.failed(exc.may_have_acted, details))))
    result.update(sent=True, http_status=200)
    return "sent", sent_message(answer)


def _record_send(reservation, delivery, report_name, history, result, message, started, warn):  # pylint: disable=too-many-arguments
    """Record a send in the ledger; True when that record is the outcome record: with a `history` given only when the
    ledger is Grafana's, whose record of a send is an annotation.

    The report went out whatever happens here: a ledger that cannot record it is a warning, as the next run may not
    know it.
    """
    details = dict(report_id=delivery.report_id, delivery_key=delivery.delivery_key)
    if history is not None:
        result.update(outcome="sent", message=message, elapsed=round(time.time() - started, 3))
        details = history.fields(result, delivery, report_name)
    try:
        reservation.sent(details)
    except (LedgerError, GrafanaError) as exc:
        if warn:
            warn("%sreport %s was sent, but the ledger could not record it, so a re-run may send it again: %s"
                 % ("Delivery '%s': " % delivery.name if delivery.name else "", delivery.report_id,
                    getattr(exc, "message", exc)))
        return False
    return history is not None
