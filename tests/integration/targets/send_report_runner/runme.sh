#!/usr/bin/env bash
# shellcheck disable=SC2154  # work, python and fail come from ../setup_simulator/files/simulator.sh
# send_report through ansible-runner, the engine AWX uses, with the credential only in the
# environment: the report arrives, a relaunch is skipped by the Grafana ledger, and the token is
# in no output, event or artifact. No `set -x`: it would echo the token.
set -eu

source ../setup_simulator/files/simulator.sh
start_simulator sim
url="$SIM_URL"
export GRAFANA_TOKEN=sim-token-sender

extravars='{"report_id": 1, "emails": "sre@example.com,lead@example.com", "delivery_key": "runner-1", "ledger": "grafana"}'
for job in first relaunch; do
    "$python" run_job.py "$work/$job" "$url" "$extravars" >"$work/$job.json"
done
first="$(cat "$work/first.json")"
relaunch="$(cat "$work/relaunch.json")"
[ "$first" = '{"rc": 0, "status": "successful", "sent": [true], "skipped": [null]}' ] || fail "first job: $first"
case "$relaunch" in
    '{"rc": 0, "status": "successful", "sent": [false], "skipped": ["delivery key '"'runner-1'"' was already sent at '*) ;;
    *) fail "relaunch: $relaunch" ;;
esac

"$python" - "$url" <<'PY' || fail "the outbox does not hold the one expected mail"
import json, sys, urllib.request
outbox = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/outbox"))
assert len(outbox) == 1, outbox
assert sorted(outbox[0]["to"]) == ["lead@example.com", "sre@example.com"], outbox
PY

# Every file ansible-runner wrote: stdout, job events, artifacts. ansible-runner itself records the
# job's environment, the credential included, in env/envvars and artifacts/*/command (as AWX's
# runner does in its throw-away private data dir): those two must be 0600, all else free of it.
[ -n "$(find "$work/first/artifacts" -name stdout -size +0)" ] || fail "ansible-runner wrote no stdout artifact"
[ -n "$(find "$work/first/artifacts" -path '*/job_events/*.json')" ] || fail "ansible-runner wrote no job events"
leaks="$(grep -rl -e "$GRAFANA_TOKEN" "$work/first" "$work/relaunch" "$work"/*.json | grep -v -e '/env/envvars$' -e '/artifacts/[^/]*/command$' || true)"
[ -z "$leaks" ] || fail "the token appears in: $leaks"
for record in "$work"/first/env/envvars "$work"/first/artifacts/*/command; do
    [ "$(stat -c %a "$record")" = 600 ] || fail "$record is not 0600"
done
echo "send_report_runner: all checks passed"
