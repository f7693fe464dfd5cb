# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An integration target reads only the clone, what the run creates, and the run's own HOME.

The integration session hands ansible-test a HOME made empty for the run (noxfile.py, _run_home),
and ansible-test passes no other variable of the caller's environment to a target, so whatever a
target finds under ~ this run wrote. What is left is a fixed path outside the clone, where an
earlier run, another project or the machine's set-up could have left the file a target relies on:
this test fails naming each one. A target makes its scratch folders with mktemp and fetches what
it needs in a step of the session (as tests/utils/community_general.py does).
"""

import os
import re

TARGETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "integration", "targets")
# Folders where state outlives a run. /proc, /dev, /etc and the system's binaries are the machine's own.
FIXED_STATE_PATH = re.compile(r"(?<![\w.$}/-])/(?:tmp|var|opt|home|root|srv|mnt|media|run)(?:/[^\s\"'`)]*)?(?=[\s\"'`)]|$)")


def fixed_state_paths(text):
    return [match.group(0) for match in FIXED_STATE_PATH.finditer(text)]


def test_the_pattern_finds_fixed_paths_and_only_those():
    assert fixed_state_paths('cache="/var/cache/x"; cp /tmp/seed.json . ; ls /opt/wheels') == [
        "/var/cache/x", "/tmp/seed.json", "/opt/wheels"]
    assert fixed_state_paths('python -m x --home /root\nls /home/ci/.cache') == ["/root", "/home/ci/.cache"]
    assert fixed_state_paths(
        'url: "{{ url }}/api/reports/email"\nwork="$(mktemp -d)"; cat "$work/tmp/x" /proc/1/status '
        '"$HOME/.cache/x" ../../../utils/x.py /usr/bin/env /dev/null ${TMPDIR:-/tmpdir}x') == []


def test_no_target_names_a_fixed_path_outside_the_clone():
    found = []
    for folder, _dirs, files in os.walk(TARGETS):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, 1):
                    found.extend("%s:%d: %s" % (os.path.relpath(path, TARGETS), number, fixed)
                                 for fixed in fixed_state_paths(line))
    assert not found, "targets name paths outside the clone that an earlier run could have left:\n" + "\n".join(found)
