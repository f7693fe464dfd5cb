# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find and end the processes that a test step leaves running (used by noxfile.py's integration sessions).

nox and ansible-test have no such check. A simulator started with `grafana_sim.py serve --background`
leaves its parent; once the session's process is a subreaper (Linux prctl) it becomes that
simulator's parent instead of init, so the leaks are found by parentage: exactly the processes the
step started, never a process that merely mentions the same path in its command line.
"""

import ctypes
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Adopt the orphans of this process's descendants; return True on success."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def adopted_children():
    """Return (pid, command line) of the living children of this process, after reaping finished ones."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    children = []
    me = os.getpid()
    for entry in os.listdir('/proc') if os.path.isdir('/proc') else []:
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry, encoding='utf-8') as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
            if int(fields[1]) != me or fields[0] == 'Z':
                continue
            with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                command = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
        except (OSError, ValueError, IndexError):
            continue
        children.append((int(entry), command))
    return children


def end_leaked_processes():
    """End the children this process adopted (TERM, then KILL after 10 s); return what they were."""
    leaked = adopted_children()
    for pid, _command in leaked:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + 10
    while time.time() < deadline and adopted_children():
        time.sleep(0.2)
    for pid, _command in adopted_children():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    adopted_children()
    return leaked
