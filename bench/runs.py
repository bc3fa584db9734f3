"""Notebook runs as senders see them, called by bench/runs.sh:

    runs.py hookbook BASE TOKEN URL SECRET SERVER_PID SECONDS LABEL
    runs.py papermill NOTEBOOK RUNS
    runs.py sequential BASE TOKEN URL SECRET RUNS RATE SECONDS LABEL

hookbook: (a) one delivery at a time, each sent as soon as the previous job
ended (no other pause); (b) open-loop arrivals at 5 and at 10 deliveries a
second for SECONDS each; (c) a burst of 100 deliveries, and (e) the same
while intake takes 1,000 duplicate deliveries a second, alternately three
times each, compared by their medians, each with where the machine's CPU
went during its bursts (`burst`); (d) memory of the
warm kernels (proportional set size, so pages shared with the fork server
count once). Latency is from just before the webhook is posted to the
moment the notebook's first cell ran (it prints time.time()).
papermill: the same notebook from the command line, one run after another.
sequential (bench/pandas.sh): the first delivery alone, then (a) with RUNS
deliveries and (b) at RATE a second for SECONDS.
"""
import base64, concurrent.futures, hashlib, hmac, json, os, resource, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def first_cell_time(nb: dict) -> float:
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if out.get("output_type") == "stream" and "FIRST" in text:
                return float(text.split()[1])
    raise SystemExit("no first-cell time in the executed notebook")


class Hookbook:
    def __init__(self, base, token, url, secret):
        self.base, self.token, self.url, self.secret = base, token, url, secret

    def post(self, n) -> str:
        body = json.dumps({"n": n}).encode()
        sig = "sha256=" + base64.b64encode(hmac.new(self.secret.encode(), body, hashlib.sha256).digest()).decode()
        req = urllib.request.Request(self.url, data=body, headers={"x-esrihook-signature": sig, "content-type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.load(r)["jobId"]

    def job(self, job_id) -> dict:
        q = urllib.parse.urlencode({"f": "json", "token": self.token})
        with urllib.request.urlopen(f"{self.base}/admin/notebooks/jobs/{job_id}?{q}") as r:
            return json.load(r)

    def wait(self, job_id) -> dict:
        while True:
            j = self.job(job_id)
            if j["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                if j["status"] != "COMPLETED":
                    raise SystemExit(f"job {job_id} ended {j['status']}: {j['messages']}")
                return j
            time.sleep(0.005)

    def first_cell(self, job_id) -> float:
        q = urllib.parse.urlencode({"token": self.token})
        with urllib.request.urlopen(f"{self.base}/admin/notebooks/jobs/{job_id}/notebook?{q}") as r:
            return first_cell_time(json.load(r))

    def finish(self, sent):
        """Waits for every (sent time, job) and returns latencies in ms and
        the time the last one ended."""
        latencies, last_end = [], 0.0
        for at, job_id in sent:
            j = self.wait(job_id)
            last_end = max(last_end, j["endTime"] / 1000)
            latencies.append((self.first_cell(job_id) - at) * 1000)
        return latencies, last_end


def open_loop(hb, rate, seconds):
    """Posts at `rate` a second for `seconds`, each on time whatever the
    answers before it; returns the (sent, job) pairs and the start."""
    sent, lock = [], threading.Lock()
    start = time.time() + 0.2
    count = int(rate * seconds)

    def one(i):
        due = start + i / rate
        time.sleep(max(0.0, due - time.time()))
        at = time.time()
        job_id = hb.post(i)
        with lock:
            sent.append((at, job_id))

    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(one, range(count)))
    return sent, start


def memory(server_pid):
    """PSS in MiB of the fork server (if any) and of each warm kernel
    with its keeper."""
    def children(pid):
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    stat = open(f"/proc/{p}/stat").read()
                except OSError:
                    continue
                if int(stat[stat.rfind(")") + 1:].split()[1]) == pid:
                    out.append(int(p))
        return out

    def pss(pid):
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def tree(pid):
        """A warm kernel is its keeper (outside its sandbox) and the
        kernel itself: both count."""
        return pss(pid) + sum(tree(c) for c in children(pid))

    def is_fork_server(pid):
        return b"{'ready'" in open(f"/proc/{pid}/environ", "rb").read()

    kids = children(server_pid)
    servers = [k for k in kids if is_fork_server(k)]
    if servers:
        return pss(servers[0]), [tree(k) for k in children(servers[0])]
    return None, [tree(k) for k in kids]


PAIRS = 3


def median(values):
    return pct(values, .5)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies():
    """Busy and total time of all CPUs so far, from /proc/stat (busy: all
    but idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def own_cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def burst(hb, first, server_pid, generator_pid=None):
    """Posts 100 deliveries at once (32 senders) and returns runs per
    second, from the first post to the end of the last job, with where
    the machine's CPU went meanwhile: cores busy in all, the server's
    process, this client (its posts and its polls for the jobs' ends),
    the flood's generator (when there is one), and the rest (kernels,
    their keepers, the fork server, the Linux kernel's threads) in ms of
    CPU a run."""
    procs = {"server": server_pid}
    if generator_pid is not None:
        procs["generator"] = generator_pid
    busy0, total0 = machine_jiffies()
    cpu0 = {k: cpu_seconds(p) for k, p in procs.items()}
    own0, start = own_cpu(), time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        ids = list(pool.map(hb.post, range(first, first + 100)))
    _, last_end = hb.finish([(start, j) for j in ids])
    wall = time.time() - start
    busy1, total1 = machine_jiffies()
    cores = os.cpu_count() * (busy1 - busy0) / max(1, total1 - total0)
    account = {k: (cpu_seconds(p) - cpu0[k]) / wall for k, p in procs.items()}
    account["client"] = (own_cpu() - own0) / wall
    account["busy"] = cores
    account["rest"] = (cores - sum(account[k] for k in ("client", *procs))) * wall * 1000 / 100
    return 100 / (last_end - start), account


def where(accounts):
    """The medians of bursts' accounts, as a sentence."""
    m = {k: median([a[k] for a in accounts]) for k in accounts[0]}
    gen = f", the flood's generator {m['generator']:.2f}" if "generator" in m else ""
    return (f"{m['busy']:.2f} of {os.cpu_count()} cores busy: server {m['server']:.2f}, this client {m['client']:.2f}{gen}; "
            f"kernels and the rest {m['rest']:.0f} ms of CPU a run")


def during_flood(hb, url, secret, server_pid):
    """(e): a burst while a load generator (examples/flood.rs) sends 1,000
    deliveries a second of one delivery id, each a synced duplicate (a
    delivery-log line), so the flood writes as intake does without adding
    runs. Returns runs per second and where the CPU went (`burst`). The
    generator stops, saying why, on an answer that is
    not 2xx or when a second behind its schedule; the burst then fails."""
    time.sleep(2)
    body = json.dumps({"flood": True}).encode()
    sig = "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    load = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "examples", "flood")
    flood = subprocess.Popen(
        [load, url, "--rate", "1000", "--seconds", "600", "--body", body.decode(),
         "--header", f"x-esrihook-signature: {sig}", "--header", "x-github-delivery: flood",
         "--header", "content-type: application/json"],
        stdout=subprocess.DEVNULL)
    try:
        time.sleep(2)
        rate, account = burst(hb, 1000, server_pid, flood.pid)
        if flood.poll() is not None:
            raise SystemExit("the flood's load generator stopped before the burst ended")
        return rate, account
    finally:
        flood.kill()
        flood.wait()


def hookbook(base, token, url, secret, server_pid, seconds, label):
    hb = Hookbook(base, token, url, secret)
    print(f"== {label}")
    # (a) one at a time, each as soon as the previous one ended.
    sent = []
    for i in range(40):
        at = time.time()
        job_id = hb.post(i)
        hb.wait(job_id)
        sent.append((at, job_id))
    lat, _ = hb.finish(sent)
    a50 = pct(lat, .5)
    print(f"(a) one at a time, 40 deliveries: first cell p50 {a50:7.1f} ms  p99 {pct(lat, .99):7.1f} ms")
    # (b) open loop at 5 and 10 a second.
    b50 = {}
    for rate in (5, 10):
        sent, start = open_loop(hb, rate, seconds)
        lat, last_end = hb.finish(sent)
        b50[rate] = pct(lat, .5)
        print(f"(b) {rate:2d} a second for {seconds} s: first cell p50 {pct(lat, .5):7.1f} ms  p99 {pct(lat, .99):7.1f} ms  "
              f"completed {len(sent) / (last_end - start):5.2f} runs/s")
    # (c) a burst of 100, and (e) the same burst while intake takes a
    # flood, alternately PAIRS times; the medians are compared, since one
    # burst lasts seconds and this machine's speed drifts between them.
    quiet, flooded, quiet_cpu, flood_cpu = [], [], [], []
    for _ in range(PAIRS):
        time.sleep(2)
        rate, account = burst(hb, 0, server_pid)
        quiet.append(rate)
        quiet_cpu.append(account)
        rate, account = during_flood(hb, url, secret, server_pid)
        flooded.append(rate)
        flood_cpu.append(account)
    shown = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
    c, e = median(quiet), median(flooded)
    print(f"(c) a burst of 100 trivial deliveries: {c:5.2f} runs/s (median of {shown(quiet)}); {where(quiet_cpu)}")
    print(f"(e) the same burst during 1,000 deliveries a second of intake: {e:5.2f} runs/s (median of {shown(flooded)}), "
          f"{e / c:.0%} of (c); {where(flood_cpu)}")
    # (d) memory of the warm kernels, once the pool has refilled.
    time.sleep(3)
    server, kernels = memory(server_pid)
    shown = ", ".join(f"{k:.1f}" for k in kernels)
    fork = f"; fork server {server:.1f} MiB" if server is not None else ""
    print(f"(d) warm kernels, PSS: {shown} MiB{fork}")
    met = lambda ok: "met" if ok else "not met"
    print(f"targets: (a) p50 under 20 ms: {met(a50 < 20)}; (b) at 5 a second p50 under 20 ms: {met(b50[5] < 20)}; "
          f"(c) at least 15 runs/s: {met(c >= 15)}; (e) at least 80% of (c): {met(e >= .8 * c)}")


def papermill(notebook, runs):
    work = tempfile.mkdtemp()
    lat = []
    start_all = time.time()
    for i in range(runs):
        out = os.path.join(work, "out.ipynb")
        start = time.time()
        subprocess.run(["papermill", "--log-level", "ERROR", notebook, out, "-p", "n", str(i)], check=True, capture_output=True)
        lat.append((first_cell_time(json.load(open(out))) - start) * 1000)
    rate = runs / (time.time() - start_all)
    print(f"== papermill CLI, {runs} runs one after another")
    print(f"(a) start to first cell p50 {pct(lat, .5):7.1f} ms  p99 {pct(lat, .99):7.1f} ms;  {rate:5.2f} runs/s "
          "(one run after another: open-loop rates above this cannot be kept up with, and a burst runs at this rate)")


def sequential(base, token, url, secret, runs, rate, seconds, label):
    hb = Hookbook(base, token, url, secret)
    print(f"== {label}")
    at = time.time()
    job_id = hb.post(0)
    hb.wait(job_id)
    lat, _ = hb.finish([(at, job_id)])
    print(f"    the first delivery after start: first cell {lat[0]:7.1f} ms")
    sent = []
    for i in range(runs):
        at = time.time()
        job_id = hb.post(i)
        hb.wait(job_id)
        sent.append((at, job_id))
    lat, _ = hb.finish(sent)
    print(f"(a) one at a time, {runs} deliveries: first cell p50 {pct(lat, .5):7.1f} ms  p99 {pct(lat, .99):7.1f} ms")
    if seconds > 0:
        sent, start = open_loop(hb, rate, seconds)
        lat, last_end = hb.finish(sent)
        print(f"(b) {rate:g} a second for {seconds} s: first cell p50 {pct(lat, .5):7.1f} ms  p99 {pct(lat, .99):7.1f} ms  "
              f"completed {len(sent) / (last_end - start):5.2f} runs/s")


if __name__ == "__main__":
    if sys.argv[1] == "sequential":
        b, t, u, s, runs, rate, secs, label = sys.argv[2:10]
        sequential(b, t, u, s, int(runs), float(rate), int(secs), label)
    elif sys.argv[1] == "hookbook":
        b, t, u, s, pid, secs, label = sys.argv[2:9]
        hookbook(b, t, u, s, int(pid), int(secs), label)
    else:
        papermill(sys.argv[2], int(sys.argv[3]))
