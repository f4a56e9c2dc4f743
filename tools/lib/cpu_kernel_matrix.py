#!/usr/bin/env python3
"""Tables of tools/test.sh --cpu-kernels: suite x setting (passed/failed, time) and every
recorded tolerance's measured value against its bound, per setting.

Reads DIR/runs.txt ("SETTING RC SECONDS" or "SETTING skipped FLAGS..."), DIR/SETTING.xml
(ctest's JUnit output) and DIR/SETTING.tsv (lines of tests/support/tolerance.cpp:
test, what, measured, bound); writes DIR/matrix.md and DIR/tolerances.md and prints the
matrix."""
import collections
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def cpu_line():
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "lscpu not available"
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    model = fields.get("Model name", "?").strip()
    flags = set(fields.get("Flags", "").split())
    vector = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{model}; vector flags: {' '.join(vector) or 'none beyond SSE'}"


def main():
    out = Path(sys.argv[1])
    runs, skipped = [], {}
    for line in (out / "runs.txt").read_text().splitlines():
        setting, rest = line.split(" ", 1)
        if rest.startswith("skipped"):
            skipped[setting] = rest[len("skipped "):]
        else:
            rc, seconds = rest.split()
            runs.append((setting, int(rc), int(seconds)))
    settings = [s for s, _, _ in runs]

    # suite -> setting -> [passed, failed, seconds], over the numerical tests only
    numerical = set()
    results = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0, 0.0]))
    for setting in settings:
        path = out / f"{setting}.xml"
        if not path.exists():
            continue
        for case in ET.parse(path).getroot().iter("testcase"):
            name = case.get("name", "")
            suite = name.split(".")[0] if "." in name else name
            cell = results[suite][setting]
            failed = case.find("failure") is not None or case.get("status") == "fail"
            cell[1 if failed else 0] += 1
            cell[2] += float(case.get("time", 0))
            if setting != "native":
                numerical.add(suite)
    if not numerical:  # only the native run: every suite it ran
        numerical = set(results)

    lines = [f"CPU: {cpu_line()}", ""]
    lines.append("| suite | " + " | ".join(settings) + " |")
    lines.append("|---|" + "---|" * len(settings))
    for suite in sorted(numerical):
        cells = []
        for setting in settings:
            passed, failed, seconds = results[suite].get(setting, [0, 0, 0.0])
            if passed + failed == 0:
                cells.append("-")
            else:
                cells.append(f"FAILED {failed} of {passed + failed}, {seconds:.0f} s" if failed
                             else f"{passed} passed, {seconds:.0f} s")
        lines.append(f"| {suite} | " + " | ".join(cells) + " |")
    lines.append("| (whole run: exit code, wall time) | " +
                 " | ".join(f"{'ok' if rc == 0 else 'exit ' + str(rc)}, {seconds} s" for _, rc, seconds in runs) + " |")
    for setting, flags in skipped.items():
        lines.append(f"\n{setting}: skipped, this CPU lacks {flags}")
    matrix = "\n".join(lines) + "\n"
    (out / "matrix.md").write_text(matrix)
    print(matrix)

    # (test, what) -> setting -> (worst measured/bound ratio, measured, bound)
    tolerances = collections.defaultdict(dict)
    for setting in settings:
        path = out / f"{setting}.tsv"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) != 4:
                continue
            test, what, measured, bound = parts[0], parts[1], float(parts[2]), float(parts[3])
            ratio = measured / bound if bound > 0 else float("inf")
            previous = tolerances[(test, what)].get(setting)
            if previous is None or ratio > previous[0]:
                tolerances[(test, what)][setting] = (ratio, measured, bound)
    rows = [f"CPU: {cpu_line()}", "", "Each cell: measured value (bound); the worst of repeated checks.", ""]
    rows.append("| test | what | " + " | ".join(settings) + " |")
    rows.append("|---|---|" + "---|" * len(settings))
    for (test, what), by_setting in sorted(tolerances.items()):
        cells = [f"{by_setting[s][1]:.2e} ({by_setting[s][2]:.2e})" if s in by_setting else "-" for s in settings]
        rows.append(f"| {test} | {what} | " + " | ".join(cells) + " |")
    (out / "tolerances.md").write_text("\n".join(rows) + "\n")
    worst = max((v[0] for d in tolerances.values() for v in d.values()), default=0)
    print(f"{len(tolerances)} tolerances recorded; the closest to its bound is at {worst:.2f} of it "
          f"({out / 'tolerances.md'})")


if __name__ == "__main__":
    main()
