"""Mosquitto configuration for the fleet (docs/fleet.md, "Security") and a
runner that starts a private broker (tests, bench, trying it out).

Roles, each a broker user with a password:
  release   the release station: the only writer of druglib/v1/release/#
  gateway   one per ward gateway: reads the release, writes only under its ward
  viewer    the fleet view: reads everything, writes nothing

    python -m host_tools.fleet.broker --ward icu --ward oncology   # prints an ACL

The shipped example (deploy/mosquitto/) is this module's output for the
wards in EXAMPLE_USERS; a test keeps the two identical.
"""
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from host_tools.errors import DruglibError
from host_tools.fleet import topics

EXAMPLE_USERS = [("release-station", "release", None), ("gateway-icu", "gateway", "icu"),
                 ("gateway-oncology", "gateway", "oncology"), ("fleet-view", "viewer", None)]


def acl_text(users):
    """Mosquitto ACL (mosquitto.conf(5), acl_file): `users` is [(name, role, ward)]."""
    out = ["# druglib fleet ACL (docs/fleet.md). Anything not listed is denied.", ""]
    for name, role, ward in users:
        topics.check_name(name, "broker user")
        out.append("user %s" % name)
        if role == "release":
            out += ["topic readwrite %s/release/#" % topics.ROOT, "topic read %s/ward/#" % topics.ROOT]
        elif role == "gateway":
            out += ["topic read %s/release/#" % topics.ROOT, "topic readwrite %s/#" % topics.ward_root(ward)]
        elif role == "viewer":
            out += ["topic read %s/#" % topics.ROOT]
        else:
            raise DruglibError("unknown broker role %r" % role)
        out.append("")
    return "\n".join(out)


def conf_text(port, passwd, acl, persistence_dir, bind="127.0.0.1", tls=None, log_dest="stderr", run_as=None):
    """mosquitto.conf for one listener; `tls`: (cafile, certfile, keyfile) or None;
    `run_as`: the user mosquitto keeps when started as root (default: it drops to `mosquitto`)."""
    lines = ["# druglib fleet broker (docs/fleet.md)"] + (["user %s" % run_as] if run_as else []) + [
             "per_listener_settings false",
             "allow_anonymous false",
             "password_file %s" % passwd,
             "acl_file %s" % acl,
             "persistence true",
             "persistence_location %s/" % persistence_dir.rstrip("/"),
             "autosave_interval 30",
             "max_inflight_messages 20",
             "max_packet_size 8388608",
             "log_dest %s" % log_dest,
             "log_type error", "log_type warning", "log_type notice",
             "listener %d %s" % (port, bind)]
    if tls:
        lines += ["cafile %s" % tls[0], "certfile %s" % tls[1], "keyfile %s" % tls[2], "tls_version tlsv1.2"]
    return "\n".join(lines) + "\n"


def find_exe(name):
    for cand in (shutil.which(name), "/usr/sbin/" + name, "/usr/bin/" + name, "/usr/local/sbin/" + name):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A private Mosquitto on 127.0.0.1: generated config, password file
    (mosquitto_passwd), ACL, persistence. `users`: [(name, role, ward, password)]."""

    def __init__(self, folder, users, port=None, tls=None):
        self.exe, self.passwd_exe = find_exe("mosquitto"), find_exe("mosquitto_passwd")
        if not self.exe or not self.passwd_exe:
            raise DruglibError("mosquitto is not installed (Debian package mosquitto)")
        self.folder = os.path.abspath(folder)
        os.makedirs(os.path.join(self.folder, "db"), exist_ok=True)
        self.port = port or free_port()
        self.users = users
        self.passwords = {u[0]: u[3] for u in users}
        self.conf = os.path.join(self.folder, "mosquitto.conf")
        passwd = os.path.join(self.folder, "passwd")
        acl = os.path.join(self.folder, "acl")
        with open(acl, "w") as f:
            f.write(acl_text([u[:3] for u in users]))
        if os.path.exists(passwd):
            os.unlink(passwd)
        for i, (name, _r, _w, pw) in enumerate(users):
            subprocess.run([self.passwd_exe] + (["-c"] if i == 0 else []) + ["-b", passwd, name, pw],
                           check=True, capture_output=True, timeout=30)
        with open(self.conf, "w") as f:
            # a private broker runs as whoever starts it (as root it would otherwise
            # drop to user mosquitto, who cannot read a private temporary folder)
            f.write(conf_text(self.port, passwd, acl, os.path.join(self.folder, "db"), tls=tls,
                              run_as=getpass.getuser()))
        self.proc = None
        self.log_path = os.path.join(self.folder, "mosquitto.log")

    def start(self, timeout=20):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.exe, "-c", self.conf], stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DruglibError("mosquitto exited with status %s: %s" % (self.proc.returncode, self.tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise DruglibError("mosquitto did not listen on port %d within %d s" % (self.port, timeout))

    def tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=10):
        """SIGTERM: mosquitto saves its persistence database (retained messages) and exits."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        status, self.proc = self.proc.returncode, None
        return status

    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def url(self, user, tls=False):
        return "%s://%s@127.0.0.1:%d" % ("mqtts" if tls else "mqtt", user, self.port)


def serve(folder, port, wards):
    """Run a private broker in the foreground (README, "A fleet"): fresh random
    passwords, one file per user (DIR/USER.pw, owner only), until Ctrl-C."""
    import secrets

    os.makedirs(folder, exist_ok=True)
    names = [("release-station", "release", None)] + [("gateway-" + w, "gateway", w) for w in wards] + \
            [("fleet-view", "viewer", None)]
    users = []
    for name, role, ward in names:
        pw = secrets.token_urlsafe(18)
        path = os.path.join(folder, name + ".pw")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(pw + "\n")
        users.append((name, role, ward, pw))
    b = Broker(folder, users, port=port).start()
    print("broker mqtt://127.0.0.1:%d (users %s; passwords in %s/USER.pw); Ctrl-C stops it"
          % (b.port, ", ".join(u[0] for u in users), folder), flush=True)
    try:
        signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
        b.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        b.stop()
    return 0


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(prog="python -m host_tools.fleet.broker",
                                description="print the fleet ACL for some wards, or --serve a private broker")
    p.add_argument("--ward", action="append", default=[], help="a ward with one gateway user gateway-WARD")
    p.add_argument("--serve", metavar="DIR", help="run a private Mosquitto on 127.0.0.1, its files in DIR")
    p.add_argument("--port", type=int, default=0, help="with --serve: port (default: a free one)")
    args = p.parse_args(argv)
    try:
        for w in args.ward:
            topics.check_name(w, "ward")
        if args.serve:
            return serve(args.serve, args.port or None, args.ward)
    except DruglibError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    users = [("release-station", "release", None)] + [("gateway-" + w, "gateway", w) for w in args.ward] + \
            [("fleet-view", "viewer", None)]
    sys.stdout.write(acl_text(users))
    return 0


if __name__ == "__main__":
    sys.exit(main())
