# MicroPython manifest of the pump firmware, micropython-lib style (docs/board.md).
#
# Freeze it into a board's firmware image (run in micropython/ports/<port>):
#   make BOARD=<BOARD> FROZEN_MANIFEST=/path/to/this/repo/firmware/manifest.py
# A board manifest can also pull it in with include("/path/to/repo/firmware").
#
# This is a build script for MicroPython's tools/manifestfile.py, not a module
# of the pump: nothing imports it. Every module is named (tests/test_manifest.py
# checks this list against firmware/**/*.py, so a new module cannot be left
# out, and runs the firmware from exactly these files compiled by mpy-cross).
# Paths are relative to the package folder; base_path is this file's parent,
# so the modules freeze as firmware/..., imported as on the unix port.

# Not for the pump, deliberately not frozen:
NOT_ON_PUMP = [
    "manifest.py",  # this build script
    "store/faultstorage.py",  # the fault-injecting storage double of the power-cut tests
]

metadata(description="Blinatumomab drug library verifier and rate checker for a smart infusion pump",
         version="0.1.0")

package("firmware", base_path="..", files=[
    "__init__.py",
    # base: device errors, big-endian integers, strict JSON (issue 10 item 2)
    "errors.py",
    "bigendian.py",
    "jsontext.py",
    # library/: format v1 container and body decoder
    "library/__init__.py",
    "library/container.py",
    "library/body.py",
    "library/index.py",  # the library index the pump checks through (issue 11 item 4)
    # release/: SHA-512, Ed25519, trust store, two-person release verification
    "release/__init__.py",
    "release/sha512.py",
    "release/ed25519_curve.py",
    "release/ed25519_table.py",
    "release/ed25519.py",
    "release/trust.py",
    "release/verify.py",
    # store/: storage, A/B slots and their commit record, the event log
    "store/__init__.py",
    "store/storage.py",
    "store/commitrec.py",
    "store/slots.py",
    "store/logrec.py",
    "store/eventlog.py",
    "store/logrun.py",  # the roll-off's run and build state (ADR 0017)
    # check/: exact decimals, requests, reason codes, the checker
    "check/__init__.py",
    "check/decimals.py",
    "check/request.py",
    "check/codes.py",
    "check/patient.py",
    "check/regimen.py",
    "check/bag.py",
    "check/dose.py",
    "check/verdict.py",
    "check/checker.py",
    "check/batch.py",
    # therapy/: the pump through a whole infusion (docs/therapy.md)
    "therapy/__init__.py",
    "therapy/state.py",
    "therapy/course.py",
    "therapy/actions.py",
    "therapy/programming.py",
    "therapy/machine.py",
    "therapy/snapshot.py",
    "therapy/device.py",
    # link/: serial frames and the pump's command server
    "link/__init__.py",
    "link/frames.py",
    "link/server.py",
    "link/answers.py",  # a CHECK answer in one frame, built before its log (issue 11 item 5)
    "link/transfer.py",  # BEGIN / DATA / END into the staging file, installed by rename (issue 11 item 1)
    # shell: the pump and its entry points
    "pump.py",
    "pumpmain.py",
    "checkmain.py",
])
