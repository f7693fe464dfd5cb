# Queries the Grafana simulator's control endpoints for the report_delivery tests.
# Usage: sim.py URL sends | peak | outbox | reset | fault JSON | settings JSON
import json
import sys
import urllib.request


def call(url, method="GET", body=None):
    data = None if body is None else body.encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def main():
    base, command = sys.argv[1], sys.argv[2]
    if command == "sends":
        print(call(base + "/_sim/stats")["by_route"].get("POST /api/reports/email", 0))
    elif command == "peak":
        print(call(base + "/_sim/stats")["max_concurrent_renders"])
    elif command == "outbox":  # one line per mail: REPORT_ID TO,TO (sorted)
        for line in sorted("%s %s" % (mail["report_id"], ",".join(sorted(mail["to"]))) for mail in call(base + "/_sim/outbox")):
            print(line)
    elif command == "reset":
        call(base + "/_sim/reset", "POST", "{}")
    elif command == "fault":
        call(base + "/_sim/faults", "POST", sys.argv[3])
    elif command == "settings":
        call(base + "/_sim/settings", "PATCH", sys.argv[3])
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
