# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: the collection against hand-written ansible.builtin.uri tasks, on this machine.

Every figure is a ratio of two timings taken in the same run against the bundled simulator, so
the machine's speed cancels out. Writes docs/benchmarks.md (or --output).

    python tests/bench/bench.py --venv .venv/core-2.16 [--repeat 5] [--output docs/benchmarks.md]
"""

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIMULATOR = os.path.join(ROOT, "tests", "simulator", "grafana_sim.py")
TOKEN = "sim-token-sender"
EMAILS = "sre@example.com"
# Goals: role / serial uri for the fan-out (issue 27; issue 10 asked 0.20), and wall / floor per environment count
# (issue 10).
FAN_OUT_GOAL = 0.15
# Seconds one wave of runners may take before the benchmark gives up (a 6 s render, ledger listings, start-up).
WAVE_TIMEOUT = 300
SCALE_GOALS = {10: 3, 50: 8}
# Goals of issue 27: role wall / (the `debug` play over the same inventory and forks + the render floor), and the
# controller's CPU (all processes) per environment.
FLEET_GOALS = {10: 1.5, 30: 2.0}
CPU_PER_ENVIRONMENT_GOAL = 0.3
# Peak RSS of the one grafana_report_fleet process (MB) at this many environments.
FLEET_RSS_GOAL = (50, 150)
# Modules whose import is compared with what ansible.builtin.uri imports (basic and urls), in a fresh Python each.
IMPORTS = (("ansible.builtin.uri's module_utils (basic, urls)", "import ansible.module_utils.basic, ansible.module_utils.urls"),
           ("grafana_report_send", "import ansible_collections.reportops.grafana.plugins.modules.grafana_report_send"),
           ("grafana_report_deliver", "import ansible_collections.reportops.grafana.plugins.modules.grafana_report_deliver"),
           ("grafana_report_fleet", "import ansible_collections.reportops.grafana.plugins.modules.grafana_report_fleet"))


class PeakRss(threading.Thread):
    """The peak RSS (VmHWM, MB) of the processes whose command line holds `marker`, sampled every 20 ms while a
    command runs: the module's own process, not Ansible's around it."""

    def __init__(self, marker):
        super().__init__(daemon=True)
        self.marker = marker.encode()
        self.peak = 0.0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            for pid in os.listdir("/proc"):
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
                        if self.marker not in cmdline.read():
                            continue
                    with open("/proc/%s/status" % pid) as status:
                        kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
                except (OSError, ValueError, StopIteration):
                    continue
                self.peak = max(self.peak, kb / 1024.0)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *dummy):
        self.done.set()
        self.join()


class Simulator:
    """One simulator process with its own config, stopped when the benchmark ends."""

    def __init__(self, python, work, name, render_seconds, reports=None):
        self.python = python
        self.state_dir = os.path.join(work, "sim-" + name)
        config = os.path.join(work, "config-%s.json" % name)
        with open(os.path.join(ROOT, "tests", "simulator", "default-config.json")) as default:
            settings = json.load(default)
        settings["render_seconds"] = render_seconds
        if reports:
            settings["reports"] = reports
        for report in settings["reports"]:
            report["render_seconds"] = render_seconds
        with open(config, "w") as stream:
            json.dump(settings, stream)
        started = subprocess.run([python, SIMULATOR, "serve", "--background", "--state-dir", self.state_dir,
                                  "--config", config, "--lifetime", "3600"], check=True, capture_output=True, text=True)
        self.url = json.loads(started.stdout.splitlines()[-1])["url"]

    def stats(self):
        with urllib.request.urlopen(self.url + "/_sim/stats") as answer:
            return json.load(answer)

    def settings(self, **changes):
        urllib.request.urlopen(urllib.request.Request(self.url + "/_sim/settings", data=json.dumps(changes).encode(), method="PATCH",
                                                      headers={"Content-Type": "application/json"})).read()

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/_sim/reset", data=b"{}", method="POST",
                                                      headers={"Content-Type": "application/json"})).read()

    def stop(self):
        subprocess.run([self.python, SIMULATOR, "stop", "--state-dir", self.state_dir], check=False, capture_output=True)


class Bench:
    def __init__(self, venv, work, repeat):
        self.bin = os.path.join(os.path.abspath(venv), "bin")
        self.python = os.path.join(self.bin, "python")
        self.work = work
        self.repeat = repeat
        self.simulators = []
        self.cpu = 0.0
        collections = os.path.join(work, "collections", "ansible_collections", "reportops")
        os.makedirs(collections)
        os.symlink(ROOT, os.path.join(collections, "grafana"))
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(work, "collections"), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PYTHON_INTERPRETER=self.python,
                        ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                        GRAFANA_TOKEN=TOKEN)

    def simulator(self, name, render_seconds, reports=None):
        simulator = Simulator(self.python, self.work, name, render_seconds, reports)
        self.simulators.append(simulator)
        return simulator

    def close(self):
        for simulator in self.simulators:
            simulator.stop()

    def timed(self, command, extra_env=None):
        """Seconds the command took; it must succeed. self.cpu: the CPU seconds of it and every process it waited for."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=dict(self.env, **(extra_env or {})), capture_output=True, text=True, cwd=self.work,
                              check=False)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if done.returncode != 0:
            failures = "\n".join(line for line in done.stdout.splitlines() if "FAILED" in line)[:3000]
            raise RuntimeError("%s failed:\n%s\n%s\n%s" % (" ".join(command[:3]), failures, done.stdout[-2000:], done.stderr[-3000:]))
        return elapsed

    def median_pair(self, first, second, repeat=None):
        """Median seconds of two commands, run alternately so drift affects both alike."""
        timings = ([], [])
        for dummy in range(repeat or self.repeat):
            timings[0].append(self.timed(first))
            timings[1].append(self.timed(second))
        return statistics.median(timings[0]), statistics.median(timings[1])

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as stream:
            stream.write(text)
        return path

    # -- per call ---------------------------------------------------------------------------

    def per_call(self, book_repeat=None):
        sim = self.simulator("per-call", 0.0)
        module = [os.path.join(self.bin, "ansible"), "localhost", "-m", "reportops.grafana.grafana_report_send",
                  "-a", "url=%s report_id=1 emails=%s" % (sim.url, EMAILS)]
        uri = [os.path.join(self.bin, "ansible"), "localhost", "-m", "ansible.builtin.uri", "-a", json.dumps(self._uri_args(sim.url))]
        adhoc = self.median_pair(module, uri)
        tasks = 50
        playbooks = []
        for kind in ("module", "uri"):
            task = ({"reportops.grafana.grafana_report_send": {"url": sim.url, "report_id": 1, "emails": [EMAILS]}}
                    if kind == "module" else {"ansible.builtin.uri": self._uri_args(sim.url)})
            play = [{"name": "bench", "hosts": "localhost", "gather_facts": False,
                     "tasks": [dict(task, name="send %d" % number) for number in range(tasks)]}]
            playbooks.append([os.path.join(self.bin, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                              self.write("per-call-%s.yml" % kind, json.dumps(play))])
        playbook = self.median_pair(*playbooks, repeat=book_repeat)
        sends = sim.stats()["by_route"].get("POST /api/reports/email", 0)
        expected = 2 * (self.repeat + (book_repeat or self.repeat) * tasks)  # module and uri alike
        if sends != expected:
            raise RuntimeError("per call: %d sends reached the simulator, expected %d" % (sends, expected))
        return adhoc, playbook

    @staticmethod
    def _uri_args(url):
        return {"url": url + "/api/reports/email", "method": "POST", "body_format": "json",
                "body": {"id": "1", "emails": EMAILS}, "headers": {"Authorization": "Bearer " + TOKEN}, "timeout": 120}

    def imports(self, runs=9):
        """(name, the least CPU ms of `runs` imports, each in a fresh Python) for each of IMPORTS."""
        rows = []
        for name, statement in IMPORTS:
            code = "import time; started = time.process_time(); %s; print(time.process_time() - started)" % statement
            times = [float(subprocess.run([self.python, "-c", code], env=dict(self.env, PYTHONPATH=os.path.join(self.work, "collections")),
                                          capture_output=True, text=True, check=True).stdout) for dummy in range(runs)]
            rows.append((name, min(times) * 1000))
        return rows

    def import_profile(self, module="grafana_report_send", least_ms=4.0):
        """`python -X importtime` of a module: (module, cumulative ms) of what it imports beyond
        ansible.module_utils.basic (which ansible.builtin.uri imports too), the largest first."""
        done = subprocess.run([self.python, "-X", "importtime", "-c", "import ansible.module_utils.basic; import "
                               "ansible_collections.reportops.grafana.plugins.modules.%s" % module],
                              env=dict(self.env, PYTHONPATH=os.path.join(self.work, "collections")), capture_output=True, text=True,
                              check=True)
        rows = []
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit() and int(parts[1]) >= least_ms * 1000:
                name = parts[2].strip()
                if not name.startswith("ansible.module_utils.basic") and name not in ("ansible", "ansible.module_utils", "encodings"):
                    rows.append((name, int(parts[1]) / 1000.0))
        return sorted(rows, key=lambda row: -row[1])

    def role_profile(self, count=10, per_env=8, render=1.0, simulators=None, forks=None):
        """Each task of the role's run over `count` environments: (task, wall s, controller CPU s)."""
        inventory, served = self.environments("profile-%d" % count, count, render, per_env, simulators)
        profile = os.path.join(self.work, "profile-%d.json" % count)
        self.role_run(inventory, forks or count, extra_env=dict(
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "bench", "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="task_profile", REPORTOPS_TASK_PROFILE=profile))
        for sim in served:
            sim.stop()
        with open(profile) as stream:
            return [(task["task"].split(" : ", 1)[-1], task["wall"], task["cpu"]) for task in json.load(stream)]

    def large(self, count, simulators=4, per_env=2, forks=50):
        """The role over `count` environments served by a few simulators with no render time, where the controller's CPU
        is the limit: its wall and CPU per environment against a `debug` task's over the same inventory and forks, and
        the role's tasks by CPU."""
        inventory, served = self.environments("large-%d" % count, count, 0.0, per_env, simulators)
        wall = self.role_run(inventory, forks)
        cpu = self.cpu
        sends = sum(sim.stats()["sends"] for sim in served)
        if sends != count * per_env:
            raise RuntimeError("large %d: %d sends, expected %d" % (count, sends, count * per_env))
        debug = self.timed([os.path.join(self.bin, "ansible"), "all", "-i", inventory, "-f", str(forks), "-m", "ansible.builtin.debug"])
        debug_cpu = self.cpu
        # The same role without its two speed tricks (vars/main.yml), which extra variables turn off: no filter loaded
        # before the workers fork, and the tasks that apply to no environment skipped in each environment's worker.
        bare = self.role_run(inventory, forks, "-e", "_report_delivery_load_filters=", "-e",
                             json.dumps({"_report_delivery_alone_plans": [0], "_report_delivery_archiving_plans": [0]}))
        bare_cpu = self.cpu
        for sim in served:
            sim.stop()
        profile = self.role_profile(count, per_env, 0.0, simulators, forks)
        return dict(count=count, simulators=simulators, per_env=per_env, forks=forks, wall=wall, cpu=cpu, debug=debug,
                    debug_cpu=debug_cpu, bare=bare, bare_cpu=bare_cpu, profile=sorted(profile, key=lambda task: -task[2]))

    # -- fan-out and scale (the role) ---------------------------------------------------------

    def environments(self, case, count, render_seconds, reports_per_env, simulators=None):
        """`count` environments and an inventory for them: one simulator each, whose reports share names but not ids;
        or, with `simulators`, that many simulators shared in turn (environment n on simulator n % simulators)."""
        hosts, served = {}, []
        for number in range(count):
            if simulators is None or number < simulators:
                reports = [{"id": 100 * (number + 1) + index, "org_id": 1, "name": "Report %d" % index,
                            "recipients": "team%d@example.com" % index} for index in range(reports_per_env)]
                # A state folder per case and environment: a reused one would hide a running simulator.
                served.append(self.simulator("%s-env%d" % (case, number), render_seconds, reports))
            sim = served[number % len(served)]
            hosts["env%d" % number] = {"report_delivery_url": sim.url, "report_delivery_token": TOKEN}
        deliveries = [{"name": "delivery-%d" % index, "report": "Report %d" % index, "use_emails_from_report": True}
                      for index in range(reports_per_env)]
        inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": self.python,
                                      "report_delivery_deliveries": deliveries},
                             "hosts": hosts}}
        return self.write("inventory-%s.json" % case, json.dumps(inventory)), served

    def role_run(self, inventory, forks, *extra, **kwargs):
        return self.timed([os.path.join(self.bin, "ansible-playbook"), "-i", inventory, "-f", str(forks),
                           "reportops.grafana.deliver", "-e", "report_delivery_ledger_path=%s" % os.path.join(self.work, "ledger-%s.json" % time.time())]
                          + list(extra), extra_env=kwargs.get("extra_env"))

    def fan_out(self):
        render, environments, per_env = 3.0, 4, 2
        inventory, simulators = self.environments("fan-out", environments, render, per_env)
        role = self.role_run(inventory, forks=environments)
        tasks = []
        for number, sim in enumerate(simulators):
            for index in range(per_env):
                body = {"id": str(100 * (number + 1) + index), "useEmailsFromReport": True}
                tasks.append({"name": "send", "ansible.builtin.uri": dict(self._uri_args(sim.url), body=body)})
        serial = self.timed([os.path.join(self.bin, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                             self.write("serial.yml", json.dumps([{"name": "serial", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))])
        sends = sum(sim.stats()["sends"] for sim in simulators)
        if sends != 2 * environments * per_env:
            raise RuntimeError("fan-out: %d sends, expected %d" % (sends, 2 * environments * per_env))
        return role, serial, render

    def exactly_once(self, runners=12, render=6.0):
        """Runners that share no file start one delivery together: with ledger=grafana, and with only their own files."""
        rows = []
        for ledger in ("grafana", "file"):
            sim = self.simulator("once-%s" % ledger, render)
            command = [os.path.join(self.bin, "ansible"), "localhost", "-m", "reportops.grafana.grafana_report_send", "-a"]
            started = time.perf_counter()
            processes = [subprocess.Popen(command + ["url=%s report_id=1 emails=%s delivery_key=weekly-once ledger=%s ledger_path=%s" % (
                sim.url, EMAILS, ledger, os.path.join(self.work, "once-%s-%d" % (ledger, number), "ledger.json"))],
                env=self.env, cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for number in range(runners)]
            outputs = [process.communicate()[0] for process in processes]
            wall = time.perf_counter() - started
            failed = sum(1 for process in processes if process.returncode != 0)
            sends = sim.stats()["by_route"].get("POST /api/reports/email", 0)
            skipped = sum(1 for output in outputs if "skipped_reason" in output)
            rows.append((ledger, runners, sends, skipped, failed, wall))
            sim.stop()
        return rows

    # -- exactly once as Grafana lists annotations ---------------------------------------------

    def wave(self, sim, runners, key, name):
        """`runners` send processes of one delivery started together: (sends, failed runs, wall s, wrong skips,
        the sender's module time in s or None, the median module time of the runs that skipped in s or None)."""
        command = [os.path.join(self.bin, "ansible"), "localhost", "-o", "-m", "reportops.grafana.grafana_report_send", "-a"]
        before = sim.stats()["by_route"].get("POST /api/reports/email", 0)
        started = time.perf_counter()
        processes = [subprocess.Popen(command + ["url=%s report_id=1 emails=%s delivery_key=%s ledger=grafana ledger_path=%s" % (
            sim.url, EMAILS, key, os.path.join(self.work, "%s-%d" % (name, number), "ledger.json"))],
            env=self.env, cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for number in range(runners)]
        outputs = [process.communicate(timeout=WAVE_TIMEOUT)[0] for process in processes]
        wall = time.perf_counter() - started
        failed = sum(1 for process in processes if process.returncode != 0)
        results = [json.loads(output.split(" => ", 1)[1]) for output, process in zip(outputs, processes) if process.returncode == 0]
        # A skip must name the holder or the record; anything else is a wrong outcome even without an error.
        wrong = sum(1 for result in results if not result.get("sent") and not any(
            words in result.get("skipped_reason", "") for words in ("another runner", "already sent")))
        sender = [result["elapsed"] for result in results if result.get("sent")]
        skipped = [result["elapsed"] for result in results if not result.get("sent")]
        return (sim.stats()["by_route"].get("POST /api/reports/email", 0) - before, failed, wall, wrong,
                sender[0] if len(sender) == 1 else None, statistics.median(skipped) if skipped else None)

    def listings(self, rounds, runners=12, later=6, render=6.0, search=0.4, tags=0.25):
        """The exactly-once scenario `rounds` times in a row on each listing: (listing, round, wave rows)."""
        rows = []
        for listing, two_queries in (("11.3+", True), ("before 11.3", False)):
            sim = self.simulator("listing-%s" % ("two" if two_queries else "one"), render)
            sim.settings(annotations_two_queries=two_queries, annotations_search_seconds=search, annotations_tag_seconds=tags)
            for number in range(1, rounds + 1):
                key = "weekly-%s-%d" % ("two" if two_queries else "one", number)
                first = self.wave(sim, runners, key, "%s-first" % key)
                second = self.wave(sim, later, key, "%s-later" % key)
                rows.append((listing, number, first, second))
                print("  %s round %d: %r %r" % (listing, number, first, second), flush=True)
            sim.stop()
        return rows

    def scale(self, counts, per_env=8, render=1.0, limit=4):
        """Per environment count: the role as it runs by default (the environments in one grafana_report_fleet run),
        its module's peak RSS, the same role with one module run per environment (report_delivery_fleet=false), and
        Ansible alone (ping, debug) over the same inventory and forks."""
        rows = []
        for count in counts:
            inventory, simulators = self.environments("scale-%d" % count, count, render, per_env)
            with PeakRss("AnsiballZ_grafana_report_fleet") as rss:
                wall = self.role_run(inventory, count)
            cpu = self.cpu
            peak = max(sim.stats()["max_concurrent_renders"] for sim in simulators)
            sends = sum(sim.stats()["sends"] for sim in simulators)
            if sends != count * per_env:
                raise RuntimeError("scale %d: %d sends, expected %d" % (count, sends, count * per_env))
            own_wall = self.role_run(inventory, count, "-e", "report_delivery_fleet=false")
            own_cpu = self.cpu
            ping = self.timed([os.path.join(self.bin, "ansible"), "all", "-i", inventory, "-f", str(count), "-m", "ansible.builtin.ping"])
            # Controller-only: the cost of one task per environment that never leaves the controller.
            debug = self.timed([os.path.join(self.bin, "ansible"), "all", "-i", inventory, "-f", str(count), "-m", "ansible.builtin.debug"])
            rows.append(dict(count=count, sends=count * per_env, wall=wall, floor=math.ceil(per_env / float(limit)) * render,
                             peak=peak, ping=ping, debug=debug, cpu=cpu, rss=rss.peak, own_wall=own_wall, own_cpu=own_cpu))
            for sim in simulators:
                sim.stop()
        return rows


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "%s, %d cores, Python %s, %s" % (cpu, os.cpu_count(), platform.python_version(), platform.platform())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", required=True, help="virtualenv with ansible-core")
    parser.add_argument("--repeat", type=int, default=8, help="runs per per-call measurement (median)")
    parser.add_argument("--book-repeat", type=int, help="runs of the playbook of 50 send tasks (median; default --repeat)")
    parser.add_argument("--scale", default="1,10,30,50", help="environment counts for the scale table")
    parser.add_argument("--large", type=int, default=200, metavar="ENVIRONMENTS",
                        help="environments of the CPU-bound run on 4 shared simulators (0: skip)")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    parser.add_argument("--listings", type=int, metavar="ROUNDS",
                        help="only the exactly-once scenario on both annotation listings, ROUNDS times each;"
                             " replaces that section of --output and leaves the rest")
    args = parser.parse_args()
    if args.listings:
        return listings_only(args)
    core = subprocess.run([os.path.join(args.venv, "bin", "ansible"), "--version"], capture_output=True, text=True,
                          check=True).stdout.splitlines()[0]
    with tempfile.TemporaryDirectory(prefix="reportops-bench-") as work:
        bench = Bench(args.venv, work, args.repeat)
        try:
            load = os.getloadavg()
            print("imports...", flush=True)
            imports = bench.imports()
            print("per call...", flush=True)
            (adhoc_module, adhoc_uri), (book_module, book_uri) = bench.per_call(args.book_repeat)
            print("fan-out...", flush=True)
            role, serial, render = bench.fan_out()
            print("exactly once...", flush=True)
            once = bench.exactly_once()
            print("scale...", flush=True)
            scale = bench.scale([int(count) for count in args.scale.split(",")])
            print("profile...", flush=True)
            import_profile = bench.import_profile()
            role_profile = bench.role_profile()
            large = None
            if args.large:
                print("large fleet...", flush=True)
                try:
                    large = bench.large(args.large)
                except RuntimeError as exc:  # the other figures are still written
                    large = dict(error=str(exc)[:1500], count=args.large)
        finally:
            bench.close()
        load_after = os.getloadavg()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (tests/bench/bench.py%s) on %s, with %s." % (
            "".join(" " + arg for arg in sys.argv[1:] if arg not in ("--output", args.output)), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), core),
        "",
        "Machine: %s." % machine(),
        "",
        "Every ratio compares two timings of the same run against the bundled simulator on loopback;",
        "the absolute seconds are this machine's and only show the scale.",
        "",
        "Load average (1, 5, 15 min) at the start: %.2f %.2f %.2f; at the end: %.2f %.2f %.2f. Other test runs may have"
        " shared the cores: figures of a busy machine vary by 10-30%%." % (load + load_after),
        "",
        "## Imports: what a module run imports, against what ansible.builtin.uri imports",
        "",
        "CPU of the imports alone, in a fresh Python each (.pyc compiled), the least of 9; `python -X importtime` names"
        " each module's share.",
        "",
        "| imports | CPU (ms) | / uri's |",
        "| --- | --- | --- |",
    ] + ["| %s | %.0f | %.2f |" % (name, cpu, cpu / imports[0][1]) for name, cpu in imports] + [
        "",
        "## Per call: grafana_report_send vs the same POST through ansible.builtin.uri",
        "",
        "Render time 0 s, so the figures are Ansible's and the module's own cost. Median of %d runs each (the playbook: %d),"
        " alternated." % (args.repeat, args.book_repeat or args.repeat),
        "",
        "| case | module (s) | uri (s) | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
        _per_call_row("ad-hoc `ansible localhost -m`", adhoc_module, adhoc_uri),
        _per_call_row("playbook of 50 send tasks", book_module, book_uri),
        "",
        "## Fan-out: the role, 2 reports in each of 4 environments, %.0f s render" % render,
        "",
        "| run | wall (s) |",
        "| --- | --- |",
        "| role `report_delivery` (the 4 environments in one grafana_report_fleet run) | %.2f |" % role,
        "| serial `uri` loop over the same 8 sends | %.2f |" % serial,
        "| ratio role / serial | %.2f (goal <= %.2f %s; floor: one render = %.2f) |"
        % (role / serial, FAN_OUT_GOAL, _verdict(role / serial <= FAN_OUT_GOAL), render / serial),
        "",
        "## Scale: environments with 8 reports each, 1 s render, 4 concurrent renders per Grafana",
        "",
        "Floor: the longest environment's render queue, ceil(8 / 4) x 1 s. Forks = the number of environments.",
        "",
        "The role as it runs by default: the environments (all `ansible_connection: local`) in one `grafana_report_fleet`",
        "run. Baselines of the same run, over the same inventory and forks: `ansible all -m debug` (one controller-only",
        "task per environment), `ansible all -m ping` (one module run per environment), and the role with",
        "`report_delivery_fleet=false` (one `grafana_report_deliver` run per environment, as before). CPU: the",
        "controller's, every process of the role's run (the simulators excluded). RSS: the peak of the one",
        "`grafana_report_fleet` process (VmHWM, sampled every 20 ms).",
        "",
        "| environments | sends | wall (s) | floor (s) | wall / floor | goal | peak concurrent renders per Grafana"
        " | debug (s) | wall / (debug + floor) | goal | CPU per environment (s) | goal | fleet process peak RSS (MB) | goal |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += ["| %d | %d | %.2f | %.2f | %.1f | %s | %d | %.2f | %.2f | %s | %.2f | <= %.1f %s | %.0f | %s |" % (
        row["count"], row["sends"], row["wall"], row["floor"], row["wall"] / row["floor"], _scale_goal(row["count"], row["wall"] / row["floor"]),
        row["peak"], row["debug"], row["wall"] / (row["debug"] + row["floor"]), _fleet_goal(row["count"], row["wall"] / (row["debug"] + row["floor"])),
        row["cpu"] / row["count"], CPU_PER_ENVIRONMENT_GOAL, _verdict(row["cpu"] / row["count"] <= CPU_PER_ENVIRONMENT_GOAL),
        row["rss"], _rss_goal(row["count"], row["rss"])) for row in scale]
    lines += [
        "",
        "One run for the environments of a play against one run per environment, same run and inventory:",
        "",
        "| environments | fleet wall (s) | one run per environment: wall (s) | ratio | ping (s) | fleet CPU per environment (s)"
        " | one run per environment: CPU per environment (s) | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += ["| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
        row["count"], row["wall"], row["own_wall"], row["wall"] / row["own_wall"], row["ping"], row["cpu"] / row["count"],
        row["own_cpu"] / row["count"], row["cpu"] / row["own_cpu"]) for row in scale]
    lines += [
        "",
        "## What is left",
        "",
        "What `grafana_report_send` imports beyond `ansible.module_utils.basic` (which `ansible.builtin.uri` imports too),"
        " from `python -X importtime` (cumulative, at least 4 ms; `urls` is imported at the first request, as `uri`"
        " does, and brings `cryptography` for channel binding):",
        "",
        "| module | cumulative import (ms) |",
        "| --- | --- |",
    ] + ["| %s | %.1f |" % row for row in import_profile] + [
        "",
        "The role's run over 10 environments (8 reports each, 1 s render), task by task (wall: from the task's start to"
        " the next's; CPU: the controller's in that time, workers included as they end):",
        "",
        "| task | wall (s) | CPU (s) |",
        "| --- | --- | --- |",
    ] + ["| %s | %.2f | %.2f |" % row for row in role_profile]
    if large and large.get("error"):
        lines += ["", "## A large fleet: %d environments" % large["count"], "", "Not measured: the run failed.", "", "```text",
                  large["error"], "```"]
    elif large:
        lines += [
            "",
            "## A large fleet: %d environments, where the controller's CPU is the limit" % large["count"],
            "",
            "%d environments served by %d simulators in turn, %d reports each, no render time, forks %d: the role's run"
            " against `ansible all -m debug` over the same inventory and forks. CPU: the controller's, every process."
            % (large["count"], large["simulators"], large["per_env"], large["forks"]),
            "",
            "| run | wall (s) | CPU (s) | CPU per environment (s) |",
            "| --- | --- | --- | --- |",
            "| role `report_delivery` | %.2f | %.2f | %.3f |" % (large["wall"], large["cpu"], large["cpu"] / large["count"]),
            "| `debug` | %.2f | %.2f | %.3f |" % (large["debug"], large["debug_cpu"], large["debug_cpu"] / large["count"]),
            "| ratio role / `debug` | %.2f | %.2f | |" % (large["wall"] / large["debug"], large["cpu"] / large["debug_cpu"]),
            "| role without its two speed tricks | %.2f | %.2f | %.3f |" % (large["bare"], large["bare_cpu"], large["bare_cpu"] / large["count"]),
            "| ratio role / role without them | %.2f | %.2f | |" % (large["wall"] / large["bare"], large["cpu"] / large["bare_cpu"]),
            "",
            "The two speed tricks of the role's main, named in roles/report_delivery/vars/main.yml: the plan task's name loads"
            " the role's filters in Ansible's main process before the environments' workers fork"
            " (`_report_delivery_load_filters`), and a task that applies to no environment is skipped once for the play"
            " rather than in a worker per environment (`run_once` from `_report_delivery_alone_plans` and"
            " `_report_delivery_archiving_plans`). The run without them sets those variables with `-e`.",
            "",
            "Where the role's CPU goes, task by task (a second run with the task profile), most first:",
            "",
            "| task | wall (s) | CPU (s) | CPU per environment (ms) |",
            "| --- | --- | --- | --- |",
        ] + ["| %s | %.2f | %.2f | %.1f |" % (task, wall, cpu, 1000 * cpu / large["count"]) for task, wall, cpu in large["profile"]]
    lines += [
        "",
        "## Exactly once: %d runners that share no file start one delivery together" % once[0][1],
        "",
        "Each runner is its own `ansible localhost -m reportops.grafana.grafana_report_send` process with its own",
        "`ledger_path` (as AWX jobs in fresh containers), one `delivery_key`, a 6 s render. The baseline is the",
        "same start with `ledger: file`, which only sees its own file.",
        "",
        "| ledger | runners | sends (POST /api/reports/email) | skipped | failed runs | wall (s) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += ["| %s | %d | %d | %d | %d | %.2f |" % row for row in once]
    lines += ["", "Sends with `ledger: grafana` / sends with the baseline: %d / %d = %.3f; wall time ratio %.2f." % (
        once[0][2], once[1][2], once[0][2] / float(max(once[1][2], 1)), once[0][5] / once[1][5])]
    lines += ["", "## Reading the figures", ""] + _readings(adhoc_module / adhoc_uri, book_module / book_uri, role / serial, scale)
    try:
        with open(args.output) as stream:
            kept = stream.read().partition(LISTINGS_HEADING)  # --listings writes that section; this run does not
    except OSError:
        kept = ("", "", "")
    if kept[1]:
        lines += ["", kept[1] + kept[2].split("\n## ", 1)[0].rstrip("\n")]
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as stream:
        stream.write("\n".join(lines) + "\n")
    print("\n".join(lines))


LISTINGS_HEADING = "## Exactly once as Grafana lists annotations"


def listings_only(args):
    """Run Bench.listings and put its section into --output in place of the old one (or at the end)."""
    core = subprocess.run([os.path.join(args.venv, "bin", "ansible"), "--version"], capture_output=True, text=True,
                          check=True).stdout.splitlines()[0]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reportops-bench-") as work:
        bench = Bench(args.venv, work, args.repeat)
        try:
            rows = bench.listings(args.listings)
        finally:
            bench.close()
    took = time.perf_counter() - started
    clean = [row for row in rows if row[2][0] == 1 and row[3][0] == 0 and not row[2][1] + row[2][3] + row[3][1] + row[3][3]]
    section = [
        LISTINGS_HEADING,
        "",
        "Written by `python tests/bench/bench.py --venv .venv/core-2.16 --listings %d` on %s, with %s, on the machine above"
        " while other test runs shared its cores; the whole run took %.0f s." % (args.listings, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), core, took),
        "",
        "Per round: 12 `ansible localhost -m reportops.grafana.grafana_report_send` processes started together, each with its",
        "own `ledger_path`, one new `delivery_key`, `ledger: grafana`, a 6 s render; when all are done, a later wave of 6.",
        "The simulator lists annotations as Grafana 11.3+ (a count, a dashboard search of 0.4 s, then the query cut to",
        "the count) or as before 11.3 (one query), and stores tags 0.125-0.25 s after the row in both.",
        "A correct round: 1 send and 0 in the later wave, no failed run, every skip naming the holder or the record.",
        "Module time is the module's own `elapsed` (the sender's includes the 6 s render; a skip's is the ledger's",
        "claim, listings and release); wall is from the first process start to the last process end.",
        "",
        "| listing | round | 12 runners: sends | failed | wrong skips | sender's module time (s) | median skip (s) | wall (s) |"
        " later 6: sends | failed | wrong skips | median skip (s) | wall (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    section += ["| %s | %d | %d | %d | %d | %s | %s | %.1f | %d | %d | %d | %s | %.1f |" % (
        listing, number, first[0], first[1], first[3], _seconds(first[4]), _seconds(first[5]), first[2],
        second[0], second[1], second[3], _seconds(second[5]), second[2]) for listing, number, first, second in rows]
    section += ["", "Correct rounds: %d of %d." % (len(clean), len(rows)), ""]
    try:
        with open(args.output) as stream:
            text = stream.read()
    except OSError:
        text = ""
    before, found, after = text.partition(LISTINGS_HEADING)
    rest = after[after.index("\n## ") + 1:] if found and "\n## " in after else ""
    head = before if found else (text.rstrip("\n") + "\n\n" if text else "")
    text = head + "\n".join(section) + ("\n" + rest if rest else "")
    with open(args.output, "w") as stream:
        stream.write(text)
    print("\n".join(section))
    return 0 if len(clean) == len(rows) else 1


def _seconds(value):
    return "-" if value is None else "%.1f" % value


def _readings(adhoc_ratio, book_ratio, fan_out_ratio, scale):
    """Plain words for each goal: met, or missed by how much, why, and what would close it."""
    readings = []
    worst = max(adhoc_ratio, book_ratio)
    if worst <= 1.0:
        readings.append("- Per call: the module costs no more than the hand-written `uri` task (worst ratio %.2f)." % worst)
    else:
        readings.append(
            "- Per call: missed by %.0f%% (worst ratio %.2f). Both are one Python process per task; the module's extra cost is"
            " its own work per task (a larger payload with the client and ledger module_utils, the argument checks)."
            " Figures taken while the machine is busy vary by 10-30%%;"
            " compare runs on a quiet machine." % ((worst - 1) * 100, worst))
    if fan_out_ratio <= FAN_OUT_GOAL:
        readings.append("- Fan-out: met (%.2f of the serial time, goal %.2f)." % (fan_out_ratio, FAN_OUT_GOAL))
    else:
        readings.append(
            "- Fan-out: missed by %.3f (%.3f against %.2f). Each environment is one module run that sends its reports in"
            " threads, so the renders overlap; what remains above one render time is Ansible's own start-up and its"
            " per-task cost (the playbook, the module run, the summary), Python processes on this machine's cores." % (
                fan_out_ratio - FAN_OUT_GOAL, fan_out_ratio, FAN_OUT_GOAL))
    for row in scale:
        count, ratio = row["count"], row["wall"] / (row["debug"] + row["floor"])
        goal = FLEET_GOALS.get(count)
        if goal is None:
            continue
        if ratio <= goal:
            readings.append("- Scale, %d environments: met (%.2f x debug + floor, goal %.1f)." % (count, ratio, goal))
        else:
            readings.append(
                "- Scale, %d environments: missed by %.2f (%.2f x debug + floor against %.1f). Grafana's render limit is"
                " not the bottleneck (peak concurrent renders per Grafana: %d, the most allowed); the controller's %d"
                " cores are: the role's tasks for each environment (planning, its result) cost Ansible a worker process"
                " each, like the `debug` row, and the one module run sends %d requests in threads." % (
                    count, ratio - goal, ratio, goal, row["peak"], os.cpu_count(), row["sends"] + count))
    for row in scale:
        cpu = row["cpu"] / row["count"]
        if row["count"] >= 10 and cpu > CPU_PER_ENVIRONMENT_GOAL:
            readings.append("- CPU, %d environments: %.2f s per environment against %.1f (%.2f with one run per"
                            " environment, %.2f of it): what is left is Ansible's per-host cost of the role's tasks."
                            % (row["count"], cpu, CPU_PER_ENVIRONMENT_GOAL, row["own_cpu"] / row["count"], row["cpu"] / row["own_cpu"]))
    return readings


def _rss_goal(count, rss):
    environments, goal = FLEET_RSS_GOAL
    return "< %d %s" % (goal, _verdict(rss < goal)) if count == environments else "-"


def _fleet_goal(count, ratio):
    goal = FLEET_GOALS.get(count)
    return "<= %.1f %s" % (goal, _verdict(ratio <= goal)) if goal else "-"


def _scale_goal(count, ratio):
    goal = SCALE_GOALS.get(count)
    return "<= %d %s" % (goal, _verdict(ratio <= goal)) if goal else "-"


def _per_call_row(case, module, uri):
    return "| %s | %.2f | %.2f | %.2f | <= 1.0 %s |" % (case, module, uri, module / uri, _verdict(module / uri <= 1.0))


def _verdict(met):
    return "(met)" if met else "(missed)"


if __name__ == "__main__":
    sys.exit(main())
