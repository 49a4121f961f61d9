"""`make bench`: every benchmark, each printing ratios against a baseline run
side by side in the same script (these machines are noisy)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHES = ["bench_verify.py", "bench_install_memory.py", "bench_check.py", "bench_push.py"]
BENCHES += ["bench_fleet.py"]  # fleet over MQTT (skips without mosquitto)

status = 0
for name in BENCHES:
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        continue
    print("== %s" % name, flush=True)
    status |= subprocess.call([sys.executable, path])
sys.exit(status)
