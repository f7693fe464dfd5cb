# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""leaked_processes finds the processes a step leaves behind by parentage, never by command line.

Each check runs in a fresh Python process acting as a nox session, so that other children of the
pytest process (simulators of other tests) play no part.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# A step that starts a daemon the way `grafana_sim.py serve --background` does: it leaves its parent.
DAEMON = ("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    print(os.getpid(), flush=True)\n"
          "    os.dup2(os.open(os.devnull, os.O_RDWR), 1)\n    time.sleep(60)\n")
AS_SESSION = """
import json, os, subprocess, sys
sys.path.insert(0, %(here)r)
import leaked_processes
mine = leaked_processes.become_subreaper()
if sys.argv[1] == 'stranger':
    import ctypes
    ctypes.CDLL(None).prctl(leaked_processes.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
daemon = int(subprocess.check_output([sys.executable, '-c', %(daemon)r, 'marker', %(here)r]).split()[0])
leaked_processes.become_subreaper()
seen = leaked_processes.adopted_children()
ended = leaked_processes.end_leaked_processes()
try:
    os.kill(daemon, 0)
    alive = True
    os.kill(daemon, 9)
except OSError:
    alive = False
print(json.dumps(dict(subreaper=mine, daemon=daemon, seen=seen, ended=ended, alive=alive)))
""" % dict(here=HERE, daemon=DAEMON)


def as_session(case):
    return json.loads(subprocess.check_output([sys.executable, "-c", AS_SESSION, case]))


def test_a_leaked_daemon_is_named_and_ended():
    outcome = as_session("leak")
    assert outcome["subreaper"], "prctl(PR_SET_CHILD_SUBREAPER) failed"
    assert [pid for pid, _command in outcome["seen"]] == [outcome["daemon"]]
    assert "marker" in outcome["seen"][0][1]
    assert outcome["ended"] == outcome["seen"] and not outcome["alive"]


def test_a_process_that_is_not_ours_is_left_alone_whatever_its_command_line():
    # The daemon started while the session was no subreaper went to another parent: it is not this run's,
    # although its command line names this tree.
    outcome = as_session("stranger")
    assert outcome["seen"] == [] and outcome["ended"] == [] and outcome["alive"]
