"""Measures the console with many executions and a large graph (a measurement, not a test:
run it by hand, it prints figures and asserts nothing).

    PASSO_BIN=target/release/passo target/e2e-venv/bin/python tests/e2e/console_perf.py [N]

- N executions (default 100,000) of Pass machines started through the API, then the
  execution list endpoint timed (first page unfiltered, by machine, by a status none has, by
  name, the 100th page) and the Executions page in headless Chromium timed from the route
  change to the rows drawn.
- A 200-state definition (Choices, a Parallel, a Map): `passo graph --format svg` and the
  machine endpoint (layout + SVG) timed, and the machine page in Chromium until its graph is
  drawn.
"""

import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import server as srv
from server import ROLE_ARN, definition

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
THREADS = 8


def timed(fn, runs=15):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out), max(out)


def get(endpoint, path, **q):
    url = f"{endpoint}/console/api/{path}" + ("?" + urllib.parse.urlencode(q) if q else "")
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def big_definition(n=200):
    """n states: a chain of Pass and Choice states, with a Parallel and a Map in it."""
    states = {}
    for i in range(n):
        name, nxt = f"S{i}", f"S{i + 1}"
        if i == n - 1:
            states[name] = {"Type": "Succeed"}
        elif i % 10 == 5 and i + 3 < n:
            states[name] = {"Type": "Choice", "Choices": [
                {"Variable": "$.x", "NumericGreaterThan": i, "Next": f"S{i + 2}"}], "Default": nxt}
        elif i == 50:
            states[name] = {"Type": "Parallel", "Next": nxt, "Branches": [
                {"StartAt": f"B{b}", "States": {f"B{b}": {"Type": "Pass", "End": True}}} for b in range(3)]}
        elif i == 120:
            states[name] = {"Type": "Map", "Next": nxt, "ItemProcessor": {
                "StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}}}
        else:
            states[name] = {"Type": "Pass", "Next": nxt}
    return definition(states, start_at="S0")


def main():
    server = srv.PassoServer().start()
    sfn = server.client()
    try:
        machines = [sfn.create_state_machine(name=f"load-{k}", roleArn=ROLE_ARN,
                                             definition=definition({"P": {"Type": "Pass", "End": True}}))
                    ["stateMachineArn"] for k in range(4)]
        t0 = time.perf_counter()
        count = [0]
        lock = threading.Lock()

        def worker(k):
            c = server.client()
            for i in range(k, N, THREADS):
                c.start_execution(stateMachineArn=machines[i % 4], name=f"run-{i:06d}")
                if i % 10000 == 0:
                    with lock:
                        print(f"  started {i}", file=sys.stderr)
        ts = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print(f"started {N} executions in {time.perf_counter() - t0:.0f} s")
        srv.wait_until(lambda: not get(server.endpoint, "executions", status="RUNNING")["executions"],
                       timeout=600, interval=1, what="every execution to end")
        e = server.endpoint
        first = get(e, "executions")
        cursor = first["next"]
        for _ in range(98):
            cursor = get(e, "executions", after=cursor)["next"]
        cases = {
            "first page, no filter": lambda: get(e, "executions"),
            "first page, one machine": lambda: get(e, "executions", machine=machines[1]),
            "status none has (FAILED)": lambda: get(e, "executions", status="FAILED"),
            "name contains '09999'": lambda: get(e, "executions", name="09999"),
            "page 100 (cursor)": lambda: get(e, "executions", after=cursor),
        }
        for label, fn in cases.items():
            med, worst = timed(fn)
            print(f"executions endpoint, {label}: median {med:.1f} ms, max {worst:.1f} ms")

        from test_console import new_driver
        d = new_driver()
        try:
            page = []
            for _ in range(5):
                d.get(f"{e}/console/#/machines")
                time.sleep(0.5)
                page.append(d.execute_async_script(OPEN_AND_WAIT, "#/executions",
                                                   "#executions table tbody tr"))
            print(f"Executions page in Chromium, route change to {len(first['executions'])} rows drawn: "
                  f"median {statistics.median(page):.0f} ms, max {max(page):.0f} ms")

            big = sfn.create_state_machine(name="two-hundred", roleArn=ROLE_ARN,
                                           definition=big_definition())["stateMachineArn"]
            path = f"{srv.tempfile.gettempdir()}/passo-200-states.json"
            with open(path, "w") as f:
                f.write(big_definition())
            med, worst = timed(lambda: subprocess.run([server.binary, "graph", path, "--format", "svg"],
                                                      check=True, capture_output=True))
            print(f"passo graph --format svg, 200 states (process included): median {med:.1f} ms, max {worst:.1f} ms")
            med, worst = timed(lambda: get(e, "machine", arn=big))
            n = get(e, "machine", arn=big)["graph"]["states"]
            print(f"machine endpoint, {n} nodes (layout + SVG): median {med:.1f} ms, max {worst:.1f} ms")
            page = []
            for _ in range(5):
                d.get(f"{e}/console/#/machines")
                time.sleep(0.5)
                page.append(d.execute_async_script(OPEN_AND_WAIT, "#/machine/" + urllib.parse.quote(big, safe=""),
                                                   "svg.graph g.node"))
            print(f"machine page in Chromium, route change to graph drawn: median {statistics.median(page):.0f} ms, "
                  f"max {max(page):.0f} ms")
        finally:
            d.quit()
    finally:
        server.cleanup()


# Sets the hash and resolves with the milliseconds until SELECTOR matches (after paint).
OPEN_AND_WAIT = """
const [hash, selector, done] = arguments;
const t0 = performance.now();
location.hash = hash;
const check = () => {
  if (document.querySelector(selector)) {
    requestAnimationFrame(() => done(performance.now() - t0));
  } else {
    setTimeout(check, 2);
  }
};
check();
"""

if __name__ == "__main__":
    main()
