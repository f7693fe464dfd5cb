# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: the logic of the role report_delivery, which calls these filters.
# Not a public API, may change without notice.

"""Filters of the role report_delivery: which deliveries an environment sends, the summary of a run,
the AWX statistics, and what the `schedule` entry point writes (hosts, inventory, timers, cron lines)."""

from __future__ import annotations

import random
import re

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.reportops.grafana.plugins.module_utils._module import (
    CONNECTION_MUTUALLY_EXCLUSIVE,
    InputError,
    checked_connection,
    connection_argument_spec,
)
from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import OVERDUE
from ansible_collections.reportops.grafana.plugins.module_utils._history import delivery_identity
from ansible_collections.reportops.grafana.plugins.module_utils._cron import parse_cron
from ansible_collections.reportops.grafana.plugins.plugin_utils._role_deliveries import (
    checked_role_deliveries,
    present,
    raise_problems,
    selected_deliveries,
)

# The outcomes of a grafana_report_deliver run's deliveries, in the order the summary counts them.
RUN_OUTCOMES = ("sent", "checked", "skipped", "failed")
# Each connection option of the modules is the role variable report_delivery_<option>, in module_defaults
# (vars/main.yml, checked against the spec by a unit test) and in the written inventory (below).
ROLE_PREFIX = "report_delivery_"
CONNECTION_VARIABLES = tuple(ROLE_PREFIX + option for option in connection_argument_spec())
# The variables of an environment that its scheduled runs need, copied to the written inventory.
INVENTORY_VARIABLES = CONNECTION_VARIABLES + (
    "report_delivery_concurrency", "report_delivery_ledger",
    "report_delivery_ledger_path", "report_delivery_retries",
    "report_delivery_render_retries", "report_delivery_render_backoff", "report_delivery_history",
    "report_delivery_history_recipients",
    # The archive (issue 19): a scheduled run keeps its reports where a run by hand would.
    "report_delivery_archive_dir", "report_delivery_archive_keep",
)
# Unquoted in a unit file, a cron line and a shell command, these characters are safe.
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_./+,:@=-]+$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_?KEY", re.IGNORECASE)
_UNSAFE_VALUE = re.compile(r"[\"\\%$\n]")


# -- Entry point main: plan each environment, then read every environment's result once ------------------------

def report_delivery_plan(deliveries, host, group_names=(), only=None, connection=None, options=None, archive=False):
    """What one environment sends in this run and how: {together, alone, archive, environment, error}.

    `environment` has its name and the checked deliveries that apply to it; `connection` is given for an environment
    sent together with the others on this controller, and its `environment` then also holds that connection and the
    run `options`, as grafana_report_fleet's environments take them. Never raises: an environment whose deliveries
    are wrong gets `error` (and neither `together` nor `alone`), and fails alone with that message."""
    try:
        planned = [delivery for options_, delivery in selected_deliveries(deliveries, [host] + list(group_names or []), only)]
    except AnsibleFilterError as exc:
        return dict(together=False, alone=False, archive=False, environment=dict(name=host), error=str(exc))
    environment = dict(name=host, deliveries=planned)
    if connection is not None:
        environment.update(connection, **(options or {}))
    return dict(together=connection is not None, alone=connection is None, archive=bool(archive), environment=environment,
                error="")


def _recipients_text(record):
    """To whom a delivery goes, as check mode's summary says it: the addresses, and whether given or saved."""
    recipients = ", ".join(record.get("recipients") or [])
    if record.get("recipients_source") == "report":
        return "its saved recipients (%s)" % (recipients or "none readable")
    return recipients


def _checked_line(host, record):
    """What check mode says one delivery would do: which report, to whom."""
    report = "'%s' (id %s)" % (record["report"], record.get("report_id")) if record.get("report") else "id %s" % record.get("report_id")
    return "%s %s: would send report %s to %s" % (host, record.get("name"), report, _recipients_text(record))


def _run_lines(host, run):
    """The summary lines of an environment from its result: one with its counts and every failure's reason, then
    in check mode one per delivery that would be sent (which report, to whom)."""
    if run is None:
        return ["%s: FAILED before sending (invalid variables or an earlier task, see above; the task that plans an "
                "environment on this controller hides its error, since it holds the connection: run with "
                "-e report_delivery_fleet=false to see it)" % host]
    records = run.get("deliveries") or []
    counts = ["%d %s" % (count, outcome) for outcome, count in
              ((outcome, sum(1 for record in records if record.get("outcome") == outcome)) for outcome in RUN_OUTCOMES) if count]
    error = run_error(run)
    line = "%s: %s" % (host, ", ".join(counts) if counts else "nothing sent" if error else "nothing to deliver")
    line += "".join(" | %s FAILED: %s" % (record.get("name"), record.get("message"))
                    for record in records if record.get("outcome") == "failed")
    if error and not records:
        line += " | FAILED: %s" % error
    return [line] + [_checked_line(host, record) for record in records if record.get("outcome") == "checked"]


def run_error(run):
    """Why a run failed as a whole (no delivery records), or ''."""
    if not run.get("failed"):
        return ""
    return str(run.get("msg") or "the delivery task failed")


def failure_pointer(host, run):
    """The one line that fails an environment's host: what failed, never why (the summary says why, once)."""
    failed = [str(record.get("name")) for record in (run or {}).get("deliveries") or [] if record.get("outcome") == "failed"]
    if failed:
        return "%s: %d deliver%s failed (%s); the summary says why." % (
            host, len(failed), "y" if len(failed) == 1 else "ies", ", ".join(failed))
    if (run or {}).get("refused"):
        return "%s: its deliveries are wrong, so nothing was sent; the summary says why." % host
    return "%s: nothing was sent; the summary says why." % host


def _run_of(host, variables, sent_together):
    """An environment's result, or None if it never ran: why its deliveries were refused, its part of the run of the
    environments sent together (`sent_together`, this batch's, given once: Ansible templates hostvars anew at each
    access; an environment of an earlier batch reads its own), or its own run's."""
    plan = variables.get("_report_delivery_planned")
    if not plan:
        return None
    if plan.get("error"):
        return dict(failed=True, changed=False, msg=plan["error"], refused=True)
    if plan.get("alone"):
        own = variables.get("_report_delivery_sent_alone")
        # Registered with failed_when: false (the environment's own task fails it, in one line), so `failed` is gone:
        # grafana_report_deliver returns `msg` only when it fails.
        return None if own is None else dict(own, failed=bool(own.get("failed") or own.get("msg")))
    together = sent_together if _in_run(sent_together, host) else variables.get("_report_delivery_sent_together")
    for result in (together or {}).get("environments") or []:
        if result.get("name") == host:
            return result
    # The run failed as a whole (its options were wrong, or it did not finish): each of its environments fails.
    return dict(failed=True, changed=False, msg=(together or {}).get("msg") or "the run of the environments on this controller did not finish")


def _in_run(sent_together, host):
    return any(result.get("name") == host for result in (sent_together or {}).get("environments") or [])


def _stats_record(record):
    """A delivery record for AWX/AAP, with `status` as a deprecated copy of `outcome`: workflows written for 0.1.0
    read `status`, and a key that disappears would turn their conditions silently false (removed in 1.0.0)."""
    return dict(record, status=record.get("outcome"))


def report_delivery_results(hosts, hostvars, sent_together=None):
    """Every environment's result in a run of entry point main, read once: `runs` (host: its result, or None if it
    never ran), `outcomes` (host: changed, failed and the one line that fails it), the summary's `lines` and the AWX
    statistics `stats` (no connection value in any)."""
    runs = dict((host, _run_of(host, hostvars[host], sent_together)) for host in hosts)
    outcomes, lines, stats = {}, [], {}
    for host, run in runs.items():
        together = bool((hostvars[host].get("_report_delivery_planned") or {}).get("together"))
        failed = run is None or bool(run.get("failed"))
        # An environment sent on its own shows its change on its own task.
        outcomes[host] = dict(changed=together and bool((run or {}).get("changed")), failed=failed,
                              msg=failure_pointer(host, run) if failed else "")
        lines.extend(_run_lines(host, run))
        stats[host] = {"deliveries": [_stats_record(record) for record in (run or {}).get("deliveries") or []],
                       "error": run_error(run) if run is not None else "did not run"}
    return dict(runs=runs, outcomes=outcomes, lines=lines, stats=stats)


def report_delivery_hosts(names, groups, hostvars=None):
    """The inventory hosts named in report_delivery_environment_hosts, groups expanded, in order; with `hostvars`,
    their connection variables checked as the modules would (connection_problems)."""
    hosts, unknown = [], []
    all_hosts = set(groups.get("all", []))
    for name in names or []:
        members = [name] if name in all_hosts else list(groups.get(name, [])) if name in groups else None
        if members is None:
            unknown.append(name)
        hosts.extend(member for member in members or [] if member not in hosts)
    if unknown:
        raise AnsibleFilterError("Invalid report_delivery_environment_hosts: not in the inventory: %s." % ", ".join(unknown))
    if not hosts:
        raise AnsibleFilterError("Invalid report_delivery_environment_hosts: it names no inventory host.")
    if hostvars is not None:
        raise_problems([problem for host in hosts for problem in connection_problems(host, hostvars[host])], "connection variables")
    return hosts


def report_delivery_inventory(hosts, hostvars, python_interpreter=""):
    """The inventory of the scheduled runs: each environment host with its connection variables and groups.

    The interpreter is, unless set, the Python that runs the scheduled ansible-playbook, resolved when it runs:
    interpreter discovery may pick a broken python3 from PATH.
    """
    inventory_hosts, children = {}, {}
    for host in hosts:
        variables = hostvars[host]
        host_vars = {"ansible_connection": "local",
                     "ansible_python_interpreter": python_interpreter or "{{ ansible_playbook_python }}"}
        for name in INVENTORY_VARIABLES:
            value = variables.get(name)
            if value is not None:
                # str() decrypts a vaulted value: the file is the credential store of the scheduled runs (0600).
                host_vars[name] = value if isinstance(value, (bool, int, float)) else str(value)
        inventory_hosts[host] = host_vars
        for group in variables.get("group_names") or []:
            if group not in ("all", "ungrouped"):
                children.setdefault(group, {"hosts": {}})["hosts"][host] = None
    inventory = {"hosts": inventory_hosts}
    if children:
        inventory["children"] = children
    return {"all": inventory}


def _as_module_value(value):
    """A variable's value as the module would get it: str() decrypts a vaulted value, which the validator refuses."""
    return value if isinstance(value, (bool, int, float, str, list, dict)) else str(value)


def connection_problems(host, variables):
    """What the modules would refuse in an environment's connection variables, checked when a schedule is
    installed: Ansible's ArgumentSpecValidator with the modules' connection spec, then the client's value checks.

    A variable left unset is not checked (the scheduled run may take it from a GRAFANA_* environment variable), so
    the spec's required options and environment fallbacks are left out here; the module applies them when it runs.
    """
    spec = dict((option, dict((key, value) for key, value in settings.items() if key not in ("required", "fallback")))
                for option, settings in connection_argument_spec().items())
    given = dict((option, _as_module_value(variables[ROLE_PREFIX + option])) for option in spec
                 if variables.get(ROLE_PREFIX + option) not in (None, ""))
    result = ArgumentSpecValidator(spec, mutually_exclusive=CONNECTION_MUTUALLY_EXCLUSIVE).validate(given)
    # The validator's messages name the module's options; the user set the role's variables.
    problems = ["%s: %s" % (host, error) for error in result.error_messages]
    if not problems:
        try:
            checked_connection(dict((option, result.validated_parameters.get(option)) for option in given))
        except InputError as exc:
            problems.append("%s: %s%s" % (host, ROLE_PREFIX, exc.message))
    return problems


def _settings_problems(settings):
    problems = []
    for name in ("report_delivery_schedule_dir", "report_delivery_systemd_dir", "report_delivery_cron_file",
                 "report_delivery_ansible_playbook", "report_delivery_user", "report_delivery_unit_prefix"):
        if not _SAFE_WORD.match(str(settings.get(name) or "")):
            problems.append("%s may hold only letters, digits and _ . / + , : @ = - (no spaces, quotes, %% or $), got %r."
                            % (name, settings.get(name)))
    if settings.get("report_delivery_scheduler") == "cron" and "." in str(settings.get("report_delivery_cron_file", "")).rsplit("/", 1)[-1]:
        problems.append("report_delivery_cron_file: cron ignores files in /etc/cron.d whose name has a dot.")
    if int(settings.get("report_delivery_randomized_delay") or 0) < 0:
        problems.append("report_delivery_randomized_delay must not be negative.")
    for name, value in sorted(schedule_env(settings).items()):
        if not _VARIABLE_NAME.match(name) or _SECRET_NAME.search(name):
            problems.append("report_delivery_schedule_env: %s is not allowed (a variable name, and no secret: unit and "
                            "cron files are readable)." % name)
        elif _UNSAFE_VALUE.search(str(value)):
            problems.append("report_delivery_schedule_env: the value of %s must not hold quotes, backslashes, %% or $." % name)
    return problems


def schedule_env(settings):
    """The environment variables of the scheduled runs: report_delivery_schedule_env, or the deprecated
    report_delivery_environment ("environment" is an inventory host everywhere else in the role), with a warning."""
    if isinstance(settings.get("report_delivery_environment"), dict) and settings["report_delivery_environment"]:
        Display().deprecated("report_delivery_environment is renamed report_delivery_schedule_env: an environment is an"
                             " inventory host everywhere else in the role.", version="1.0.0",
                             collection_name="reportops.grafana")
        return dict(settings["report_delivery_environment"])
    return dict(settings.get("report_delivery_schedule_env") or {})


def report_delivery_jobs(deliveries, settings):
    """One job per present delivery with a schedule: what its timer or cron line runs, and when.

    The deliveries are checked by the code that sends them, so a timer cannot be installed that would
    fail at its hour; the schedule settings are checked too, all before anything is written.
    """
    problems = []
    scheduled = present(checked_role_deliveries(deliveries, problems))
    settings_problems = _settings_problems(settings)
    if settings_problems:
        message = "Invalid schedule settings: " + " ".join(settings_problems)
        if problems:
            message += " Invalid report_delivery_deliveries: " + " ".join(problems)
        raise AnsibleFilterError(message)
    raise_problems(problems)
    schedule_dir = settings["report_delivery_schedule_dir"]
    delay = int(settings.get("report_delivery_randomized_delay") or 0)
    jobs = []
    for options, delivery in scheduled:
        if not options.get("schedule"):
            continue
        cron = parse_cron(options["schedule"])
        name = delivery["name"]
        vars_file = "%s/deliveries/%s.yml" % (schedule_dir, name)
        schedule = " ".join(cron.expression.split())
        jobs.append(dict(
            name=name,
            schedule=schedule,
            cron=cron.normalized,
            calendars=cron.oncalendar(),
            # Cron has no randomized delay: a fixed one per delivery, the same on every run.
            cron_delay=random.Random(name).randint(0, delay) if delay else 0,
            unit="%s-%s" % (settings["report_delivery_unit_prefix"], name),
            unit_files=["%s/%s-%s.%s" % (settings["report_delivery_systemd_dir"], settings["report_delivery_unit_prefix"],
                                         name, suffix) for suffix in ("service", "timer")],
            vars_file=vars_file,
            command="%s -i %s/inventory.yml -e @%s reportops.grafana.deliver"
                    % (settings["report_delivery_ansible_playbook"], schedule_dir, vars_file),
            variables={"report_delivery_only": [name], "report_delivery_deliveries": [dict(delivery, schedule=schedule)]},
        ))
    return jobs


# -- Entry point history: what the environments' outcome records say --------------------------------

def _expected_names(variables, host):
    """Names of the deliveries that apply to this environment, or [] when its deliveries are invalid."""
    try:
        return [delivery["name"] for options, delivery in selected_deliveries(
            variables.get("report_delivery_deliveries"), [host] + list(variables.get("group_names") or []),
            variables.get("report_delivery_only"))]
    except AnsibleFilterError:
        return []


def _history_detail(record):
    """What a history line says after an outcome's time: a skip when the delivery was last sent (the ledger knows),
    or why it was held; an overdue record the periods missed; any other outcome its attempts."""
    if record.get("outcome") == OVERDUE:
        return "(%s period%s missed)" % (record.get("missed"), "" if record.get("missed") == 1 else "s")
    if record.get("outcome") == "skipped":
        if record.get("last_uncertain"):
            return "(held: its send at %s may have gone out)" % record["last_uncertain"]
        return "(last sent at %s)" % record["last_sent"] if record.get("last_sent") else "(by the ledger)"
    attempts = record.get("attempts")
    return "(%s attempt%s)" % (attempts, "" if attempts == 1 else "s")


def _unrecovered_text(last, oldest):
    """Why a delivery still counts against fail_on_failed: its last outcome, or one not followed by a confirmed send."""
    if last.get("outcome") in ("failed", "uncertain"):
        return " | %s: %s" % ("FAILED" if last["outcome"] == "failed" else "UNCERTAIN, may have gone out", last.get("message"))
    if oldest.get("outcome") == "uncertain":
        return " | UNCERTAIN at %s, not confirmed sent since" % oldest.get("time")
    return " | FAILED earlier, not sent since"


def _history_of(host, variables):
    """(lines, stats) of one environment from its registered grafana_report_history result."""
    run = variables.get("_report_delivery_history")
    if run is None or run.get("records") is None:
        # Registered with failed_when: false: a result without records failed, and says why in `msg`.
        error = str((run or {}).get("msg") or "did not run")
        return ["%s: FAILED to read the history: %s" % (host, error)], {"error": error, "deliveries": {}, "failed": []}
    records = run["records"]  # newest first
    by_delivery = {}
    for record in records:
        by_delivery.setdefault(delivery_identity(record), []).append(record)
    names = _expected_names(variables, host)
    names += sorted(name for name in by_delivery if name not in names)
    # Deliveries with every or schedule and no confirmed send within their period plus grace (module_utils/_overdue).
    late = dict((entry.get("delivery"), entry) for entry in run.get("overdue") or [])
    names += sorted(name for name in late if name not in names)
    # grafana_report_history's "failed, then recovered" rule decides which failures still count.
    unrecovered = set(record.get("id") for record in run.get("unrecovered") or [])
    lines, deliveries, failed = [], {}, []
    for name in names:
        found = by_delivery.get(name, [])
        failures = sum(1 for record in found if record.get("outcome") == "failed")
        uncertain = sum(1 for record in found if record.get("outcome") == "uncertain")
        if not found:
            line = "%s %s: no record in the window" % (host, name)
            deliveries[name] = dict(last=None, time=None, failures=0, uncertain=0)
            if name in late:
                failed.append("%s %s" % (host, name))
                line += " | OVERDUE: %s" % late[name]["message"]
                deliveries[name].update(overdue=late[name]["overdue_since"], message=late[name]["message"])
            lines.append(line)
            continue
        last = found[0]
        line = "%s %s: %s at %s %s, %d failed%s in the window" % (
            host, name, last.get("outcome"), last.get("time"), _history_detail(last), failures,
            ", %d uncertain" % uncertain if uncertain else "")
        still = [record for record in found if record.get("id") in unrecovered]
        if still or name in late:
            failed.append("%s %s" % (host, name))
        if still:
            line += _unrecovered_text(last, still[0])
        if name in late:
            line += " | OVERDUE: %s" % late[name]["message"]
        lines.append(line)
        deliveries[name] = dict(last=last.get("outcome"), time=last.get("time"), failures=failures, uncertain=uncertain,
                                message=last.get("message"), last_sent=last.get("last_sent"))
        if name in late:
            deliveries[name]["overdue"] = late[name]["overdue_since"]
    return lines, {"error": "", "deliveries": deliveries, "failed": failed, "counts": run.get("counts"),
                   "window": run.get("window"), "overdue": sorted(late)}


def report_delivery_history(hosts, hostvars, fail_on_failed=False):
    """The history entry point's report: one line per environment and delivery, then one summary line;
    the AWX statistics (no connection value), the failed deliveries ("<environment> <delivery>") and `failures`:
    {environment: the one line that fails its host}, for an environment whose history could not be read, and with
    `fail_on_failed` for one with a delivery failed and not sent since, or overdue (grafana_report_history's
    `overdue`, from the deliveries' every or schedule)."""
    lines, stats, failed, errors, failures = [], {}, [], [], {}
    for host in hosts:
        host_lines, host_stats = _history_of(host, hostvars[host])
        lines.extend(host_lines)
        stats[host] = host_stats
        failed.extend(host_stats["failed"])
        if host_stats["error"]:
            errors.append(host)
            failures[host] = "%s: its history could not be read; the lines above say why." % host
        elif host_stats["failed"] and fail_on_failed:
            failures[host] = "%s: %d deliver%s failed%s and not sent since (%s); the lines above say why." % (
                host, len(host_stats["failed"]), "y" if len(host_stats["failed"]) == 1 else "ies",
                " or overdue," if host_stats.get("overdue") else "",
                ", ".join(entry.split(" ", 1)[1] for entry in host_stats["failed"]))
    deliveries = sum(len(host_stats["deliveries"]) for host_stats in stats.values())
    summary = "%d environment%s, %d deliveries: %s" % (
        len(hosts), "" if len(hosts) == 1 else "s", deliveries,
        "%d failed (%s)" % (len(failed), ", ".join(failed)) if failed else "none failed")
    if errors:
        summary += "; history not read in %s" % ", ".join(errors)
    return dict(lines=lines + [summary], stats=stats, failed=failed + ["%s (history not read)" % host for host in errors],
                failures=failures)


# -- Entry point preflight: what the environments' checks say ---------------------------------------

def report_delivery_preflight(hosts, hostvars):
    """The preflight entry point's report: one line per environment and check that is not ok, then one summary line;
    the AWX statistics (Grafana's facts and the checks, no connection value) and the environments that failed."""
    lines, stats, failed, warned, failures = [], {}, [], [], {}
    for host in hosts:
        run = hostvars[host].get("_report_delivery_preflight")
        if run is None or run.get("checks") is None:
            # Not checked because its deliveries are wrong, or registered with failed_when: false: a result without
            # checks failed, and says why in `msg`.
            error = (hostvars[host].get("_report_delivery_planned") or {}).get("error") or str((run or {}).get("msg") or "did not run")
            lines.append("%s: FAILED before its checks: %s" % (host, error))
            stats[host] = {"error": error, "grafana": {}, "checks": []}
            failed.append(host)
            failures[host] = "%s: its checks could not run; the findings above say why." % host
            continue
        checks = run["checks"]
        lines.extend("%s %s: %s: %s" % (host, item["name"], item["status"].upper(), item["message"])
                     for item in checks if item["status"] not in ("ok", "skipped"))
        stats[host] = {"error": "", "grafana": run.get("grafana") or {}, "checks": checks}
        failing = [item["name"] for item in checks if item["status"] == "fail"]
        if failing:
            failed.append(host)
            failures[host] = "%s: %d check%s failed (%s); the findings above say why." % (
                host, len(failing), "" if len(failing) == 1 else "s", ", ".join(failing))
        elif any(item["status"] == "warn" for item in checks):
            warned.append(host)
    ready = [host for host in hosts if host not in failed]
    summary = "%d environment%s: %s ready for a first run" % (len(hosts), "" if len(hosts) == 1 else "s", len(ready))
    if warned:
        summary += " (with warnings: %s)" % ", ".join(warned)
    if failed:
        summary += "; fix %s first" % ", ".join(failed)
    return dict(lines=lines + [summary], stats=stats, failed=failed, failures=failures)


class FilterModule(object):
    """Internal filters of the role report_delivery."""

    def filters(self):
        return {
            # Entry point main: each environment's plan, then every environment's result.
            "_report_delivery_plan": report_delivery_plan,
            "_report_delivery_results": report_delivery_results,
            # Entry point schedule.
            "_report_delivery_hosts": report_delivery_hosts,
            "_report_delivery_inventory": report_delivery_inventory,
            "_report_delivery_jobs": report_delivery_jobs,
            # Entry points history and preflight.
            "_report_delivery_history": report_delivery_history,
            "_report_delivery_preflight": report_delivery_preflight,
        }
