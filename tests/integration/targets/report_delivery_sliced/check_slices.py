# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check what run_slices.py printed: python check_slices.py RESULT.json first|relaunch."""

import json
import sys

DELIVERIES = ("capacity", "weekly-slo")
# Weekly SLO (report 1) to the given address, Daily Capacity (report 2) to its saved recipients.
MAILS = ["1 sre@example.com", "2 capacity@example.com,ops@example.com"]


def fail(message):
    print("FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    with open(sys.argv[1], encoding="utf-8") as stream:
        result = json.load(stream)
    relaunch = sys.argv[2] == "relaunch"
    environments = sorted(result["sends"])
    slices = dict((name, hosts) for name, hosts in result["slices"].items() if name.startswith("slice-"))
    # The slices split the inventory as AAP does: disjoint, together every environment.
    covered = sorted(host for hosts in slices.values() for host in hosts)
    if covered != environments or len(slices) != 3:
        fail("the slices %s do not split %s" % (slices, environments))
    # Every environment's deliveries sent once, whatever ran at the same time or later.
    for env in environments:
        if result["sends"][env] != len(DELIVERIES) or sorted(result["mails"][env]) != MAILS:
            fail("%s: %d sends, mails %s; expected each delivery once" % (env, result["sends"][env], result["mails"][env]))
    statuses = {}
    for name, job in result["jobs"].items():
        if job["rc"] != 0 or job["status"] != "successful" or job["failed"]:
            fail("job %s: rc %s, %s, failed hosts %s" % (name, job["rc"], job["status"], job["failed"]))
        if job["hosts"] != sorted(result["slices"][name]):
            fail("job %s ran %s, not its slice %s" % (name, job["hosts"], result["slices"][name]))
        stats = job["stats"].get("report_delivery") or fail("job %s has no report_delivery statistics" % name)
        if sorted(stats) != job["hosts"]:
            fail("job %s: statistics of %s, hosts %s" % (name, sorted(stats), job["hosts"]))
        for env, entry in stats.items():
            if entry.get("error"):
                fail("job %s, %s: error %s" % (name, env, entry["error"]))
            if name.startswith("slice-"):
                statuses[env] = sorted((item["name"], item["status"]) for item in entry["deliveries"])
            else:
                statuses.setdefault("unsliced " + env, sorted((item["name"], item["status"]) for item in entry["deliveries"]))
    # The slices' statistics together cover every environment, each delivery once.
    sliced = dict((env, value) for env, value in statuses.items() if not env.startswith("unsliced "))
    if sorted(sliced) != environments:
        fail("the slices' statistics cover %s, not %s" % (sorted(sliced), environments))
    for env in environments:
        names = [name for name, dummy in sliced[env]]
        if names != list(DELIVERIES):
            fail("%s: the statistics name %s" % (env, names))
        outcomes = [status for dummy, status in sliced[env]]
        others = [status for dummy, status in statuses.get("unsliced " + env, [])]
        if relaunch and outcomes != ["skipped", "skipped"]:
            fail("%s: a relaunch gave %s, expected skipped" % (env, outcomes))
        # With an unsliced job at the same time, each delivery was sent by one of the two and skipped by the other.
        if not relaunch and sorted(outcomes + others) != ["sent", "sent", "skipped", "skipped"]:
            fail("%s: the slice gave %s and the unsliced job %s" % (env, outcomes, others))
    print("%s: %d environments in %d slices, %d sends each; statistics of %s" % (
        sys.argv[2], len(environments), len(slices), len(DELIVERIES), ", ".join(environments)))


if __name__ == "__main__":
    main()
