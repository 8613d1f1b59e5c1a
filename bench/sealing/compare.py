#!/usr/bin/env python3
"""compare.py: the side-by-side table of bench/sealing/run. Runs the in-process bench and the
two CLIs (sealgate seal/unseal --raw, age -r / age -d) on the same files, one process per
operation, and reports MB/s and ops/s both by wall clock and per CPU-second (the children's
user+sys time from getrusage), since the machine may be shared."""
import os
import resource
import subprocess
import sys
import time

build, sg, work, secs, n_small, n_big = sys.argv[1:7]
secs, n_small, n_big = float(secs), int(n_small), int(n_big)
recipient = subprocess.check_output(["age-keygen", "-y", f"{work}/age.key"], text=True).strip()


def row(size, op, what, mbps, ops, cmbps, cops):
    print(f"{size:<7} {op:<7} {what:<34} {mbps:>9} {ops:>9} {cmbps:>11} {cops:>10}")


def cli(n, argv, stdout_path):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    for _ in range(n):
        with open(stdout_path, "wb") as out:
            subprocess.run(argv, stdout=out, check=True)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu


def rates(nbytes, n, t):
    return f"{nbytes * n / t / 1e6:.1f}", f"{n / t:.0f}"


row("size", "op", "what", "MB/s", "ops/s", "CPU MB/s", "CPU ops/s")
result = {}  # for bench/run: 1 MiB wall-clock MB/s, printed as one RESULT line at the end
# Start-up alone, which is most of a CLI run on small values: a verb that does no work
# (`help`, which loads none of the module sealgate-net.so) against `age --version`.
for what, argv in (("sealgate help (start-up)", [sg, "help"]),
                   ("age --version (start-up)", ["age", "--version"])):
    wall, cpu = cli(n_small, argv, os.devnull)
    row("-", "start", what, "", f"{n_small / wall:.0f}", "", f"{n_small / cpu:.0f}")
    result["start_%s_ops" % what.split()[0]] = f"{n_small / wall:.0f}"
for name, n in (("small", n_small), ("big", n_big)):
    path = f"{work}/{name}"
    nbytes = os.path.getsize(path)
    label = "100 B" if nbytes == 100 else "1 MiB"
    out = subprocess.check_output([f"{build}/seal_bench", str(nbytes), str(secs)], text=True)
    for line in out.splitlines():
        op, mbps, ops, cmbps, cops = line.split()
        row(label, op, "sealgate library (in-process)", mbps, ops, cmbps, cops)
        if label == "1 MiB":
            result[op + "_lib_mbps"] = mbps
    place = ["--namespace", "prod", "--name", "db"]
    runs = [
        ("seal", "sealgate seal --raw (CLI)", [sg, "seal", "--pub", f"{work}/k/sealgate.pub",
                                               "--raw", *place, "--key", "password", "-f", path],
         f"{path}.sg"),
        ("seal", "age -r (CLI)", ["age", "-r", recipient, path], f"{path}.age"),
        ("unseal", "sealgate unseal --raw (CLI)", [sg, "unseal", "--raw", "--key",
                                                   f"{work}/k/sealgate.key", *place, "--item",
                                                   "password", "-f", f"{path}.sg"],
         f"{path}.sg.out"),
        ("unseal", "age -d (CLI)", ["age", "-d", "-i", f"{work}/age.key", f"{path}.age"],
         f"{path}.age.out"),
    ]
    for op, what, argv, dst in runs:
        wall, cpu = cli(n, argv, dst)
        row(label, op, what, *rates(nbytes, n, wall), *rates(nbytes, n, cpu))
        if label == "1 MiB":
            result[op + ("_age_mbps" if what.startswith("age") else "_cli_mbps")] = \
                rates(nbytes, n, wall)[0]
    for dst in (f"{path}.sg.out", f"{path}.age.out"):
        if open(dst, "rb").read() != open(path, "rb").read():
            sys.exit(f"round trip through {dst} differs")
print("RESULT sealing " + " ".join("%s=%s" % kv for kv in sorted(result.items())))
