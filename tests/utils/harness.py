# -*- coding: utf-8 -*-
# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test driver behind the Makefile: `make test`, `make sanity`, ... call this script.

    python3 tests/utils/harness.py [--core 2.16|latest|all] STEP [STEP ...]

STEP is one of venv, simulator-tests, sanity, units, integration, or test
(= simulator-tests sanity units integration).  For each ansible-core version
it:

* finds a real Python interpreter for it (pyenv versions first, then PATH;
  pyenv shims are never used because they fail for versions that are not
  pyenv's global one),
* creates or reuses the virtualenv .venv/core-<name>, keyed on the content of
  tests/utils/requirements-core-<name>.txt (and the files it includes) and on
  the interpreter, so a change there rebuilds it,
* seeds ansible-test's get-pip cache (tests/utils/seed_get_pip.py),
* copies the collection (git ls-files -co --exclude-standard) afresh to
  build/core-<name>/ansible_collections/reportops/grafana, since ansible-test
  must run from a path ending in ansible_collections/NAMESPACE/NAME (a
  symlink does not do: ansible-test resolves the real working directory), and
  runs `git init` there, or ansible-test would list files with this
  repository's git, which ignores build/, and find none,
* runs the steps there with PATH = build/pybin (real pythonX.Y links), the
  venv's bin, then the caller's PATH without pyenv shims.

With --jobs 2 (the Makefile's default) the core versions run at the same
time, each in a child process of this script whose output goes to
build/logs/core-<name>.out and is printed when all are done.  A lock file
(build/.harness.lock) keeps two runs in one tree from overlapping.

It keeps going after a failure, prints a summary of what ran, failed and was
skipped (and why), and exits 1 if anything failed.  With CI set to a true
value, a core version or check that is skipped because its Python is missing
counts as a failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import ctypes
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTILS = os.path.join(ROOT, 'tests', 'utils')
# REPORTOPS_BUILD_DIR lets two runs in one checkout use separate build trees (and locks).
BUILD = os.path.abspath(os.environ.get('REPORTOPS_BUILD_DIR') or os.path.join(ROOT, 'build'))
VENVS = os.path.join(ROOT, '.venv')
NAMESPACE, NAME = 'reportops', 'grafana'
VENV_RECIPE = '1'  # bump to force every .venv/core-* to be rebuilt

# name: (ansible-core series, Python versions to use in order of preference, extra Pythons for sanity compile/import)
CORES = {
    '2.16': dict(label='ansible-core 2.16 (oldest supported)', pythons=('3.11', '3.10', '3.12'), sanity_extra=('3.8',)),
    'latest': dict(label='ansible-core newest', pythons=('3.12', '3.13', '3.14'), sanity_extra=('3.13',)),
}
CORE_ORDER = ('2.16', 'latest')
STEPS = ('simulator-tests', 'sanity', 'units', 'integration')
PASS, FAIL, SKIP = 'PASS', 'FAIL', 'SKIP'
# Left out when the collection is copied from a tree without .git (anywhere / at these paths from the top).
EXCLUDE_DIRS = {'.git', '__pycache__', '.pytest_cache', '.mypy_cache', '.tox'}
EXCLUDE_TOP = {'.venv', 'build', os.path.join('tests', 'output')}


def truthy(value):
    """Return True for environment values such as 1, true, yes."""
    return str(value or '').strip().lower() in ('1', 'true', 'yes', 'on')


STRICT = truthy(os.environ.get('CI'))


def say(message=''):
    """Print a harness message."""
    print(message)
    sys.stdout.flush()


def banner(message):
    """Print a section header."""
    say('')
    say('=' * 78)
    say('== %s' % message)
    say('=' * 78)


class Results:
    """Collected outcome of each step."""

    def __init__(self):
        self.rows = []

    def add(self, core, step, status, seconds=None, note=''):
        """Record one outcome."""
        self.rows.append((core, step, status, seconds, note))
        say('>> %s %s: %s%s%s' % (core, step, status, ' (%.0fs)' % seconds if seconds is not None else '', ' - ' + note if note else ''))

    def failed(self):
        """Return True if any step failed."""
        return any(row[2] == FAIL for row in self.rows)

    def summary(self, total):
        """Print the final summary."""
        banner('summary (%.0fs in all)' % total)
        for core, step, status, seconds, note in self.rows:
            took = '%5.0fs' % seconds if seconds is not None else '      '
            say('%-8s %-18s %-4s %s  %s' % (core, step, status, took, note))
        # Count the test steps; a venv row counts only when it did not pass.
        counted = [row for row in self.rows if row[1] != 'venv' or row[2] != PASS]
        counts = dict((status, sum(1 for row in counted if row[2] == status)) for status in (PASS, FAIL, SKIP))
        say('')
        say('harness: %d passed, %d failed, %d skipped' % (counts[PASS], counts[FAIL], counts[SKIP]))


# ---------------------------------------------------------------- interpreters

def version_tuple(text):
    """Turn '3.12.1' into (3, 12, 1)."""
    return tuple(int(part) for part in re.findall(r'\d+', text))


def pyenv_root():
    """Return pyenv's root directory, or None."""
    candidates = [os.environ.get('PYENV_ROOT')]
    pyenv = shutil.which('pyenv')
    if pyenv:
        try:
            candidates.insert(0, subprocess.check_output([pyenv, 'root'], stderr=subprocess.DEVNULL).decode().strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates.append(os.path.expanduser('~/.pyenv'))
    for candidate in candidates:
        if candidate and os.path.isdir(os.path.join(candidate, 'versions')):
            return candidate
    return None


def is_shim_dir(path):
    """Return True for pyenv shim directories."""
    return os.path.basename(os.path.normpath(path)) == 'shims' and 'pyenv' in path


def clean_path(path):
    """Return PATH without pyenv shim directories."""
    return os.pathsep.join(part for part in path.split(os.pathsep) if part and not is_shim_dir(part))


def probe_python(executable, version, need_ensurepip):
    """Return the full version string if executable is a working Python of that X.Y version, else None."""
    modules = 'venv, ensurepip' if need_ensurepip else 'venv'
    code = 'import sys, %s; print("%%d.%%d.%%d" %% sys.version_info[:3])' % modules
    try:
        output = subprocess.check_output([executable, '-c', code], stderr=subprocess.DEVNULL, timeout=60).decode().strip()
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    if version_tuple(output)[:2] != version_tuple(version)[:2]:
        return None
    return output


def find_python(version, need_ensurepip=True):
    """Return (path, full version) of a working Python X.Y interpreter, or (None, None)."""
    candidates = []
    root = pyenv_root()
    if root:
        found = glob.glob(os.path.join(root, 'versions', '%s.*' % version, 'bin', 'python%s' % version))
        found = [path for path in found if re.match(r'^\d+\.\d+\.\d+$', os.path.basename(os.path.dirname(os.path.dirname(path))))]
        candidates.extend(sorted(found, key=lambda path: version_tuple(os.path.basename(os.path.dirname(os.path.dirname(path)))), reverse=True))
    search_path = clean_path(os.environ.get('PATH', os.defpath))
    for name in ('python%s' % version, 'python3'):
        path = shutil.which(name, path=search_path)
        if path:
            candidates.append(path)
    for candidate in candidates:
        full = probe_python(candidate, version, need_ensurepip)
        if full:
            return candidate, full
    return None, None


def make_pybin():
    """Link real pythonX.Y interpreters into build/pybin so ansible-test finds them instead of pyenv shims."""
    pybin = os.path.join(BUILD, 'pybin')
    shutil.rmtree(pybin, ignore_errors=True)
    os.makedirs(pybin)
    found = {}
    for minor in range(8, 15):
        version = '3.%d' % minor
        path, full = find_python(version, need_ensurepip=False)
        if path:
            os.symlink(os.path.realpath(path), os.path.join(pybin, 'python%s' % version))
            found[version] = full
    return pybin, found


# ---------------------------------------------------------------- venvs

def requirement_files(path, seen=None):
    """Return path and every file it includes with -r/-c, in order."""
    seen = seen if seen is not None else []
    path = os.path.normpath(path)
    if path in seen:
        return seen
    seen.append(path)
    with open(path) as req:  # pylint: disable=unspecified-encoding
        for line in req:
            match = re.match(r'^\s*-[rc]\s+(\S+)', line) or re.match(r'^\s*--(?:requirement|constraint)[ =](\S+)', line)
            if match:
                requirement_files(os.path.join(os.path.dirname(path), match.group(1)), seen)
    return seen


def venv_key(requirements, python, full_version):
    """Return the key that decides whether a venv can be reused."""
    digest = hashlib.sha256()
    digest.update(('recipe %s\npython %s %s\n' % (VENV_RECIPE, os.path.realpath(python), full_version)).encode())
    for path in requirement_files(requirements):
        with open(path, 'rb') as req:
            digest.update(os.path.relpath(path, ROOT).encode() + b'\n' + req.read() + b'\n')
    return digest.hexdigest()


def run(cmd, cwd=ROOT, env=None, log=None):
    """Run a command, streaming its output (and copying it to log); return (exit code, output)."""
    say('$ %s' % ' '.join(cmd))
    lines = []
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    logfile = open(log, 'w', encoding='utf-8') if log else None  # pylint: disable=consider-using-with
    try:
        for raw in iter(proc.stdout.readline, b''):
            line = raw.decode('utf-8', 'replace')
            lines.append(line)
            sys.stdout.write(line)
            sys.stdout.flush()
            if logfile:
                logfile.write(line)
    finally:
        proc.stdout.close()
        code = proc.wait()
        if logfile:
            logfile.close()
    return code, ''.join(lines)


def ensure_venv(core, python, full_version):
    """Create .venv/core-<core> unless an up-to-date one exists; return (venv dir, note) or raise RuntimeError."""
    requirements = os.path.join(UTILS, 'requirements-core-%s.txt' % core)
    venv = os.path.join(VENVS, 'core-%s' % core)
    key_file = os.path.join(venv, '.harness-key')
    key = venv_key(requirements, python, full_version)
    venv_python = os.path.join(venv, 'bin', 'python')
    if os.path.exists(key_file):
        with open(key_file) as handle:  # pylint: disable=unspecified-encoding
            current = handle.read().strip()
        if current == key and subprocess.call([venv_python, '-c', 'import ansible_test'], stderr=subprocess.DEVNULL) == 0:
            return venv, 'reused'
        say('%s is out of date (requirements or interpreter changed): rebuilding' % os.path.relpath(venv, ROOT))
    shutil.rmtree(venv, ignore_errors=True)
    os.makedirs(VENVS, exist_ok=True)
    code, _output = run([python, '-m', 'venv', venv])
    if code == 0:
        code, _output = run([venv_python, '-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirements])
    if code != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise RuntimeError('could not create %s (exit %d)' % (os.path.relpath(venv, ROOT), code))
    with open(key_file, 'w') as handle:  # pylint: disable=unspecified-encoding
        handle.write(key + '\n')
    return venv, 'created'


# ---------------------------------------------------------------- collection layout

def collection_files():
    """Return the collection's files relative to ROOT: git's tracked and untracked-not-ignored files, or a filtered walk."""
    if os.path.exists(os.path.join(ROOT, '.git')) and shutil.which('git'):
        try:
            output = subprocess.check_output(['git', '-C', ROOT, 'ls-files', '-z', '-co', '--exclude-standard'], stderr=subprocess.DEVNULL)
            return sorted(set(path for path in output.decode('utf-8', 'surrogateescape').split('\0') if path))
        except (OSError, subprocess.CalledProcessError):
            say('git ls-files failed; copying the tree without build/, .venv/ and caches instead')
    files = []
    for directory, dirs, names in os.walk(ROOT):
        relative = os.path.relpath(directory, ROOT)
        dirs[:] = sorted(d for d in dirs if d not in EXCLUDE_DIRS and os.path.normpath(os.path.join(relative, d)) not in EXCLUDE_TOP)
        for name in names:
            if name.endswith(('.pyc', '.tar.gz')):
                continue
            files.append(os.path.normpath(os.path.join(relative, name)))
    return sorted(files)


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Adopt the processes that steps leave behind (Linux prctl), so that leaks are found by parentage.

    A simulator started with --background leaves its parent; as a subreaper this harness becomes its
    parent instead of init, and can name and end exactly the processes its own steps started,
    never a process that merely mentions the same path in its command line.
    """
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
            with open('/proc/%s/stat' % entry) as handle:  # pylint: disable=unspecified-encoding
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
    """End the processes a step left running (children adopted by this harness); return what they were."""
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


def lay_out(core):
    """Copy the collection afresh to build/core-<core>/ansible_collections/NAMESPACE/NAME; return that path."""
    top = os.path.join(BUILD, 'core-%s' % core)
    dest = os.path.join(top, 'ansible_collections', NAMESPACE, NAME)
    shutil.rmtree(top, ignore_errors=True)
    count = 0
    for relative in collection_files():
        source = os.path.join(ROOT, relative)
        if not os.path.lexists(source) or os.path.isdir(source) and not os.path.islink(source):
            continue  # deleted but still in git's index, or a submodule
        target = os.path.join(dest, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
        count += 1
    if shutil.which('git'):
        # ansible-test lists the content with git when it finds a .git directory in the collection root or above it.
        # Without one here it would find this repository's, in which build/ is ignored, and see no files at all.
        subprocess.check_call(['git', 'init', '-q', dest])
    say('laid out %d files in %s' % (count, os.path.relpath(dest, ROOT)))
    return dest


# ---------------------------------------------------------------- steps

def has_files(directory, patterns):
    """Return True if directory holds a file matching one of the glob patterns (recursively)."""
    for pattern in patterns:
        if glob.glob(os.path.join(directory, '**', pattern), recursive=True):
            return True
    return False


def extra_args(name):
    """Return extra arguments from an environment variable (split like a shell would, simply on spaces)."""
    return os.environ.get(name, '').split()


class Runner:
    """Runs the steps for one core version."""

    def __init__(self, core, venv, coll, env, results, pybin_versions):
        self.core = core
        self.venv = venv
        self.coll = coll
        self.env = env
        self.results = results
        self.pybin_versions = pybin_versions
        self.python = os.path.join(venv, 'bin', 'python')
        self.version = '%d.%d' % version_tuple(subprocess.check_output([self.python, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])']).decode())[:2]
        self.logs = os.path.join(BUILD, 'logs')
        os.makedirs(self.logs, exist_ok=True)

    def log(self, step):
        """Return the log file path of a step."""
        return os.path.join(self.logs, 'core-%s-%s.log' % (self.core, step))

    def ansible_test(self, args, step):
        """Run ansible-test in the laid-out collection."""
        return run([os.path.join(self.venv, 'bin', 'ansible-test')] + args, cwd=self.coll, env=self.env, log=self.log(step))

    def simulator_tests(self):
        """pytest tests/simulator."""
        directory = os.path.join(self.coll, 'tests', 'simulator')
        test_files = has_files(directory, ('test_*.py', '*_test.py'))
        if not os.path.isdir(directory):
            return SKIP, 'no tests/simulator directory yet'
        code, _output = run([self.python, '-m', 'pytest', 'tests/simulator', 'tests/utils/test_harness.py', '-q', '-p', 'no:cacheprovider']
                            + extra_args('PYTEST_ARGS'), cwd=self.coll, env=self.env, log=self.log('simulator-tests'))
        if code == 5:
            if test_files:
                return FAIL, 'pytest collected no tests although tests/simulator has test files'
            return SKIP, 'no simulator tests yet (pytest exit 5: no tests collected)'
        return (PASS if code == 0 else FAIL), 'pytest on Python %s (exit %d)' % (self.version, code)

    def sanity(self):
        """ansible-test sanity --venv on the controller Python, then compile/import on extra target Pythons."""
        notes = []
        status = PASS
        code, output = self.ansible_test(['sanity', '--venv', '--python', self.version] + extra_args('SANITY_ARGS'), 'sanity')
        if code != 0:
            status = FAIL
            failed = re.search(r'The (\d+) sanity test\(s\) listed below \(out of (\d+)\) failed.*\n((?:[a-z0-9][\w.-]*\n)+)', output)
            if failed:
                notes.append('sanity on %s failed: %s of %s tests (%s)' % (self.version, failed.group(1), failed.group(2), ', '.join(failed.group(3).split())))
            else:
                notes.append('sanity on %s failed (exit %d)' % (self.version, code))
        else:
            ran = len(set(re.findall(r'^Running sanity test "([^"]+)"', output, re.M)))
            notes.append('%d sanity tests on %s' % (ran, self.version))
            if not ran and not extra_args('SANITY_ARGS'):
                status = FAIL
                notes.append('ansible-test ran no sanity test: did it see no files?')
        missing = sorted(set(re.findall(r'Required program "([^"]+)" not found', output)))
        if missing:
            notes.append('tests needing %s skipped by ansible-test' % ', '.join(missing))
            if STRICT:
                status = FAIL
        if extra_args('SANITY_ARGS'):
            return status, '; '.join(notes)
        for extra in CORES[self.core]['sanity_extra']:
            if extra not in self.pybin_versions:
                notes.append('compile/import on Python %s skipped: no Python %s found' % (extra, extra))
                if STRICT:
                    status = FAIL
                continue
            code, output = self.ansible_test(['sanity', '--venv', '--python', extra, '--test', 'compile', '--test', 'import'], 'sanity-py%s' % extra)
            if code != 0:
                status = FAIL
                notes.append('compile/import on %s FAILED' % extra)
            else:
                notes.append('compile/import on %s' % extra)
        return status, '; '.join(notes)

    def units(self):
        """ansible-test units --local."""
        if not has_files(os.path.join(self.coll, 'tests', 'unit'), ('test_*.py',)):
            return SKIP, 'no unit tests yet'
        code, output = self.ansible_test(['units', '--local', '--python', self.version] + extra_args('UNITS_ARGS'), 'units')
        passed = sum(int(n) for n in re.findall(r'=+ (?:.*?, )?(\d+) passed', output))
        return (PASS if code == 0 else FAIL), 'ansible-test units on Python %s, %d tests passed (exit %d)' % (self.version, passed, code)

    def integration(self, targets):
        """ansible-test integration --local -v."""
        directory = os.path.join(self.coll, 'tests', 'integration', 'targets')
        if not os.path.isdir(directory) or not [d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d))]:
            return SKIP, 'no integration targets'
        code, output = self.ansible_test(['integration', '--local', '--python', self.version, '-v'] + extra_args('INTEGRATION_ARGS') + targets,
                                         'integration')
        ran = re.findall(r'^Running (\S+) integration test (?:role|script)', output, re.M)
        note = 'ansible-test integration on Python %s: %d targets ran%s (exit %d)' % (
            self.version, len(ran), ' (%s)' % ', '.join(ran) if ran else '', code)
        leaked = end_leaked_processes()
        if leaked:
            note += '; FAILED: the targets left %d processes running, now ended: %s' % (
                len(leaked), '; '.join('pid %d: %s' % (pid, command[:200]) for pid, command in leaked))
            return FAIL, note
        if code != 0:
            return FAIL, note
        if not ran:
            return SKIP, note + '; all targets were skipped'
        return PASS, note


def run_core(core, steps, targets, results, pybin, pybin_versions):
    """Run the steps for one core version."""
    spec = CORES[core]
    banner('%s: preparing' % spec['label'])
    python, full = None, None
    for version in spec['pythons']:
        python, full = find_python(version)
        if python:
            break
    if not python:
        note = 'skipped: %s (needs Python %s with the venv and ensurepip modules; none found in pyenv or on PATH)' % (
            spec['label'], ' or '.join(spec['pythons']))
        if STRICT:
            note += ' - a failure because CI is set'
        for step in steps:
            results.add(core, step, FAIL if STRICT else SKIP, note=note)
        return
    say('Python %s: %s' % (full, python))
    started = time.time()
    try:
        venv, how = ensure_venv(core, python, full)
    except RuntimeError as ex:
        results.add(core, 'venv', FAIL, time.time() - started, str(ex))
        return
    venv_python = os.path.join(venv, 'bin', 'python')
    core_version = subprocess.check_output([venv_python, '-c', 'import ansible.release; print(ansible.release.__version__)']).decode().strip()
    results.add(core, 'venv', PASS, time.time() - started, '%s %s: ansible-core %s on Python %s' % (os.path.relpath(venv, ROOT), how, core_version, full))
    if steps == ['venv']:
        return
    if 'sanity' in steps:
        code, _output = run([venv_python, os.path.join(UTILS, 'seed_get_pip.py')])
        if code != 0:
            results.add(core, 'sanity', FAIL, note='could not seed the get-pip cache')
            steps = [step for step in steps if step != 'sanity']
    coll = lay_out(core)
    env = dict(os.environ)
    env['PATH'] = os.pathsep.join([pybin, os.path.join(venv, 'bin'), clean_path(os.environ.get('PATH', os.defpath))])
    env['VIRTUAL_ENV'] = venv
    for name in ('PYTHONPATH', 'PYTHONHOME', 'PYENV_VERSION', 'ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_COLLECTIONS_PATHS', 'ANSIBLE_CONFIG'):
        env.pop(name, None)
    runner = Runner(core, venv, coll, env, results, pybin_versions)
    for step in steps:
        banner('%s: %s' % (spec['label'], step))
        started = time.time()
        if step == 'simulator-tests':
            status, note = runner.simulator_tests()
        elif step == 'sanity':
            status, note = runner.sanity()
        elif step == 'units':
            status, note = runner.units()
        else:
            status, note = runner.integration(targets)
        results.add(core, step, status, time.time() - started, note)


def run_children(cores, steps, targets, results, pybin):
    """Run each core version in its own harness process at the same time; print their output core by core."""
    children = []
    for core in cores:
        output = os.path.join(BUILD, 'logs', 'core-%s.out' % core)
        result_file = os.path.join(BUILD, 'logs', 'core-%s.json' % core)
        cmd = [sys.executable, os.path.abspath(__file__), '--child', '--pybin', pybin, '--results', result_file,
               '--core', core, '--targets', ' '.join(targets)] + steps
        handle = open(output, 'wb')  # pylint: disable=consider-using-with
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        thread = threading.Thread(target=relay, args=(core, proc, handle))
        thread.start()
        children.append((core, proc, thread, handle, output, result_file))
    for core, proc, thread, handle, output, result_file in children:
        code = proc.wait()
        thread.join()
        handle.close()
        banner('full output of the ansible-core %s run (also in %s)' % (core, os.path.relpath(output, ROOT)))
        try:
            with open(output, 'rb') as log:
                for raw in log:
                    sys.stdout.write(raw.decode('utf-8', 'replace'))
        except OSError as ex:
            say('cannot read %s: %s' % (output, ex))
        sys.stdout.flush()
        try:
            with open(result_file) as handle_in:  # pylint: disable=unspecified-encoding
                rows = json.load(handle_in)
        except (OSError, ValueError):
            rows = [[core, 'harness', FAIL, None, 'the harness process for this core ended with exit %d before writing results' % code]]
        results.rows.extend(tuple(row) for row in rows)


def relay(core, proc, handle):
    """Copy a child's output to its log file, echoing its progress lines with the core as prefix."""
    for raw in iter(proc.stdout.readline, b''):
        handle.write(raw)
        line = raw.decode('utf-8', 'replace')
        if line.startswith(('>> ', '== ansible-core', '$ ')):
            say('[%s] %s' % (core, line.rstrip()))
    proc.stdout.close()


def take_lock():
    """Wait until no other harness run uses this tree (they would share build/ and .venv/); return the open lock file."""
    path = os.path.join(BUILD, '.harness.lock')
    handle = open(path, 'a+')  # pylint: disable=consider-using-with,unspecified-encoding
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        say('waiting for another harness run in this tree to finish (%s)' % (handle.read().strip() or 'unknown'))
        fcntl.flock(handle, fcntl.LOCK_EX)
    handle.seek(0)
    handle.truncate()
    handle.write('pid %d: %s\n' % (os.getpid(), ' '.join(sys.argv[1:])))
    handle.flush()
    return handle


def main():
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description='Run the collection tests for one or more ansible-core versions.')
    parser.add_argument('steps', nargs='+', choices=('test', 'venv') + STEPS)
    parser.add_argument('--core', default='all', help='2.16, latest or all (default); several may be given comma-separated')
    parser.add_argument('--targets', default='', help='integration targets (space-separated)')
    parser.add_argument('--jobs', type=int, default=1, help='how many core versions to run at the same time (default 1)')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--pybin', help=argparse.SUPPRESS)
    parser.add_argument('--results', help=argparse.SUPPRESS)
    args = parser.parse_args()

    steps = []
    for step in args.steps:
        for item in (STEPS if step == 'test' else (step,)):
            if item not in steps:
                steps.append(item)
    if 'venv' in steps and len(steps) > 1:
        steps.remove('venv')
    steps = [step for step in ('venv',) + STEPS if step in steps]

    cores = CORE_ORDER if args.core in ('all', '') else tuple(core.strip() for core in args.core.split(','))
    for core in cores:
        if core not in CORES:
            parser.error('unknown core %r: use one of %s or all' % (core, ', '.join(CORE_ORDER)))

    started = time.time()
    results = Results()
    become_subreaper()
    os.makedirs(BUILD, exist_ok=True)
    if not args.child:
        lock = take_lock()  # pylint: disable=unused-variable  # held until this process exits
    if args.child:
        pybin = args.pybin
        pybin_versions = dict((name[len('python'):], name) for name in os.listdir(pybin))
    elif steps == ['venv']:
        pybin, pybin_versions = None, {}
    else:
        shutil.rmtree(os.path.join(BUILD, 'logs'), ignore_errors=True)
        os.makedirs(os.path.join(BUILD, 'logs'))
        pybin, pybin_versions = make_pybin()
        linked = ', '.join('%s (%s)' % item for item in sorted(pybin_versions.items(), key=lambda item: version_tuple(item[0])))
        say('real interpreters linked in %s: %s' % (os.path.relpath(pybin, ROOT), linked or 'none'))
        if STRICT:
            say('CI is set: a check skipped for lack of a Python interpreter or tool counts as a failure')
    if args.jobs > 1 and len(cores) > 1 and not args.child and steps != ['venv']:
        say('running %s at the same time (JOBS=%d); the full output of each follows when all are done' % (', '.join(cores), args.jobs))
        run_children(cores, steps, args.targets.split(), results, pybin)
    else:
        for core in cores:
            run_core(core, steps, args.targets.split(), results, pybin, pybin_versions)
    if args.results:
        with open(args.results, 'w') as handle:  # pylint: disable=unspecified-encoding
            json.dump(results.rows, handle)
    if not args.child:
        results.summary(time.time() - started)
    return 1 if results.failed() else 0


if __name__ == '__main__':
    sys.exit(main())
