#!/usr/bin/env python3
"""check_image.py BINARY [MODULE]: the Dockerfile, checked without a container engine.

- Two stages on Debian bookworm; the runtime stage installs no -dev package or toolchain.
- Every shared library that `ldd` resolves, for BINARY and for its module MODULE (default:
  sealgate-net.so beside BINARY), comes from a Debian package (dpkg -S) that the runtime stage
  installs: a library either links directly (readelf NEEDED) must be named in its apt-get list; one pulled in by those is satisfied by the listed packages'
  Depends (followed through the local dpkg database) or by the base image's required set.
  Sanitizer runtimes (a test build's -fsanitize) are not part of a release build.
- The build stage strips both; the runtime stage copies the binary to /usr/bin, the module to
  /usr/lib/sealgate (where the binary looks for it) and rules/, runs as 65532:65532, and its
  ENTRYPOINT is the command the chart runs.
Prints failures and "N passed, N failed"; exits 1 on any failure.
"""

import json
import os
import re
import shlex
import subprocess
import sys

SRC = os.environ.get("SEALGATE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SANITIZER = re.compile(r"^lib(asan|ubsan|lsan|tsan|hwasan)\.so")
passes = fails = 0


def check(cond, what):
    global passes, fails
    if cond:
        passes += 1
    else:
        fails += 1
        print("FAIL: " + what)
    return cond


def dockerfile_stages(path):
    """[(from_line, [instructions])], continuation lines joined, comments dropped."""
    stages, cur, buf = [], None, ""
    for raw in open(path).read().split("\n"):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        line, buf = buf + line, ""
        word = line.split(None, 1)[0].upper()
        if word == "FROM":
            cur = (line, [])
            stages.append(cur)
        elif cur is not None:
            cur[1].append(line)
    return stages


def apt_installs(instructions):
    pkgs = []
    for ins in instructions:
        if not ins.upper().startswith("RUN "):
            continue
        for part in re.split(r"&&|;", ins[4:]):
            words = shlex.split(part)
            while words and "=" in words[0]:
                words.pop(0)  # VAR=value prefixes
            if len(words) > 2 and words[0] in ("apt-get", "apt") and "install" in words:
                i = words.index("install")
                pkgs += [w for w in words[i + 1:] if not w.startswith("-")]
    return pkgs


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def _spellings(path):
    cands = {path, os.path.realpath(path)}
    for p in list(cands):
        if p.startswith("/usr/lib/"):
            cands.add(p[4:])
        elif p.startswith("/lib/"):
            cands.add("/usr" + p)
    return sorted(cands)


def packages_of(paths):
    """{library path: Debian package owning it}, in one dpkg -S call (merged /usr: each path
    is asked under both spellings)."""
    asked = sorted({c for p in paths for c in _spellings(p)})
    r = run("dpkg", "-S", *asked)
    owner = {}
    for line in r.stdout.split("\n"):
        m = re.match(r"^([^:,\s]+)(?::\S+)?(?:, [^:]+)*: (/\S+)$", line)
        if m:
            owner[m.group(2)] = m.group(1)
    return {p: next((owner[c] for c in _spellings(p) if c in owner), None) for p in paths}


_DB = None


def dpkg_db():
    """{package: (essential_or_required, [depends])} for every installed package, in one call."""
    global _DB
    if _DB is None:
        _DB = {}
        r = run("dpkg-query", "-W", "-f=${Package}\t${Essential}\t${Priority}\t${Depends}, ${Pre-Depends}\n")
        for line in r.stdout.split("\n"):
            f = line.split("\t")
            if len(f) != 4:
                continue
            deps = []
            for alt in f[3].split(","):
                deps += [c.strip().split(" ")[0].split(":")[0] for c in alt.split("|") if c.strip()]
            _DB[f[0]] = (f[1] == "yes" or f[2] == "required", deps)
    return _DB


def depends_closure(pkgs):
    """Packages reachable through Depends/Pre-Depends from pkgs, per the local dpkg database."""
    db = dpkg_db()
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo += db.get(p, (False, []))[1]
    return seen


def base_image():
    """What every Debian image holds: Essential and required packages, with their Depends."""
    return depends_closure([p for p, (core, _) in dpkg_db().items() if core])


def needed_of(path):
    r = run("readelf", "-d", path)
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout) if r.returncode == 0 else None


def check_libs(elf, listed, closure, base):
    """The libraries elf needs: the NEEDED graph from it, resolved the way `ldd` resolves it,
    leaving out sanitizer runtimes and what only they pull in. Returns the packages it links
    directly."""
    name = os.path.basename(elf)
    r = run("ldd", elf)
    check(r.returncode == 0, "ldd %s" % elf)
    where = {}
    for line in r.stdout.split("\n"):
        m = re.match(r"^\s*(\S+)\s+=>\s+(\S+)", line)
        if m:
            where[m.group(1)] = m.group(2)
        elif "not found" in line:
            check(False, "ldd %s: %s" % (name, line.strip()))
    direct = needed_of(elf)
    check(direct, "readelf -d %s lists NEEDED libraries" % elf)
    reach, todo = {}, [(n, True) for n in direct or []]
    while todo:
        soname, is_direct = todo.pop()
        if soname in reach or SANITIZER.match(soname) or soname.startswith("ld-linux"):
            continue
        path = where.get(soname)
        if not check(path, "ldd %s does not resolve %s" % (name, soname)):
            continue
        reach[soname] = (path, soname in direct)
        todo += [(n, False) for n in needed_of(path) or []]
    check(len(reach) >= 5, "%s links the expected libraries (%d)" % (name, len(reach)))
    direct_pkgs = set()
    owners = packages_of([path for path, _ in reach.values()])
    for soname, (path, is_direct) in sorted(reach.items()):
        pkg = owners[path]
        if not check(pkg, "%s (%s) belongs to no Debian package" % (soname, path)):
            continue
        if is_direct:
            direct_pkgs.add(pkg)
            check(pkg in listed or pkg in base,
                  "%s links %s directly: the runtime stage must install %s" % (name, soname, pkg))
        else:
            check(pkg in closure or pkg in base,
                  "%s (from %s) is neither installed by the runtime stage nor a dependency of it" % (soname, pkg))
    return direct_pkgs


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: check_image.py BINARY [MODULE]", file=sys.stderr)
        return 2
    binary = sys.argv[1]
    module = sys.argv[2] if len(sys.argv) == 3 else os.path.join(os.path.dirname(binary), "sealgate-net.so")
    stages = dockerfile_stages(os.path.join(SRC, "Dockerfile"))
    check(len(stages) >= 2, "multi-stage Dockerfile")
    for frm, _ in stages:
        check(re.match(r"^FROM\s+debian:bookworm(-slim)?(@sha256:[0-9a-f]+)?(\s+AS\s+\w+)?$", frm, re.I),
              "stage on Debian bookworm: %s" % frm)
    runtime = stages[-1][1]
    build = stages[0][1]
    listed = apt_installs(runtime)
    check(listed, "the runtime stage installs packages with apt-get")
    for p in listed:
        check(not p.endswith("-dev") and p not in ("build-essential", "cmake", "gcc", "pkg-config", "clang"),
              "runtime stage installs build tool %s" % p)
        check(run("dpkg-query", "-W", p).returncode == 0 or run("apt-cache", "show", p).returncode == 0,
              "runtime package %s exists in Debian" % p)
    for p in ("libssl3", "libsodium23", "libmicrohttpd12", "libgnutls30", "libyaml-0-2", "libjansson4", "libcjson1",
              "libgit2-1.5", "ca-certificates"):
        check(p in listed, "runtime stage installs %s" % p)
    check(any("cmake" in i and "Release" in i for i in build), "build stage builds with cmake Release")
    check(any("scripts/deps" in i for i in build) or any(p.endswith("-dev") for p in apt_installs(build)),
          "build stage installs the -dev packages")

    # Both ELF files the image holds: the binary and its module (cli/net.h).
    closure = depends_closure(listed)
    base = base_image()
    check("libc6" in base, "the base set includes libc6")
    direct_pkgs = set()
    for elf in (binary, module):
        if check(os.path.exists(elf), "%s exists" % elf):
            direct_pkgs |= check_libs(elf, listed, closure, base)
    print("linked packages: " + " ".join(sorted(direct_pkgs)))

    # The runtime stage: binary, rules, user, entrypoint, and agreement with the chart.
    text = "\n".join(runtime)
    check(re.search(r"^COPY --from=\S+ \S*sealgate /usr/bin/sealgate$", text, re.M), "binary copied to /usr/bin")
    # /usr/bin/../lib/sealgate is where the binary looks for its module when installed.
    check(re.search(r"^COPY --from=\S+ \S*sealgate-net\.so /usr/lib/sealgate/sealgate-net\.so$", text, re.M),
          "module copied to /usr/lib/sealgate/sealgate-net.so")
    strips = [shlex.split(part) for i in build if i.upper().startswith("RUN ")
              for part in re.split(r"&&|;", i[4:])]
    stripped = {os.path.basename(a) for w in strips if w and w[0] == "strip" for a in w[1:] if not a.startswith("-")}
    check({"sealgate", "sealgate-net.so"} <= stripped,
          "the build stage strips the binary and the module (strips %s)" % sorted(stripped))
    check(re.search(r"^COPY rules/? /usr/share/sealgate/rules/?$", text, re.M), "rules/ copied to /usr/share/sealgate/rules")
    check(re.search(r"^USER 65532:65532$", text, re.M), "USER 65532:65532")
    ep = [i for i in runtime if i.upper().startswith("ENTRYPOINT ")]
    entry = json.loads(ep[-1][len("ENTRYPOINT "):]) if ep else None
    check(entry == ["sealgate", "serve", "--config", "/etc/sealgate/config.yaml"], "ENTRYPOINT is %r" % (entry,))
    dep = open(os.path.join(SRC, "charts", "sealgate", "templates", "deployment.yaml")).read()
    check('command: ["sealgate", "serve", "--config", "/etc/sealgate/config.yaml"]' in dep,
          "the chart runs the image's entrypoint command")
    check("runAsUser: 65532" in dep, "the chart runs as the image's user")
    ignore = open(os.path.join(SRC, ".dockerignore")).read().split("\n")
    check(".git" in ignore and any(l.startswith("build") for l in ignore), ".dockerignore keeps .git and build trees out")
    print("%d passed, %d failed" % (passes, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
