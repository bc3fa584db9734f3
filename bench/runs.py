"""Webhook-to-first-cell latency and run throughput: hookbook's warm pool
against papermill from the command line, in one run. Called by bench/runs.sh."""
import base64, hashlib, hmac, json, os, statistics, subprocess, sys, tempfile, time, urllib.parse, urllib.request

base, token, url, secret, item_notebook, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])


def post(body: bytes) -> str:
    sig = "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    req = urllib.request.Request(url, data=body, headers={"x-esrihook-signature": sig, "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["jobId"]


def job(job_id: str) -> dict:
    q = urllib.parse.urlencode({"f": "json", "token": token})
    with urllib.request.urlopen(f"{base}/admin/notebooks/jobs/{job_id}?{q}") as r:
        return json.load(r)


def first_cell_time(nb: dict) -> float:
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if out.get("output_type") == "stream" and "FIRST" in text:
                return float(text.split()[1])
    raise SystemExit("no first-cell time in the executed notebook")


def wait(job_id: str) -> dict:
    while True:
        j = job(job_id)
        if j["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            if j["status"] != "COMPLETED":
                raise SystemExit(f"job {job_id} ended {j['status']}: {j['messages']}")
            return j
        time.sleep(0.05)  # the latency is read from the notebook, not from polling


def executed(job_id: str) -> dict:
    q = urllib.parse.urlencode({"token": token})
    with urllib.request.urlopen(f"{base}/admin/notebooks/jobs/{job_id}/notebook?{q}") as r:
        return json.load(r)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


# (a) latency, one delivery at a time, giving the pool time to refill.
hb = []
for i in range(runs):
    sent = time.time()
    j = post(json.dumps({"n": i}).encode())
    wait(j)
    hb.append((first_cell_time(executed(j)) - sent) * 1000)
    time.sleep(0.6)

pm = []
work = tempfile.mkdtemp()
for i in range(max(10, runs // 5)):
    out = os.path.join(work, "out.ipynb")
    start = time.time()
    subprocess.run(["papermill", "--log-level", "ERROR", item_notebook, out, "-p", "n", str(i)], check=True, capture_output=True)
    pm.append((first_cell_time(json.load(open(out))) - start) * 1000)

print(f"== webhook (or papermill start) to first cell, ms ({runs} hookbook runs, {len(pm)} papermill runs)")
print(f"{'':24} {'p50':>9} {'p99':>9}")
print(f"{'hookbook warm pool':24} {pct(hb, .5):9.1f} {pct(hb, .99):9.1f}")
print(f"{'papermill CLI':24} {pct(pm, .5):9.1f} {pct(pm, .99):9.1f}")
print(f"ratio of p50: papermill / hookbook = {pct(pm, .5) / pct(hb, .5):.0f}x")

# (b) throughput: a burst of trivial runs, against papermill back to back.
burst = max(20, runs // 2)
start = time.time()
ids = [post(json.dumps({"burst": i}).encode()) for i in range(burst)]
for j in ids:
    wait(j)
hb_rate = burst / (time.time() - start)
n = 8
start = time.time()
for i in range(n):
    subprocess.run(["papermill", "--log-level", "ERROR", item_notebook, os.path.join(work, "out.ipynb")], check=True, capture_output=True)
pm_rate = n / (time.time() - start)
print(f"== runs completed per second ({burst} hookbook runs in a burst, {n} papermill runs back to back)")
print(f"{'hookbook warm pool':24} {hb_rate:9.2f}")
print(f"{'papermill CLI':24} {pm_rate:9.2f}")
print(f"ratio: hookbook / papermill = {hb_rate / pm_rate:.1f}x")

with urllib.request.urlopen(base.rsplit("/", 1)[0] + "/metrics") as r:
    metrics = r.read().decode()
vals = {l.split()[0]: float(l.split()[1]) for l in metrics.splitlines() if l.startswith("hookbook_run_start_seconds_")}
if vals.get("hookbook_run_start_seconds_count"):
    mean = vals["hookbook_run_start_seconds_sum"] / vals["hookbook_run_start_seconds_count"] * 1000
    print(f"mean time from acceptance to a kernel in hand (hookbook_run_start_seconds): {mean:.1f} ms")
