#!/usr/bin/env python3
"""replay.py: replays every bad input (tests/robustness/corpus/ and every fuzzer corpus in
fuzz/corpus/) against the running server and the CLI; bad_inputs.sh sets the stage.

  replay.py WORKDIR   (environment: SEALGATE, SEALGATE_SOURCE_DIR, URL, CA, FUZZ_KEY,
                       BODY_LIMIT; WORKDIR is a scratch folder)

The server must answer every request with a 4xx or a 200 holding a valid AdmissionReview
answer (as the apiserver checks it), never a 5xx, a reset or a hang. The CLI must exit 0, 1
or 2 (2 with a message on stderr), never die of a signal or print a sanitizer report. Cases
listed in corpus/expect must give exactly the outcome named there. Prints how many inputs of
each kind went where, and every failure; exits 1 on any failure.
"""
import base64
import collections
import concurrent.futures
import fnmatch
import hashlib
import http.client
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["SEALGATE_SOURCE_DIR"], "tests", "admission"))
import server_client  # noqa: E402  (problems(): what the apiserver would reject)

try:
    import yaml
except ImportError:  # python3-yaml is in scripts/deps' test set; without it, fewer wraps
    yaml = None

SRC = os.environ["SEALGATE_SOURCE_DIR"]
SEALGATE = os.environ["SEALGATE"]
URL = os.environ["URL"]
CA = os.environ["CA"]
FUZZ_KEY = os.environ["FUZZ_KEY"]
BODY_LIMIT = int(os.environ["BODY_LIMIT"])
WORK = sys.argv[1]
CORPUS = os.path.join(SRC, "tests", "robustness", "corpus")
FUZZ = os.path.join(SRC, "fuzz", "corpus")
TIMEOUT = 120  # seconds for one request or one CLI run: a hang, not a loaded machine
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:", "Sanitizer")

failures = []
counts = collections.Counter()  # (where, kind) -> inputs replayed
seen = collections.Counter()  # outcome classes, for the summary


def trace(where, label, outcome, data):
    """REPLAY_TRACE=1: one line per input with its outcome (for writing corpus/expect)."""
    if os.environ.get("REPLAY_TRACE"):
        text = (data or b"").decode(errors="replace").replace("\n", " ")[:160]
        print("TRACE %s %s -> %s %s" % (where, label, outcome, text), file=sys.stderr)


def fail(what):
    failures.append(what)


def files(folder):
    out = []
    for root, _, names in os.walk(folder):
        out += [os.path.join(root, n) for n in sorted(names)]
    return sorted(out)


def rel(path):
    for base in (CORPUS, FUZZ):
        if path.startswith(base + "/"):
            return ("corpus/" if base == CORPUS else "fuzz/") + path[len(base) + 1:]
    return os.path.relpath(path, WORK)


def load_expect():
    """corpus/expect: `PATTERN WHERE=OUTCOME...` lines, PATTERN over the names rel() gives."""
    rules = []
    for line in open(os.path.join(CORPUS, "expect")):
        line = line.split("#", 1)[0].split()
        if line:
            rules.append((line[0], dict(w.split("=", 1) for w in line[1:])))
    return rules


EXPECT = load_expect()


def expected(name, where):
    want = None
    for pat, outs in EXPECT:  # the last matching line wins, so specific lines go below globs
        if fnmatch.fnmatchcase(name, pat) and where in outs:
            want = outs[where]
    return want


# ---- the server --------------------------------------------------------------------------------
class Client:
    """One keep-alive TLS connection, re-opened only when the server closes it (as it may
    after an error answer); a reset or a timeout before an answer is a failure."""

    def __init__(self):
        u = URL.split("://", 1)[1]
        self.host, self.port = u.split(":")[0], int(u.split(":")[1].split("/")[0])
        self.ctx = ssl.create_default_context(cafile=CA)
        self.conn = None
        self.requests = self.connections = 0

    def send(self, method, path, body, headers, may_cut=False):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                    timeout=TIMEOUT)
            self.connections += 1
        self.requests += 1
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            # A header over libmicrohttpd's buffer may be cut off: libmicrohttpd answers 431
            # itself and closes while the client is still sending, and the reset can swallow
            # the answer (docs/configuration.md, "Limits"). Only that may end so (may_cut); the
            # next request reconnects, so a dead server still shows. A body over limits.body
            # must get its 413: the server reads and drops it first.
            self.conn.close()
            self.conn = None
            return ("closed" if may_cut else None), repr(e).encode()
        if (r.getheader("Connection") or "").lower() == "close" or r.will_close:
            self.conn.close()
            self.conn = None
        return r.status, data


CLIENT = Client()


def post(name, kind, path, body, ctype="application/json", method="POST", want=None,
         extra_headers=None, may_cut=False, says=None):
    """Sends one request and judges the answer; want: None (4xx or a valid 200), '4xx', '200'
    (a valid answer), '200-denied' (a valid answer with allowed false) or an exact status;
    says: text the answer's body must hold."""
    ep = path.split("?")[0]
    counts[("server " + (ep if ep in ("/validate", "/mutate") else "other"), kind)] += 1
    headers = {"Content-Type": ctype} if ctype is not None else {}
    headers.update(extra_headers or {})
    status, data = CLIENT.send(method, path, body, headers, may_cut)
    label = "%s %s %s" % (method, path[:40], name)
    trace("server", label, status, data)
    if status is None:
        return fail("%s: no answer (%s)" % (label, data.decode(errors="replace")[:200]))
    if status == "closed":  # see Client.send: an over-limit request cut off, never a crash
        seen["server closed during an over-limit request"] += 1
        return
    seen["server %d" % status] += 1
    if status >= 500 or status < 200:
        return fail("%s: status %d: %s" % (label, status, data[:200]))
    if status == 200:
        try:
            answer = json.loads(data)
            request = json.loads(body)
            p = server_client.problems(request, answer, path.startswith("/mutate"))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            p = ["not a valid answer to the request: %r" % e]
        if p:
            return fail("%s: 200 with an invalid answer: %s" % (label, "; ".join(p)))
    elif 400 <= status < 500:
        if not data.strip():
            return fail("%s: %d without a message" % (label, status))
    else:
        return fail("%s: status %d" % (label, status))
    want = want or expected(name, "server")
    if want == "4xx" and not 400 <= status < 500:
        fail("%s: status %d, expected a 4xx" % (label, status))
    elif want == "200" and status != 200:
        fail("%s: status %d, expected 200: %s" % (label, status, data[:200]))
    elif want in ("200-denied", "200-allowed") and (
            status != 200 or json.loads(data)["response"]["allowed"] != (want == "200-allowed")):
        fail("%s: expected %s, got %d: %s" % (label, want, status, data[:300]))
    elif want and want.isdigit() and status != int(want):
        fail("%s: status %d, expected %s: %s" % (label, status, want, data[:200]))
    elif says and says.encode() not in data:
        fail("%s: the answer does not say %r: %s" % (label, says, data[:200]))


def raw_tls():
    """A TLS socket to the server, for requests http.client cannot send."""
    host, port = CLIENT.host, CLIENT.port
    sock = CLIENT.ctx.wrap_socket(socket.create_connection((host, port), timeout=TIMEOUT),
                                  server_hostname=host)
    return sock


def answer_or_close(sock):
    """Read until the server answers or closes: the status line, 'closed', or None on a
    timeout (the server kept waiting: a failure)."""
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return "closed"
            data += chunk
    except socket.timeout:
        return None
    except OSError:
        return "closed"
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


def oversized_bounds():
    """Dropping an over-limit body is bounded: a chunked body past the cap (4 x limits.body,
    at least 8 MiB) and a body still arriving after 2 s end with the connection closed, not
    a server that reads forever; the server keeps answering."""
    counts[("server /validate", "http")] += 2
    s = raw_tls()
    s.settimeout(30)
    s.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
    got = None
    try:
        for _ in range(64):  # 64 MiB: far past the cap
            s.sendall(piece)
    except OSError:
        got = "closed"
    if got is None:
        got = answer_or_close(s)
    s.close()
    seen["server closed a chunked body past the cap"] += got == "closed"
    if got != "closed":
        fail("chunked body past the cap: %r, expected the connection closed" % got)
    # A body over the limit (by Content-Length, under the cap) that stalls past the bound.
    s = raw_tls()
    s.settimeout(30)
    s.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (BODY_LIMIT * 2) + b" " * (BODY_LIMIT + 10))
    time.sleep(2.5)
    try:
        s.sendall(b" " * 65536)  # the next piece finds the bound passed
        got = answer_or_close(s)
    except OSError:
        got = "closed"
    s.close()
    seen["server closed a body still arriving after the time bound"] += got == "closed"
    if got != "closed":
        fail("slow over-limit body: %r, expected the connection closed" % got)


def review(obj, op="CREATE", uid=None):
    """An AdmissionReview v1 around obj, as the apiserver builds it."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    api = obj.get("apiVersion") if isinstance(obj.get("apiVersion"), str) else "v1"
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else "Unknown"
    group, version = api.split("/", 1) if "/" in api else ("", api)
    ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else "default"
    name = meta.get("name") if isinstance(meta.get("name"), str) else ""
    gvk = {"group": group, "version": version, "kind": kind}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid or hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode())
        .hexdigest(), "kind": gvk, "resource": dict(gvk, resource=kind.lower() + "s"),
        "requestKind": gvk, "name": name, "namespace": ns, "operation": op,
        "userInfo": {"username": "robust", "groups": ["system:authenticated"]},
        "object": obj, "oldObject": None, "dryRun": False}}


def fold_secret(obj):
    """What the apiserver does to a Secret before admission: stringData folded into data."""
    obj = json.loads(json.dumps(obj, default=str))
    sd = obj.pop("stringData", None)
    if isinstance(sd, dict):
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        for k, v in sd.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        obj["data"] = data
    return obj


def documents(path):
    """The mapping documents of a manifest file, or [] when Python's YAML cannot read it."""
    data = open(path, "rb").read()
    # PyYAML expands aliases without a bound: alias bombs are for sealgate only.
    if yaml is None or (b"&" in data and b"*" in data):
        return []
    try:
        return [d for d in yaml.safe_load_all(data) if isinstance(d, dict)][:50]
    except Exception:  # any YAML or decoding error: the raw bytes were replayed already
        return []


def replay_server(inputs):
    # Every file of every kind, raw, at both endpoints: bad bodies must be a clear 4xx.
    for kind, path in inputs:
        body = open(path, "rb").read()
        for ep in ("/validate?timeout=10s", "/mutate?timeout=10s"):
            post(rel(path), kind, ep, body)
    # Manifests and sealed Secrets wrapped as the apiserver would send them: valid answers.
    for kind, path in inputs:
        if kind not in ("manifest", "sealed_secret", "sealed"):
            continue
        for i, doc in enumerate(documents(path)):
            try:
                body = json.dumps(review(doc)).encode()
                secret = json.dumps(review(fold_secret(doc))).encode()
            except (TypeError, ValueError):
                continue
            name = "%s#%d" % (rel(path), i)
            post(name + " (wrapped)", kind + " wrapped", "/validate", body,
                 want=expected(rel(path), "wrapped") or "200")
            if doc.get("kind") == "Secret":
                post(name + " (folded)", kind + " wrapped", "/mutate", secret,
                     want=expected(rel(path), "mutate") or "200")
    # HTTP-level abuse: the body is fine, the request around it is not.
    pod = open(os.path.join(SRC, "..", "shared", "fixtures", "admissionreview",
                            "pod-create.json"), "rb").read()
    podj = json.loads(pod)
    for ctype in ("text/plain", "application/yaml", None, "application/x-www-form-urlencoded",
                  "multipart/form-data; boundary=x", "application/json-seq"):
        post("pod-create as %s" % ctype, "http", "/validate", pod, ctype=ctype, want="415")
    post("GET /validate", "http", "/validate", None, method="GET", want="4xx")
    post("PUT /validate", "http", "/validate", pod, method="PUT", want="4xx")
    post("DELETE /mutate", "http", "/mutate", None, method="DELETE", want="4xx")
    post("unknown path", "http", "/nope", pod, want="404")
    post("path traversal", "http", "/../../etc/passwd", pod, want="404")
    post("long path", "http", "/validate" + "x" * 3000, pod, want="4xx")
    # Over limits.body: this client sends the whole body before it reads, so it only sees the
    # 413 because the server drops the body first (a reset would lose it). 20 rounds each, to
    # show it is not luck; by Content-Length and chunked.
    too_big = "request body over %d bytes (limits.body)" % BODY_LIMIT
    for i in range(20):
        post("oversized body", "http", "/validate", b"{" + b" " * BODY_LIMIT + b"}", want="413",
             says=too_big)
        post("oversized valid-looking body", "http", "/mutate",
             pod[:-1] + b', "pad": "' + b"a" * BODY_LIMIT + b'"}', want="413", says=too_big)
        post("2 MiB body", "http", "/validate", b"[" + b"0," * (1 << 20) + b"0]", want="413",
             says=too_big)
        post("2 MiB chunked body", "http", "/validate",
             iter([b"[" + b"0," * (1 << 15)] * 32 + [b"0]"]), want="413", says=too_big)
    # Refused for their path, method or Content-Type, with a 2 MiB body behind: the same
    # client, so each refusal is only read because the server drops the body first.
    big = b"[" + b"0," * (1 << 20) + b"0]"
    for i in range(10):
        post("2 MiB body, wrong type", "http", "/validate", big, ctype="text/plain", want="415",
             says="Content-Type must be application/json")
        post("2 MiB body, no such path", "http", "/nope", big, want="404", says="no such endpoint")
        post("2 MiB body, POST /healthz", "http", "/healthz", big, want="405",
             says="method not allowed")
        post("2 MiB chunked body, wrong type", "http", "/mutate",
             iter([b"[" + b"0," * (1 << 15)] * 32 + [b"0]"]), ctype="text/plain", want="415")
    oversized_bounds()
    post("many headers", "http", "/validate", pod,
         extra_headers={"X-Pad-%d" % i: "v" * 100 for i in range(60)}, want=None)
    post("huge header", "http", "/validate", pod, extra_headers={"X-Big": "v" * 60000},
         want="4xx", may_cut=True)
    # Generated bodies too big to commit: many keys, a wide array, long strings.
    gen = {
        "many-keys": b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{'
        + b",".join(b'"k%d":%d' % (i, i) for i in range(15000)) + b"}}",
        "wide-array": b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","x":['
        + b",".join([b"[]"] * 60000) + b"]}",
        "long-uid": json.dumps(dict(podj, request=dict(podj["request"], uid="u" * 200000)))
        .encode(),
    }
    for name, body in gen.items():
        assert len(body) < BODY_LIMIT, name
        post("generated/" + name, "generated", "/validate", body)


# ---- the CLI -----------------------------------------------------------------------------------
def run(name, kind, verb, argv, want=None, stdin=None):
    """One CLI run, judged; returns nothing (failures are recorded)."""
    counts[("cli " + verb, kind)] += 1
    env = dict(os.environ, HOME=WORK)
    try:
        p = subprocess.run([SEALGATE] + argv, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return fail("%s %s: no exit within %d s" % (verb, name, TIMEOUT))
    err = p.stderr.decode(errors="replace")
    seen["cli exit %d" % p.returncode] += 1
    label = "%s %s" % (verb, name)
    trace("cli", label, p.returncode, p.stderr)
    if p.returncode < 0:
        return fail("%s: killed by signal %d: %s" % (label, -p.returncode, err[-2000:]))
    if any(m in err for m in SANITIZER_MARKS):
        return fail("%s: sanitizer report: %s" % (label, err[-3000:]))
    if p.returncode not in (0, 1, 2):
        return fail("%s: exit %d: %s" % (label, p.returncode, err[-500:]))
    if p.returncode == 2 and not err.strip():
        return fail("%s: exit 2 without a message on stderr" % label)
    if verb == "test" and p.returncode == 1 and b"FAIL " not in p.stdout:
        return fail("%s: exit 1 without a FAIL line saying which case and why" % label)
    want = want if want is not None else expected(name, verb)
    if want is not None and str(p.returncode) != want:
        fail("%s: exit %d, expected %s: %s" % (label, p.returncode, want, err[-300:]))


def armor(kind, data):
    """ASCII armour for OpenPGP (with CRC-24) or SSH signatures."""
    b64 = base64.b64encode(data).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    if kind == "SSH SIGNATURE":
        return "-----BEGIN SSH SIGNATURE-----\n%s\n-----END SSH SIGNATURE-----\n" % \
            "\n".join(lines)
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    crc = base64.b64encode((crc & 0xFFFFFF).to_bytes(3, "big")).decode()
    return "-----BEGIN PGP %s-----\n\n%s\n=%s\n-----END PGP %s-----\n" % (
        kind, "\n".join(lines), crc, kind)


def git(repo, *args, data=None):
    return subprocess.run(["git", "-C", repo] + list(args), input=data, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode().strip()


def commit_with_signature(repo, tree, sig):
    """A commit object whose gpgsig header holds sig (any bytes), written as is."""
    if isinstance(sig, str):
        sig = sig.encode()
    sig = sig.rstrip(b"\n")
    header = b"gpgsig " + b"\n ".join(sig.split(b"\n")) + b"\n" if sig else b"gpgsig \n"
    body = (b"tree %s\nauthor Robust <r@example.com> 1700000000 +0000\n"
            b"committer Robust <r@example.com> 1700000000 +0000\n" % tree.encode()
            + header + b"\nreplayed signature\n")
    return git(repo, "hash-object", "-t", "commit", "-w", "--literally", "--stdin", data=body)


def sealed_value_secret(data):
    """A sealed Secret around a fuzz_sealed_value input (first byte: the place; rest: value)."""
    nss = ["prod", "staging", None, ""]
    ns = nss[data[0] & 3] if data else "prod"
    name = "db" if data and data[0] & 4 else "other"
    value = data[1:].decode("utf-8", "replace").replace("\n", " ")
    h = hashlib.sha256(b"sealgate-sealed-digest-v1\0")
    v = value.encode()
    h.update(struct.pack(">I", 8) + b"password" + struct.pack(">I", len(v)) + v)
    meta = {"name": name, "labels": {"sealgate.io/sealed": "true"},
            "annotations": {"sealgate.io/scope": "strict",
                            "sealgate.io/sealed-digest": "sha256:" + h.hexdigest()}}
    if ns is not None:
        meta["namespace"] = ns
    return json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": meta,
                       "stringData": {"password": value}})


def cli_jobs(inputs):
    """(name, kind, verb, argv, want, stdin) for every CLI replay."""
    jobs = []
    dep = os.path.join(WORK, "deployment.json")
    ruleok = os.path.join(WORK, "ok.rules")
    open(ruleok, "w").write('rule ok "images are named"\n  match kind Pod\n'
                            '  deny when some c in pod.containers: c.image == null\n'
                            '  message "no image"\n')
    open(dep, "w").write(json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}}))
    repo, good, trust_ok, sig_trust = make_repo()
    n = 0
    for kind, path in inputs:
        name = rel(path)
        n += 1
        # check reads manifests; AdmissionReviews only from the fuzz seeds (the hand-made bad
        # ones are the server's: check would only say again that they are not JSON).
        if kind in ("manifest", "prov_match", "sealed_secret", "sealed") or (
                kind == "admission" and name.startswith("fuzz/")):
            # check takes .yaml/.yml/.json: other names go through stdin
            if path.endswith((".yaml", ".yml", ".json")):
                jobs.append((name, kind, "check", ["check", path], None, None))
            else:
                jobs.append((name, kind, "check", ["check", "-"], None, open(path, "rb").read()))
        if kind == "rules":
            jobs.append((name, kind, "check", ["check", "--rules", path, dep], None, None))
            d = os.path.join(WORK, "test%d" % n)
            os.makedirs(d)
            shutil.copy(path, os.path.join(d, "case.rules"))
            open(os.path.join(d, "case.test.yaml"), "w").write(
                "- name: a deployment\n  file: ../deployment.json\n  expect: allow\n")
            jobs.append((name, kind, "test", ["test", d], None, None))
        if kind == "ruletest":
            d = os.path.join(WORK, "test%d" % n)
            os.makedirs(d)
            shutil.copy(ruleok, os.path.join(d, "ok.rules"))
            shutil.copy(path, os.path.join(d, os.path.basename(path)))
            jobs.append((name, kind, "test", ["test", d], None, None))
        if kind in ("sealed_secret", "sealed"):
            jobs.append((name, kind, "unseal", ["unseal", "--key", FUZZ_KEY, "-f", path],
                         None, None))
        if kind == "sealed_value":
            jobs.append((name, kind, "unseal", ["unseal", "--key", FUZZ_KEY, "-f", "-"], None,
                         sealed_value_secret(open(path, "rb").read()).encode()))
        if kind == "config":
            jobs.append((name, kind, "serve", ["serve", "--check", "--config", path], None, None))
        if kind in ("allowed_signers", "armor", "trust"):
            # as the trust file for a commit that a trusted key really signed
            jobs.append((name, kind, "verify", ["verify", "--repo", repo, "--rev", good,
                                                "--trust", path], None, None))
        if kind == "openpgp":
            # the fuzz input: u16 length of the key packets, key packets, signature packets
            data = open(path, "rb").read()
            klen = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
            keys, sig = data[2:2 + klen], data[2 + klen:]
            kf = os.path.join(WORK, "openpgp%d.asc" % n)
            open(kf, "w").write(armor("PUBLIC KEY BLOCK", keys))
            c = commit_with_signature(repo, git(repo, "rev-parse", good + "^{tree}"),
                                      armor("SIGNATURE", sig))
            jobs.append((name, kind, "verify", ["verify", "--repo", repo, "--rev", c, "--trust",
                                                kf], None, None))
        if kind in ("sshsig", "signature") or name == "fuzz/armor/sig.asc":
            data = open(path, "rb").read()
            if data.startswith(b"SSHSIG"):
                data = armor("SSH SIGNATURE", data).encode()
            c = commit_with_signature(repo, git(repo, "rev-parse", good + "^{tree}"), data)
            jobs.append((name, kind, "verify", ["verify", "--repo", repo, "--rev", c] +
                         sum([["--trust", t] for t in sig_trust], []), None, None))
    # The harness itself: the good commit verifies, and a byte changed in its signature not.
    jobs.append(("real signed commit", "signature", "verify",
                 ["verify", "--repo", repo, "--rev", good, "--trust", trust_ok], "0", None))
    raw = subprocess.run(["git", "-C", repo, "cat-file", "commit", good], check=True,
                         stdout=subprocess.PIPE).stdout
    lines = raw.split(b"\n")
    i = next(k for k, l in enumerate(lines) if l.startswith(b"gpgsig")) + 2
    lines[i] = lines[i][:10] + (b"A" if lines[i][10:11] != b"A" else b"B") + lines[i][11:]
    bad = git(repo, "hash-object", "-t", "commit", "-w", "--literally", "--stdin",
              data=b"\n".join(lines))
    jobs.append(("real signed commit, signature altered", "signature", "verify",
                 ["verify", "--repo", repo, "--rev", bad, "--trust", trust_ok], "1", None))
    # Generated rule source over the limit (1 MiB), too big to commit.
    big = os.path.join(WORK, "oversized.rules")
    open(big, "w").write("# " + "x" * (1100 * 1024) + "\n")
    jobs.append(("generated/oversized.rules", "rules", "check", ["check", "--rules", big, dep],
                 "2", None))
    return jobs


def make_repo():
    """A repo with one commit signed by a fresh ssh-keygen key; returns (repo, commit, its
    allowed-signers file, the trust files the replayed signatures are checked against)."""
    repo = os.path.join(WORK, "repo")
    key = os.path.join(WORK, "id")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "robust", "-f", key],
                   check=True)
    trust = os.path.join(WORK, "allowed")
    pub = open(key + ".pub").read().split()
    open(trust, "w").write("r@example.com %s %s\n" % (pub[0], pub[1]))
    subprocess.run(["git", "init", "-q", repo], check=True)
    env = dict(os.environ, GIT_AUTHOR_NAME="Robust", GIT_AUTHOR_EMAIL="r@example.com",
               GIT_COMMITTER_NAME="Robust", GIT_COMMITTER_EMAIL="r@example.com", HOME=WORK,
               GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "-C", repo, "-c", "gpg.format=ssh", "-c", "user.signingkey=" + key,
                    "commit", "-q", "-S", "--allow-empty", "-m", "signed"], check=True, env=env)
    good = git(repo, "rev-parse", "HEAD")
    sig_trust = [os.path.join(FUZZ, "allowed_signers", "plain"),
                 os.path.join(FUZZ, "armor", "keys.asc")]
    return repo, good, trust, sig_trust


def main():
    kinds = {  # fuzz corpus -> kind (the same name as the fuzzer)
        d: d for d in sorted(os.listdir(FUZZ)) if os.path.isdir(os.path.join(FUZZ, d))}
    inputs = []
    for d, kind in kinds.items():
        inputs += [(kind, p) for p in files(os.path.join(FUZZ, d))]
    for d in sorted(os.listdir(CORPUS)):
        if os.path.isdir(os.path.join(CORPUS, d)):
            inputs += [(d, p) for p in files(os.path.join(CORPUS, d))]
    started = time.time()
    replay_server(inputs)
    server_s = time.time() - started
    jobs = cli_jobs(inputs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda j: run(*j), jobs))
    # What went where, by kind.
    per_kind = collections.Counter(k for k, _ in inputs)
    print("inputs: %d files (%s)" % (len(inputs), ", ".join(
        "%s %d" % kv for kv in sorted(per_kind.items()))))
    wheres = sorted({w for w, _ in counts})
    for w in wheres:
        ks = sorted((k, n) for (ww, k), n in counts.items() if ww == w)
        print("replayed %-16s %4d  (%s)" % (w, sum(n for _, n in ks),
                                            ", ".join("%s %d" % kn for kn in ks)))
    print("server: %d requests over %d TLS connections in %.1f s; CLI: %d runs in %.1f s" % (
        CLIENT.requests, CLIENT.connections, server_s, len(jobs),
        time.time() - started - server_s))
    print("outcomes: " + ", ".join("%s: %d" % kv for kv in sorted(seen.items())))
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    print("%d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
