# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the simulator lists, changes and cleans up annotations, as Grafana does.

Sources (grafana/grafana):
- pkg/services/annotations/annotationsimpl/annotations.go, RepositoryImpl.Find: since 11.3 (PR #93547)
  a count query without the access filter, then the dashboard search of the filter, then the filtered
  query with its limit set to that count; before 11.3 the filtered query alone.
- pkg/services/annotations/annotationsimpl/xorm_store.go: Get (ORDER BY epoch_end DESC, epoch DESC,
  no id), Add (the row, then synchronizeTags), Update (tags replaced when given),
  getAccessControlFilter ("missing permissions" without annotations:read), CleanAnnotations.
- pkg/api/annotations.go: PatchAnnotation and DeleteAnnotationByID find the annotation with
  findAnnotationByID (repo.Find through the caller's read filter: 500 on error, 404 when not found).
- pkg/services/annotations/annotationsimpl/cleanup.go: max_age and max_annotations_to_keep, all orgs.
"""

import threading
import time

import pytest

from test_simulator import annotate, assert_error, listed

WRITER_WITHOUT_READ = {"token": "sim-token-blind-writer", "name": "sim-blind-writer", "org_id": 1,
                       "permissions": ["annotations:create", "annotations:write", "annotations:delete"]}


def in_background(function):
    """Run `function` in a thread; return a callable that waits for it and returns its result."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=function()))
    thread.start()

    def wait():
        thread.join(timeout=30)
        return result["value"]
    return wait


def test_rows_added_during_the_dashboard_search_push_out_the_lowest_time_end(sim):
    # annotations.go Find: the count (3) is taken before the dashboard search; the filtered query
    # after it has LIMIT 3, so the row added meanwhile pushes out the one with the lowest timeEnd.
    sim.settings(annotations_search_seconds=2)
    first, second, third = (annotate(sim, tags=["cut"], time=end, timeEnd=end) for end in (1000, 2000, 3000))
    listing = in_background(lambda: listed(sim, tags="cut", limit=100))
    # Added once the listing has arrived (and counted) and well before its 2 s search ends, however loaded the machine.
    deadline = time.monotonic() + 5
    while not sim.control("GET", "stats")["by_route"].get("GET /api/annotations") and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    added = annotate(sim, tags=["cut"], time=5000, timeEnd=5000)
    assert [item["id"] for item in listing()] == [added, third, second]
    assert first not in [item["id"] for item in listed(sim, tags="cut")][:3]


def test_before_11_3_one_filtered_query_answers_at_once(sim):
    sim.settings(annotations_two_queries=False, annotations_search_seconds=2)
    ids = [annotate(sim, tags=["one"], time=end, timeEnd=end) for end in (1000, 2000, 3000)]
    started = time.monotonic()
    assert [item["id"] for item in listed(sim, tags="one")] == ids[::-1]
    assert time.monotonic() - started < 1.5  # no dashboard search before the answer


def test_no_match_answers_before_the_dashboard_search(sim):
    # Find returns early when the unfiltered query finds nothing.
    sim.settings(annotations_search_seconds=2)
    started = time.monotonic()
    assert listed(sim, tags="nothing") == []
    assert time.monotonic() - started < 1.5
    annotate(sim, tags=["something"])
    started = time.monotonic()
    assert len(listed(sim, tags="something")) == 1
    assert time.monotonic() - started >= 2


@pytest.mark.parametrize("two_queries", [True, False])
def test_rows_that_tie_come_in_no_defined_order(sim, two_queries):
    # xorm_store.go Get orders by epoch_end DESC, epoch DESC only: no id tie-break.
    sim.settings(annotations_two_queries=two_queries)
    ids = {annotate(sim, tags=["tie"], time=1000, timeEnd=2000) for dummy in range(3)}
    orders = {tuple(item["id"] for item in listed(sim, tags="tie")) for dummy in range(40)}
    assert all(set(order) == ids for order in orders) and len(orders) > 1


def test_tags_are_stored_after_the_row(sim):
    # xorm_store.go Add inserts the row (it has its id), then synchronizeTags inserts its tags: until
    # then no tag search finds it, while a listing without tags does. The answer comes after the tags.
    sim.settings(annotations_tag_seconds=1.0)
    posting = in_background(lambda: annotate(sim, tags=["late"], time=1000))
    deadline = time.monotonic() + 5
    while not listed(sim, type="annotation") and time.monotonic() < deadline:
        time.sleep(0.02)
    [row] = listed(sim, type="annotation")
    assert listed(sim, tags="late") == []
    assert posting() == row["id"]
    assert [item["id"] for item in listed(sim, tags="late")] == [row["id"]]


def test_patch_replaces_the_whole_tag_list(sim):
    # xorm_store.go Update: tags given -> DELETE FROM annotation_tag, then the new ones.
    claim = annotate(sim, tags=["reportops.grafana", "delivery:abc", "ledger:claim"])
    sim.api("PATCH", f"/api/annotations/{claim}", "sender",
            json={"tags": ["reportops.grafana", "delivery:abc", "outcome:sent", "report:3"]})
    assert listed(sim, tags="ledger:claim") == []
    assert [item["tags"] for item in listed(sim, tags=["delivery:abc", "outcome:sent"])] == [
        ["reportops.grafana", "delivery:abc", "outcome:sent", "report:3"]]
    # Without tags, PATCH leaves them.
    sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"text": "x"})
    assert [item["id"] for item in listed(sim, tags="report")] == [claim]


@pytest.mark.parametrize("two_queries, missing_status", [(True, 404), (False, 500)])
def test_patch_and_delete_without_any_read_permission(simulator, two_queries, missing_status):
    # findAnnotationByID -> Find: getAccessControlFilter fails without annotations:read, a 500. Since 11.3
    # the unfiltered count comes first, so an id that does not exist is a 404 before any filter.
    sim = simulator(config={"tokens": [WRITER_WITHOUT_READ, {"token": "sim-token-all", "permissions": [
        "annotations:read", "annotations:create", "annotations:write", "annotations:delete"]}],
        "annotations_two_queries": two_queries})
    claim = annotate(sim, token="all", tags=["t"])
    assert_error(sim.api("PATCH", f"/api/annotations/{claim}", "blind-writer", json={"text": "x"}), 500, "Failed to find annotation")
    assert_error(sim.api("DELETE", f"/api/annotations/{claim}", "blind-writer"), 500, "Failed to find annotation")
    assert_error(sim.api("DELETE", "/api/annotations/999", "blind-writer"), missing_status)
    assert [item["id"] for item in listed(sim, token="all", tags="t")] == [claim]


def test_patch_and_delete_look_up_through_find_and_wait_for_the_dashboard_search(sim):
    claim = annotate(sim, tags=["t"])
    sim.settings(annotations_search_seconds=0.5)
    started = time.monotonic()
    assert sim.api("PATCH", f"/api/annotations/{claim}", "sender", json={"text": "x"}).status_code == 200
    assert time.monotonic() - started >= 0.5
    # annotations:read scoped to dashboards cannot find an organisation annotation: 404.
    assert_error(sim.api("DELETE", f"/api/annotations/{claim}", "dashboard-reader"), 404, "Annotation not found")


def test_cleanup_by_count_counts_every_organisation(sim):
    # cleanup.go / CleanAnnotations: max_annotations_to_keep keeps the newest ids of all orgs together.
    ours = [annotate(sim, tags=["ledger"]) for dummy in range(2)]
    reporter = ("reporter", "sim-reporter-password")
    response = sim.api("POST", "/api/annotations", auth=reporter, headers={"X-Grafana-Org-Id": "2"},
                       json={"text": "org 2", "tags": ["other"]})
    assert response.status_code == 200
    sim.settings(annotations_max_count=2)
    assert [item["id"] for item in listed(sim, tags="ledger")] == [ours[1]]


def test_settings_are_checked(sim):
    for bad in ({"annotations_two_queries": "yes"}, {"annotations_search_seconds": -1}, {"annotations_tag_seconds": True}):
        response = sim.api("PATCH", "/_sim/settings", json=bad)
        assert response.status_code == 400
