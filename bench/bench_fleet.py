"""A fleet against one broker: time from `publish` until every pump runs the
release, and the broker's and the gateways' memory, from 50 to 500 pumps.

    .venv/bin/python bench/bench_fleet.py [--pumps-per-gateway 25] [--gateways 2,4,10,20] [--json]
    .venv/bin/python bench/bench_fleet.py --tiny   # 1 gateway x 2 pumps: proves it runs (also BENCH_TINY=1)

One private Mosquitto (host_tools/fleet/broker.py: password file, ACL), G
gateway processes (the real host_tools/fleet/gateway.py), each with its
pumps in process: the firmware's Pump and PumpServer on in-memory storage,
behind one simulated cable each (tests/fleetkit.py Cable: 10 bit times per
byte at 115200 baud, both directions). The release is published with the
real publisher (the pump's verification first); "converged" is when the
retained status of every pump says it runs the new version (what
`druglib fleet` sees), each gateway then confirms on its pumps themselves.

Baseline in the same run: one push of the same library to one pump over the
same kind of cable, without broker or gateway (PumpLink.push). Figures:
convergence time, its ratio to the baseline push, and per size the
broker's resident memory (VmRSS, peak VmHWM) and each gateway process's
(with its in-process pumps; the memory before its gateway started is shown
apart). Growth is each figure at N pumps over the same figure at the
smallest N. Gateways poll their pumps every 30 s: a release reaches
the pumps by the broker's push, not by polling.
"""
import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

POLL_S = 30.0
BAUD = 115200


def rss_kb(pid="self"):
    out = {}
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out.get("VmRSS"), out.get("VmHWM")


# --- the child: one gateway and its pumps ---
def child(args):
    from fleetkit import MemPump
    from host_tools.fleet.gateway import Gateway
    from host_tools.fleet.mqtt import BrokerSpec
    from host_tools.link.client import PumpLink

    with open(args.trust_text) as f:
        trust_text = f.read()
    pumps = [MemPump(trust_text, "%s-p%02d" % (args.ward, i), BAUD) for i in range(args.pumps)]
    before = rss_kb()[0]
    spec = BrokerSpec("127.0.0.1", args.broker_port, False, "gateway-" + args.ward, args.password)
    gw = Gateway(spec, args.ward, "gw-" + args.ward, [p.cable for p in pumps], lambda c: PumpLink(port=c, baud=BAUD),
                 poll_s=POLL_S, heartbeat_s=60).start()
    ok = all(w.online for w in gw.workers)
    deadline = time.monotonic() + 60
    while not (gw.connected.is_set() and all(w.online for w in gw.workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    ok = gw.connected.is_set() and all(w.online for w in gw.workers)
    print(json.dumps({"ready": ok, "rss_kb_pumps_only": before}), flush=True)
    for line in sys.stdin:
        if line.strip() == "report":
            rss, hwm = rss_kb()
            print(json.dumps({"rss_kb": rss, "hwm_kb": hwm, "versions": [p.version() for p in pumps]}), flush=True)
        elif line.strip() == "quit":
            break
    gw.stop()
    return 0


# --- the parent ---
class Child:
    def __init__(self, port, ward, password, pumps, trust_text):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", "--broker-port", str(port),
                                      "--ward", ward, "--password", password, "--pumps", str(pumps),
                                      "--trust-text", trust_text],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)

    def ask(self, what, timeout=120):
        if what:
            self.proc.stdin.write(what + "\n")
            self.proc.stdin.flush()
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise RuntimeError("gateway child did not answer %r" % what)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("gateway child exited (status %s)" % self.proc.poll())
        return json.loads(line)

    def quit(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)


def baseline_push(kit):
    from fleetkit import MemPump
    from host_tools.link.client import PumpLink

    p = MemPump(kit.trust_text, "baseline", BAUD)
    t0 = time.perf_counter()
    r = PumpLink(port=p.cable, baud=BAUD).push(kit.blob)
    dt = time.perf_counter() - t0
    assert r["status"] == "installed" and p.version() == kit.version
    return dt


def run_size(tmp, kit, gateways, per):
    from host_tools.fleet import topics
    from host_tools.fleet.broker import Broker
    from host_tools.fleet.mqtt import BrokerSpec, Session
    from host_tools.fleet.publisher import publish
    from firmware.release import trust as fw_trust

    wards = ["w%02d" % i for i in range(gateways)]
    users = [("release-station", "release", None, "rel-pw"), ("fleet-view", "viewer", None, "view-pw")] + \
            [("gateway-" + w, "gateway", w, "pw-" + w) for w in wards]
    folder = os.path.join(tmp, "broker-%d" % gateways)
    b = Broker(folder, users).start()
    trust_file = os.path.join(tmp, "trust.json")
    with open(trust_file, "w") as f:
        f.write(kit.trust_text)
    kids = []
    try:
        broker_idle = rss_kb(b.pid())[0]
        kids = [Child(b.port, w, "pw-" + w, per, trust_file) for w in wards]
        ready = [k.ask(None) for k in kids]
        if not all(r["ready"] for r in ready):
            raise RuntimeError("a gateway did not get ready: %r" % ready)
        total = gateways * per
        view = Session(BrokerSpec("127.0.0.1", b.port, False, "fleet-view", "view-pw"), "bench-view")
        done = threading.Event()
        seen = {}

        def on_message(client, userdata, msg):
            Session._on_message(view, client, userdata, msg)
            try:
                st = json.loads(msg.payload)
            except ValueError:
                return
            if st.get("version") == kit.version:
                seen[msg.topic] = time.perf_counter()
                if len(seen) >= total:
                    done.set()

        view.client.on_message = on_message
        view.retained([topics.PUMPS_ALL], quiet=0.3)
        t0 = time.perf_counter()
        publish(BrokerSpec("127.0.0.1", b.port, False, "release-station", "rel-pw"), kit.blob,
                fw_trust.parse(kit.trust_text), quiet=0.2)
        converged = done.wait(300)
        t1 = max(seen.values()) if seen else time.perf_counter()
        view.close()
        reports = [k.ask("report") for k in kids]
        if not converged or any(v != kit.version for r in reports for v in r["versions"]):
            raise RuntimeError("not converged: %d of %d pumps" % (len(seen), total))
        brss, bhwm = rss_kb(b.pid())
        gw = [r["rss_kb"] for r in reports]
        pumps_only = [r["rss_kb_pumps_only"] for r in ready]
        return {"pumps": total, "gateways": gateways, "converge_s": round(t1 - t0, 3),
                "broker_rss_kb": brss, "broker_hwm_kb": bhwm, "broker_idle_rss_kb": broker_idle,
                "gateway_rss_kb_mean": round(sum(gw) / len(gw)), "gateway_rss_kb_max": max(gw),
                "gateway_pumps_only_rss_kb_mean": round(sum(pumps_only) / len(pumps_only)),
                "gateways_rss_kb_total": sum(gw)}
    finally:
        for k in kids:
            k.quit()
        b.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--broker-port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ward", help=argparse.SUPPRESS)
    ap.add_argument("--password", help=argparse.SUPPRESS)
    ap.add_argument("--pumps", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--trust-text", help=argparse.SUPPRESS)
    ap.add_argument("--pumps-per-gateway", type=int, default=25)
    ap.add_argument("--gateways", default="2,4,10,20", help="gateway counts, one run each")
    ap.add_argument("--tiny", action="store_true", help="1 gateway x 2 pumps (also BENCH_TINY=1)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.child:
        return child(args)
    from fleetkit import MOSQUITTO

    if not MOSQUITTO:
        print("bench_fleet: skipped: mosquitto is not installed (Debian package mosquitto)")
        return 0
    from conftest_signing import Kit

    tiny = args.tiny or os.environ.get("BENCH_TINY") == "1"
    sizes = [1] if tiny else [int(x) for x in args.gateways.split(",")]
    per = 2 if tiny else args.pumps_per_gateway
    tmp = tempfile.mkdtemp(prefix="bench-fleet-")
    try:
        kit = Kit(tmp, version=2)
        base = baseline_push(kit)
        rows = [run_size(tmp, kit, g, per) for g in sizes]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    first = rows[0]
    for r in rows:
        r["converge_over_one_push"] = round(r["converge_s"] / base, 1)
        for k in ("converge_s", "broker_rss_kb", "gateways_rss_kb_total", "gateway_rss_kb_mean"):
            r["growth_" + k] = round(r[k] / first[k], 2) if first[k] else None
    if args.json:
        print(json.dumps({"baseline_one_push_s": round(base, 4), "library_bytes": len(kit.blob), "baud": BAUD,
                          "rows": rows}, indent=2))
        return 0
    print("fleet: publish -> every pump runs it; %d-byte library, %d baud cables; baseline one push %.1f ms"
          % (len(kit.blob), BAUD, base * 1000))
    print("%6s %4s %9s %9s %8s %11s %11s %12s %12s %9s" % (
        "pumps", "gws", "converge", "x 1 push", "growth", "broker RSS", "broker HWM", "gw RSS mean",
        "gw w/o gw", "gw total"))
    for r in rows:
        print("%6d %4d %8.2fs %9.1f %8.2f %9d kB %9d kB %9d kB %9d kB %6d MB" % (
            r["pumps"], r["gateways"], r["converge_s"], r["converge_over_one_push"], r["growth_converge_s"],
            r["broker_rss_kb"], r["broker_hwm_kb"], r["gateway_rss_kb_mean"], r["gateway_pumps_only_rss_kb_mean"],
            r["gateways_rss_kb_total"] // 1024))
    print("growth = figure at N pumps / figure at %d pumps; 'gw w/o gw' = a gateway process's memory with its "
          "pumps before its gateway started" % first["pumps"])
    last = rows[-1]
    print("ratio converge at %d pumps / one direct push %.1f" % (last["pumps"], last["converge_over_one_push"]))
    if len(rows) > 1:
        print("ratio converge at %d / at %d pumps %.2f" % (last["pumps"], first["pumps"], last["growth_converge_s"]))
        print("ratio broker RSS at %d / at %d pumps %.2f" % (last["pumps"], first["pumps"],
                                                             last["growth_broker_rss_kb"]))
        print("ratio one gateway's RSS at %d / at %d pumps %.2f" % (last["pumps"], first["pumps"],
                                                                    last["growth_gateway_rss_kb_mean"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
