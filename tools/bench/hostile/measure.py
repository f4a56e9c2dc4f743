#!/usr/bin/python3
"""Runs one command on a hostile input and prints exit code, peak memory, time and the
message it ended with, as one JSON line (README's before/after table of "Files are
untrusted" is made of these; round2.py runs them all).

    measure.py [--timeout S] [--grep TEXT] -- COMMAND ARGS...

The command runs in a session of its own with a 4 GiB cap on its data (RLIMIT_DATA), so
that a memory bomb of an old reader fails instead of swapping the machine; `peak_mib` is
its ru_maxrss. With --grep, the message is the first line of stdout or stderr holding
TEXT (data check lists bad samples on stdout); otherwise the last error line of stderr.
"""
import json
import os
import resource
import subprocess
import sys
import time

MEMORY_CAP = 4 << 30


def _limit():
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_CAP, MEMORY_CAP))
    os.setsid()


def measure(argv, timeout=60.0, grep=None, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_limit,
                               env=None if env is None else {**os.environ, **env})
    timed_out = False
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        out, err = process.communicate()
        timed_out = True
    seconds = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = [l for l in err.decode(errors="replace").splitlines() if l.strip()]
    message = next((l for l in reversed(lines) if "error" in l), lines[-1] if lines else "")
    if grep is not None:
        every = out.decode(errors="replace").splitlines() + lines
        message = next((l.strip() for l in every if grep in l), "(no line holds %r)" % grep)
    return {"exit": "killed after %gs" % timeout if timed_out else process.returncode,
            # ru_maxrss of all children so far: only a new maximum is this command's own
            "peak_mib": round(peak / 1024) if peak > before else None,
            "seconds": round(seconds, 2), "message": message[:400],
            "stderr_has_escape_byte": b"\x1b" in err, "raw_stderr": err}


if __name__ == "__main__":
    args = sys.argv[1:]
    timeout, grep = 60.0, None
    while args[:1] in (["--timeout"], ["--grep"]):
        if args[0] == "--timeout":
            timeout = float(args[1])
        else:
            grep = args[1]
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    result = measure(args, timeout, grep)
    del result["raw_stderr"]
    print(json.dumps(result))
