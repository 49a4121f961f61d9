"""At the bench (issue 11 item 7, and item 6's last clause): `druglib ports`,
`-p` and `DRUGLIB_PORT`, exclusive port opening, one `--baud` check for every
command, and a multi-pump push that prints each pump's result as it ends and
then a summary table. Real subprocesses on real pumpsim ptys (firmware under
MicroPython), as tests/test_pumpsim_e2e.py does."""
import json
import os
import select
import subprocess
import time

import pytest

from pumpsimproc import DRUGLIB, ROOT, Sim, wait_for

LIB = os.environ["DRUGLIB_RELEASED_LIBRARY"]
TRUST = os.environ["DRUGLIB_TRUST"]


def run(*args, env_port=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "DRUGLIB_PORT"}
    if env_port is not None:
        env["DRUGLIB_PORT"] = env_port
    return subprocess.run(DRUGLIB + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)


@pytest.fixture
def sim(tmp_path):
    sims = []

    def start(*extra, name="pump"):
        s = Sim(tmp_path / name, TRUST, *extra)
        sims.append(s)
        return s

    yield start
    for s in sims:
        s.kill()


def flocked(path):
    """True while some process holds a flock on the device `path` (/proc/locks
    lists FLOCK entries by major:minor:inode)."""
    st = os.stat(path)
    ident = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    with open("/proc/locks") as f:
        return any(" FLOCK " in line and ident in line for line in f)


# --- druglib ports ------------------------------------------------------------------------------

def test_ports_lists_what_pyserial_finds_as_a_table_and_as_json():
    from serial.tools import list_ports

    expected = sorted(p.device for p in list_ports.comports())
    p = run("ports", "--json")
    assert p.returncode == 0 and p.stderr == ""
    listed = json.loads(p.stdout)
    assert [d["device"] for d in listed] == expected
    assert all(set(d) >= {"device", "description", "hwid", "vid", "pid", "serial_number"} for d in listed)
    t = run("ports")
    assert t.returncode == 0 and t.stderr == ""
    if expected:
        assert t.stdout.splitlines()[0].split() == ["device", "description", "hardware", "id"]
        for dev in expected:
            assert any(line.startswith(dev + " ") or line == dev for line in t.stdout.splitlines())
        assert "%d port(s)" % len(expected) in t.stdout
    else:
        assert t.stdout.startswith("no serial ports found")


def test_ports_table_shows_usb_ids_and_says_clearly_when_there_is_none():
    from host_tools.cli.pumps.ports import table

    none = table([])
    assert none.startswith("no serial ports found") and "pumpsim" in none and "\n" not in none
    text = table([{"device": "/dev/ttyUSB0", "description": "CP2102 USB to UART Bridge Controller",
                   "hwid": "USB VID:PID=10C4:EA60 SER=0001 LOCATION=1-1"},
                  {"device": "/dev/ttyS0", "description": "n/a", "hwid": "n/a"}])
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["device", "description"] and set(lines[1]) <= {"-", " "}
    assert "10C4:EA60" in lines[2] and lines[2].startswith("/dev/ttyUSB0")
    assert lines[3].split() == ["/dev/ttyS0", "-", "-"]  # pyserial's "n/a" shown as "-"
    assert lines[-1].startswith("2 port(s)")


# --- one --baud check, one missing-port message ---------------------------------------------------

COMMANDS = {  # every command that takes --baud, with its other required arguments
    "push": ["push", "-p", "/dev/null", LIB],
    "info": ["info", "-p", "/dev/null"],
    "log": ["log", "-p", "/dev/null"],
    "simulate": ["simulate", "-p", "/dev/null", "scenario.json"],
    "gateway": ["gateway", "--broker", "mqtt://gateway-icu@127.0.0.1:1", "-p", "/dev/null"],
    "pumpsim": ["pumpsim", "--state", "/tmp/nowhere", "--trust", TRUST],
}


@pytest.mark.parametrize("bad", ["0", "-9600", "12.5", "fast", "299", "4000001", ""])
def test_every_command_refuses_a_bad_baud_with_the_same_line(bad):
    messages = set()
    for name, argv in COMMANDS.items():
        p = run(*argv, "--baud", bad)
        assert p.returncode == 2 and p.stdout == "", (name, p.stderr)
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: druglib %s: argument --baud: " % name), p.stderr
        messages.add(lines[0].split("argument --baud: ", 1)[1])
    assert messages == {"must be a whole number of bits per second from 300 to 4000000 (got %r)" % bad}


def test_a_command_without_port_or_DRUGLIB_PORT_says_how_to_name_one():
    for argv in (["push", LIB], ["info"], ["log"], ["gateway", "--broker", "mqtt://gateway-icu@127.0.0.1:1"]):
        p = run(*argv)
        assert p.returncode == 2 and p.stderr == \
            "error: no pump port: give --port URL (or -p URL), or set DRUGLIB_PORT\n", (argv, p.stderr)
    p = run("info", env_port="")  # set but empty: as if unset
    assert p.returncode == 2 and "set DRUGLIB_PORT" in p.stderr


# --- -p, DRUGLIB_PORT, exclusive opening ---------------------------------------------------------

def test_dash_p_and_DRUGLIB_PORT_name_the_pump_and_port_overrides_the_variable(sim):
    s = sim()
    p = run("push", LIB, env_port=s.port)  # no --port at all: $DRUGLIB_PORT
    assert p.returncode == 0, p.stderr
    assert "installed version 3 (was 0)" in p.stdout and s.port in p.stdout
    i = run("info", "--json", env_port=s.port)
    assert i.returncode == 0 and json.loads(i.stdout)["version"] == 3
    # a --port (or -p) on the command line wins over the variable, which names a missing device here
    for flag in ("-p", "--port"):
        i = run("info", flag, s.port, "--json", env_port="/dev/no-such-pump")
        assert i.returncode == 0, i.stderr
        assert json.loads(i.stdout)["port"] == s.port
    lg = run("log", "-p", s.port, "--json")
    assert lg.returncode == 0 and json.loads(lg.stdout)["verified"]
    wrong = run("info", env_port="/dev/no-such-pump")
    assert wrong.returncode != 0 and wrong.stderr.startswith("error: cannot open port /dev/no-such-pump")


def test_a_second_command_on_a_busy_port_gets_one_clear_line_and_the_push_goes_on(sim):
    """Story: a push runs at 1200 baud; a colleague runs `druglib info` on the
    same pty. The second command is refused with one line, its frames never
    reach the pump, the push ends installed, and the port is free again after."""
    s = sim("--baud", "1200")  # slow enough (several seconds) that the second commands surely meet the push
    push = subprocess.Popen(DRUGLIB + ["push", "-p", s.port, LIB, "--baud", "1200", "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    others = []
    try:
        assert wait_for(lambda: flocked(s.port) or push.poll() is not None, 30)
        assert push.poll() is None, "the push ended before the test could race it"
        env = {k: v for k, v in os.environ.items() if k != "DRUGLIB_PORT"}
        others = [subprocess.Popen(DRUGLIB + argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
                  for argv in (["info", "-p", s.port, "--baud", "1200"], ["push", "-p", s.port, LIB])]
        second, third = [subprocess.CompletedProcess(o.args, o.wait(60), *o.communicate(timeout=60))
                         for o in others]
        assert push.poll() is None, "the push ended while the second command ran: the race proves nothing"
        out, err = push.communicate(timeout=120)
    finally:
        for proc in [push] + others:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert second.returncode == 1 and second.stdout == ""
    assert second.stderr == ("error: port %s is busy: another program (or another druglib command) has it "
                             "open; wait for it to finish, then try again\n" % s.port)
    assert third.returncode == 1 and third.stdout.startswith("%s: FAILED LINK: port %s is busy" % (s.port, s.port))
    assert push.returncode == 0, err
    res = json.loads(out)["pumps"][0]
    assert res["outcome"] == "installed" and res["retransmissions"] == 0  # nobody else talked on its line
    assert not flocked(s.port)
    after = run("info", "-p", s.port, "--baud", "1200", "--json")
    assert after.returncode == 0 and json.loads(after.stdout)["version"] == 3


# --- multi-pump push: results as they end, then the summary table ----------------------------------

def test_multi_pump_push_prints_each_result_as_it_ends_then_a_summary_table(sim):
    fast, slow = sim(name="fast"), sim("--baud", "1200", name="slow")
    assert run("push", "-p", fast.port, LIB).returncode == 0  # the fast pump already runs v3: "same"
    missing = "/dev/no-such-pump"
    push = subprocess.Popen(DRUGLIB + ["push", "-p", slow.port, "-p", missing, "-p", fast.port, LIB,
                                       "--baud", "1200"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    lines, early = [], []
    buf = b""
    try:
        deadline = time.monotonic() + 120
        while push.poll() is None and time.monotonic() < deadline:
            r, _, _ = select.select([push.stdout], [], [], 0.2)
            if r:
                chunk = os.read(push.stdout.fileno(), 4096)
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    lines.append(line.decode())
                    early.append(push.poll() is None)
        rest, err = push.communicate(timeout=60)
    finally:
        if push.poll() is None:
            push.kill()
            push.wait(10)
    lines += (buf + rest).decode().splitlines()
    # the missing pump's and the fast pump's lines came while the slow pump was still loading
    assert lines[0].startswith(missing + ": FAILED LINK: cannot open port") and early[0]
    assert lines[1].startswith(fast.port + " (") and ": same: version 3" in lines[1] and early[1]
    assert lines[2].startswith(slow.port + " (") and ": installed version 3 (was 0)" in lines[2]
    table = lines[3:]
    assert table[0].split() == ["pump", "old", "new", "result", "time"] and set(table[1]) <= {"-", " "}
    rows = [t.split() for t in table[2:5]]
    assert [r[0] for r in rows] == [slow.port, missing, fast.port]  # in the order given
    assert rows[0][2:5] == ["0", "3", "installed"] and rows[0][-1] == "s"
    assert rows[1][1:5] == ["-", "-", "FAILED", "LINK"]
    assert rows[2][2:5] == ["3", "3", "same"]
    assert float(rows[0][-2]) > float(rows[2][-2])  # the slow pump took longer
    assert table[5] == "2 of 3 pump(s) run the library"
    assert push.returncode == 1 and err.decode().startswith("error: 1 of 3 pump(s) did not take")


def test_multi_pump_push_json_carries_each_pumps_time(sim):
    a, b = sim(name="a"), sim(name="b")
    p = run("push", "-p", a.port, "-p", b.port, LIB, "--json")
    assert p.returncode == 0, p.stderr
    pumps = json.loads(p.stdout)["pumps"]
    assert [x["outcome"] for x in pumps] == ["installed", "installed"]
    assert all(isinstance(x["seconds"], float) and x["seconds"] > 0 for x in pumps)
