# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Deliveries to one or several Grafanas in one module run: grafana_report_deliver sends one environment's,
grafana_report_fleet those of every environment of a play. Each environment is checked and planned on its own (one
failing never stops another), then all are sent by a bounded pool of threads: at most `concurrency` sends at once
per Grafana and `total` in all, so that N environments cost one module start, not N."""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.common.validation import (
    check_mutually_exclusive,
    check_required_one_of,
    check_required_together,
)

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient, GrafanaError
from ansible_collections.reportops.grafana.plugins.module_utils._module import (
    CONNECTION_MUTUALLY_EXCLUSIVE,
    CONNECTION_REQUIRED_ONE_OF,
    CONNECTION_REQUIRED_TOGETHER,
    RETRY_ARGUMENT_SPEC,
    ModuleView,
    connection_argument_spec,
)
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import (
    DELIVERIES_SUBOPTIONS,
    LEDGER_ARGUMENT_SPEC,
    DeliveryError,
    checked_name,
    checked_retry_options,
    deliver,
    delivery_ledger,
    module_deliveries,
    planned,
    unless_denied,
)
from ansible_collections.reportops.grafana.plugins.module_utils._history import HISTORY_ARGUMENT_SPEC, module_history

DELIVERY_RESULT_FIELDS = ("name", "report", "report_id", "outcome", "message", "recipients", "recipients_source", "attempts",
                          "elapsed")


def run_argument_spec():
    """The options of a run of deliveries other than its connection and deliveries (grafana_report_deliver's and
    grafana_report_fleet's): how many at once, the ledger, retries and outcome records."""
    return dict(concurrency=dict(type="int", default=4), **dict(LEDGER_ARGUMENT_SPEC, **dict(RETRY_ARGUMENT_SPEC, **HISTORY_ARGUMENT_SPEC)))


def _without(settings, *keys):
    return dict((key, value) for key, value in settings.items() if key not in keys)


def environment_options():
    """Suboptions of grafana_report_fleet's environments: a name, the deliveries, the connection options, and the run
    options of this environment (unset: the module's). `url` is not required here and the connection's rules are
    checked per environment (checked_environment), so that one environment's missing or conflicting option fails that
    environment, not the run."""
    options = dict((option, _without(settings, "required")) for option, settings in connection_argument_spec().items())
    options.update((option, _without(settings, "default")) for option, settings in run_argument_spec().items())
    options.update(name=dict(type="str", required=True),
                   deliveries=dict(type="list", elements="dict", required=True, options=DELIVERIES_SUBOPTIONS))
    return options


def checked_environment(params):
    """The connection rules AnsibleModule applies to the other modules, for one environment; DeliveryError."""
    given = dict((option, value) for option, value in params.items() if value is not None)
    try:
        if not given.get("url"):
            raise TypeError("missing required arguments: url")
        check_mutually_exclusive(CONNECTION_MUTUALLY_EXCLUSIVE, given)
        check_required_one_of(CONNECTION_REQUIRED_ONE_OF, given)
        check_required_together(CONNECTION_REQUIRED_TOGETHER, given)
    except TypeError as exc:
        raise DeliveryError(str(exc))


def listed_reports(module, client, deliveries):
    """Reports by id (one listing), or None when no listing is needed or it was denied where it is optional."""
    needs_names = any(delivery.report is not None for delivery in deliveries)
    if not (needs_names or module.check_mode or any(delivery.recipients is None for delivery in deliveries)):
        return None
    if needs_names:
        return client.list_reports()
    return unless_denied(client.list_reports, "list the reports to check them", "listing", module.warn)


class EnvironmentRun:
    """One Grafana's deliveries in a run: prepare() checks and plans them (one listing resolves the names and proves
    the reports exist), run_lane() sends them, outcome() gives the module's result and failure."""

    def __init__(self, module, params, name=None):
        self.name = name
        # Warnings name the environment when the run has several.
        self.module = ModuleView(module, params, "%s: " % name if name else "")
        self.params = params
        self.failure = None
        self.elapsed = None
        self.started = None
        self.ended = None
        self.sending = None
        self.queue = deque()
        self.outcomes = []
        self.lanes = 0

    def prepare(self):
        params = self.params
        try:
            if self.name is not None:
                checked_environment(params)
            render_retries = checked_retry_options(params)
            if params["concurrency"] < 1:
                raise DeliveryError("concurrency must be at least 1, got %d." % params["concurrency"])
            deliveries = module_deliveries(params["deliveries"])
        except DeliveryError as exc:
            self.failure = str(exc)
            return
        self.started = time.time()
        try:
            client = GrafanaClient(self.module, render_retries)
            ledger, scope = delivery_ledger(client, params, deliveries)
            plan = planned(deliveries, listed_reports(self.module, client, deliveries))
        except (DeliveryError, GrafanaError) as exc:
            self.elapsed = round(time.time() - self.started, 3)
            self.failure = "Nothing was sent: %s" % getattr(exc, "message", exc)
            return
        history = module_history(client, params, self.module.warn)
        self.sending = lambda delivery, report: deliver(client, ledger, scope, delivery, params["retries"],
                                                        self.module.check_mode, report, self.module.warn, history,
                                                        params["resend_uncertain"])
        self.queue = deque(enumerate(plan))
        self.outcomes = [None] * len(plan)
        self.lanes = min(params["concurrency"], len(plan))

    def run_lane(self):
        """Send this environment's deliveries one after the other until none is left; lanes of one environment
        share its queue, so `lanes` of them make its concurrency."""
        while True:
            try:
                index, (delivery, report) = self.queue.popleft()
            except IndexError:
                return
            try:
                self.outcomes[index] = self.sending(delivery, report)
            except Exception as exc:  # pylint: disable=broad-except  # a fault must not lose the other outcomes
                self.outcomes[index] = dict(name=delivery.name, report=delivery.report, report_id=delivery.report_id,
                                            outcome="failed", changed=False, attempts=0,
                                            message="Unexpected error, the report may have been sent: %s" % exc)
            self.ended = time.time()

    def outcome(self):
        """(the module's result, a failure's message or None), as grafana_report_deliver returns them."""
        if self.started is None:
            return {}, self.failure
        if self.failure:
            return dict(elapsed=self.elapsed), self.failure
        records = [dict((field, outcome.get(field)) for field in DELIVERY_RESULT_FIELDS) for outcome in self.outcomes]
        # Until this environment's last send ended, not the whole run's.
        result = dict(changed=any(outcome["changed"] for outcome in self.outcomes), deliveries=records,
                      elapsed=round((self.ended or time.time()) - self.started, 3))
        failed = [record for record in records if record["outcome"] == "failed"]
        if failed:
            return result, "%d of %d deliveries failed: %s" % (len(failed), len(records), " ".join(
                "%s: %s" % (record["name"], record["message"]) for record in failed))
        return result, None


def _prepared(run):
    try:
        run.prepare()
    except Exception as exc:  # pylint: disable=broad-except  # a fault in one environment must not end the others
        run.failure = "Nothing was sent: unexpected error: %s" % exc


def run_environments(runs, total):
    """Prepare every run, then send: each run's lanes, interleaved so that every environment gets its first lane
    before any gets a second, in a pool of at most `total` threads."""
    if runs:
        with ThreadPoolExecutor(max_workers=min(total, len(runs))) as pool:
            list(pool.map(_prepared, runs))
    lanes = [run for lane in range(max([run.lanes for run in runs] or [0])) for run in runs if run.lanes > lane]
    if lanes:
        with ThreadPoolExecutor(max_workers=min(total, len(lanes))) as pool:
            list(pool.map(EnvironmentRun.run_lane, lanes))


def fleet_runs(module):
    """An EnvironmentRun for each of grafana_report_fleet's environments, with the run's shared options; DeliveryError
    when the environments themselves are wrong (no request is made then)."""
    params = module.params
    if params["total_concurrency"] < 1:
        raise DeliveryError("total_concurrency must be at least 1, got %d." % params["total_concurrency"])
    names = [environment["name"] for environment in params["environments"]]
    for name in names:
        checked_name(name, "environments[].name")
    repeated = sorted(set(name for name in names if names.count(name) > 1))
    if repeated:
        raise DeliveryError("environments[].name must be unique; repeated: %s." % ", ".join(repeated))
    shared = dict((option, value) for option, value in params.items() if option not in ("environments", "total_concurrency"))
    # An environment's own run option wins; one it leaves unset is the module's.
    return [EnvironmentRun(module, dict(shared, **dict((option, value) for option, value in environment.items()
                                                       if value is not None or option not in shared)), environment["name"])
            for environment in params["environments"]]
