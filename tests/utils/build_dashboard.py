# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds the "Report deliveries" dashboard that the collection ships, with grafana-foundation-sdk.

    python tests/utils/build_dashboard.py           # writes roles/report_delivery/files/report-deliveries.json
    python tests/utils/build_dashboard.py --check   # fails when the shipped file is not what this builds

Test-side only (the SDK needs Python 3.11): the collection ships the JSON, and the unit test
tests/unit/plugins/module_utils/test_dashboard_json.py checks that the file is this build.

What the dashboard shows is described in docs/history.md, "The dashboard". The records are the
organization annotations that history: grafana writes (plugins/module_utils/_history.py): tagged
reportops.grafana, outcome:<sent|failed|skipped|uncertain|overdue>, report:<id>, delivery:<hash>, delivery-name:<name>
(an overdue record has no delivery:<hash>, and no report:<id> when its report could not be found).
"""

import json
import os
import sys

from grafana_foundation_sdk.builders import annotationslist, dashboard, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder, variants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos, VariableOption

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HERE, "..", "..", "roles", "report_delivery", "files", "report-deliveries.json")

UID = "reportops-report-deliveries"
# The tag on every record (_ledger.ANNOTATION_TAG); a variable whose "All" is this tag filters nothing.
RECORD_TAG = "reportops.grafana"
# Grafana's built-in data source, the one that reads annotations (public/app/plugins/datasource/grafana).
GRAFANA = DataSourceRef(type_val="datasource", uid="grafana")
# uncertain: a send that may have reached Grafana, which the ledger holds (issue 31); overdue: a delivery that did not go
# out on time, recorded by grafana_report_history's record_overdue (issue 34).
OUTCOMES = (("sent", "green"), ("failed", "red"), ("skipped", "yellow"), ("uncertain", "orange"), ("overdue", "purple"))
# Tags every query of the records uses: all of them must match (matchAny false).
FILTER_TAGS = [RECORD_TAG, "$outcome", "$report"]


class AnnotationsAsData(variants.Dataquery):
    """A panel query of the Grafana data source for annotations: the shape its annotation support gives a
    dashboard annotation query (prepareQuery: the query with refId and queryType "annotations")."""

    def __init__(self, tags):
        self.tags = tags

    def to_json(self):
        return {"refId": "A", "datasource": GRAFANA.to_json(), "queryType": "annotations",
                "target": {"type": "tags", "tags": list(self.tags), "matchAny": False, "limit": 1000}}


class Query(cogbuilder.Builder[AnnotationsAsData]):
    """A builder of AnnotationsAsData (the SDK's panels take builders of data queries)."""

    def __init__(self, tags):
        self.query = AnnotationsAsData(tags)

    def build(self):
        return self.query


def records_on_a_time_axis(outcome, color):
    """One annotation query per outcome, in its colour: every time panel marks the records at their time."""
    return (dashboard.AnnotationQuery()
            .name("Deliveries %s" % outcome)
            .datasource(GRAFANA)
            .enable(True)
            .icon_color(color)
            .target(dashboard.AnnotationTarget().type("tags").tags([RECORD_TAG, "outcome:%s" % outcome, "$report"])
                    .match_any(False).limit(1000)))


def build():
    """The dashboard model as the collection installs it (POST /api/dashboards/db's "dashboard")."""
    builder = (dashboard.Dashboard("Report deliveries")
               .uid(UID)
               .description("Outcome records of the report deliveries made by reportops.grafana (history: grafana), and "
                            "the overdue deliveries its history finds (record_overdue).")
               .tags([RECORD_TAG])
               .editable()
               .time("now-7d", "now")
               .timezone("browser")
               .with_variable(dashboard.CustomVariable("outcome")
                              .label("Outcome")
                              .description("The outcome of the records listed: sent, failed, skipped, uncertain or overdue.")
                              .values(", ".join("%s : outcome:%s" % (outcome, outcome) for outcome, dummy in OUTCOMES))
                              .include_all(True)
                              .all_value(RECORD_TAG)
                              .current(VariableOption(selected=True, text="All", value="$__all")))
               .with_variable(dashboard.TextBoxVariable("report")
                              .label("Report or delivery")
                              .description("A tag of the records to show: report:<id> for one report, delivery-name:<name> "
                                           "for one delivery; reportops.grafana for all.")
                              .default_value(RECORD_TAG)
                              .current(VariableOption(selected=True, text=RECORD_TAG, value=RECORD_TAG))))
    for outcome, color in OUTCOMES:
        builder = builder.annotation(records_on_a_time_axis(outcome, color))
    builder = builder.with_panel(
        timeseries.Panel()
        .title("Deliveries on a time axis")
        .description("Each record at the time of its delivery; the coloured marks are the outcomes (annotation queries).")
        .datasource(GRAFANA)
        .with_target(Query(FILTER_TAGS))
        .grid_pos(GridPos(h=8, w=24, x=0, y=0)))
    builder = builder.with_panel(
        annotationslist.Panel()
        .title("Delivery records")
        .description("The records of the time range, newest first, filtered by the variables outcome and report.")
        .only_from_this_dashboard(False)
        .only_in_time_range(True)
        .tags(FILTER_TAGS)
        .limit(100)
        .show_user(False)
        .show_time(True)
        .show_tags(True)
        .navigate_to_panel(False)
        .grid_pos(GridPos(h=16, w=24, x=0, y=8)))
    return without_nulls(json.loads(json.dumps(builder.build(), cls=JSONEncoder)))


def without_nulls(value):
    """The SDK writes unset panel options as null ("options": null); Grafana's own JSON leaves them out."""
    if isinstance(value, dict):
        return dict((key, without_nulls(item)) for key, item in value.items() if item is not None)
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def render():
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv):
    text = render()
    if argv[1:] == ["--check"]:
        with open(SHIPPED, encoding="utf-8") as shipped:
            if shipped.read() != text:
                sys.exit("%s is not what tests/utils/build_dashboard.py builds: run it and commit the file." % SHIPPED)
        return
    with open(SHIPPED, "w", encoding="utf-8") as shipped:
        shipped.write(text)


if __name__ == "__main__":
    main(sys.argv)
