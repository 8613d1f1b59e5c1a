#!/usr/bin/env python3
"""server_client.py: a small HTTPS client for the webhook tests (and what the apiserver checks).

  review OBJECT.json OP [--old OLD.json] [--sub SUB] [--dry-run] [--kind G/V/K]
        print an AdmissionReview v1 around a kubectl object (OBJECT may be '-' for none)
  post URL CA BODY [--type T] [--cert C --key K]
        POST BODY, print the status line then the body
  check REQUEST RESPONSE [--mutate]
        exit 1 (saying why) unless RESPONSE is a valid answer to REQUEST as the apiserver
        verifies it (research notes, section 5)
  load URL CA BODY SECONDS THREADS [--mutate]
        POST BODY over keep-alive connections from THREADS threads for SECONDS; print
        "ok=N failed=M" (failed: anything but a 200 with a valid answer; with --mutate, a
        valid /mutate answer that allows the object)
  slow URL CA BODY DELAY
        send the headers and half the body, wait DELAY seconds, send the rest, print the status
"""
import base64
import http.client
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from urllib.parse import urlparse


def context(ca, cert=None, key=None):
    """A client context trusting ca, with a client certificate from the arguments or from
    $SEALGATE_CLIENT_CERT / $SEALGATE_CLIENT_KEY."""
    cert = cert or os.environ.get("SEALGATE_CLIENT_CERT")
    key = key or os.environ.get("SEALGATE_CLIENT_KEY")
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def review(args):
    obj = None if args[0] == "-" else json.load(open(args[0]))
    op = args[1]
    old, sub, dry, gvk = None, "", False, None
    i = 2
    while i < len(args):
        if args[i] == "--old":
            old = json.load(open(args[i + 1])); i += 2
        elif args[i] == "--sub":
            sub = args[i + 1]; i += 2
        elif args[i] == "--dry-run":
            dry = True; i += 1
        elif args[i] == "--kind":
            gvk = args[i + 1].split("/"); i += 2
        else:
            raise SystemExit("unknown option " + args[i])
    ref = obj or old
    if gvk is None:
        api = ref["apiVersion"]
        group, version = api.split("/") if "/" in api else ("", api)
        gvk = [group, version, ref["kind"]]
    meta = (ref or {}).get("metadata", {})
    req = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": gvk[0], "version": gvk[1], "kind": gvk[2]},
        "resource": {"group": gvk[0], "version": gvk[1], "resource": gvk[2].lower() + "s"},
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", "default"),
        "operation": op,
        "userInfo": {"username": "alice", "groups": ["dev", "system:authenticated"]},
        "object": obj,
        "oldObject": old,
        "dryRun": dry,
    }
    if sub:
        req["subResource"] = sub
    print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "request": req}))


def post(url, ca, body, ctype="application/json", cert=None, key=None):
    u = urlparse(url)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=context(ca, cert, key),
                                       timeout=30)
    path = u.path + ("?" + u.query if u.query else "")
    conn.request("POST", path, body=body, headers={"Content-Type": ctype} if ctype else {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def cmd_post(args):
    url, ca, body = args[0], args[1], open(args[2], "rb").read()
    ctype, cert, key = "application/json", None, None
    i = 3
    while i < len(args):
        if args[i] == "--type":
            ctype = args[i + 1] or None
        elif args[i] == "--cert":
            cert = args[i + 1]
        elif args[i] == "--key":
            key = args[i + 1]
        i += 2
    status, data = post(url, ca, body, ctype, cert, key)
    print(status)
    sys.stdout.write(data.decode("utf-8", "replace"))
    print()


NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def problems(request, answer, mutate):
    """What the apiserver would reject in answer, as a list of strings."""
    out = []
    if answer.get("apiVersion") != "admission.k8s.io/v1":
        out.append("apiVersion is %r" % answer.get("apiVersion"))
    if answer.get("kind") != "AdmissionReview":
        out.append("kind is %r" % answer.get("kind"))
    resp = answer.get("response")
    if not isinstance(resp, dict):
        return out + ["no response object"]
    if resp.get("uid") != request["request"]["uid"]:
        out.append("uid %r does not echo %r" % (resp.get("uid"), request["request"]["uid"]))
    if not isinstance(resp.get("allowed"), bool):
        out.append("allowed is not a boolean")
    if ("patch" in resp) != ("patchType" in resp):
        out.append("patch and patchType must come together")
    if not mutate and ("patch" in resp or "patchType" in resp):
        out.append("a validating answer carries a patch")
    if "patch" in resp:
        if resp["patchType"] != "JSONPatch":
            out.append("patchType is not JSONPatch")
        patch = json.loads(base64.b64decode(resp["patch"]))
        if not isinstance(patch, list):
            out.append("patch is not a JSONPatch array")
    if resp.get("allowed") is False:
        st = resp.get("status", {})
        if not isinstance(st.get("code"), int) or st["code"] < 400:
            out.append("denial code %r is below 400" % st.get("code"))
        if not st.get("message"):
            out.append("denial without a message")
    warnings = resp.get("warnings", [])
    total = sum(len(w) for w in warnings)
    for w in warnings:
        if any(ord(c) < 0x20 or ord(c) == 0x7f for c in w):
            out.append("warning with a control character: %r" % w)
        if total > 4096 and len(w) > 256:
            out.append("warning longer than 256 characters once the total passes 4096")
    for k, v in resp.get("auditAnnotations", {}).items():
        if "/" in k or len(k) > 63 or not NAME_PART.match(k):
            out.append("audit annotation key %r is not a qualified-name part" % k)
        if not isinstance(v, str):
            out.append("audit annotation %r is not a string" % k)
    return out


def cmd_check(args):
    request = json.load(open(args[0]))
    answer = json.load(open(args[1]))
    p = problems(request, answer, "--mutate" in args)
    if p:
        print("invalid answer: " + "; ".join(p))
        sys.exit(1)


def cmd_load(args):
    url, ca, body = args[0], args[1], open(args[2], "rb").read()
    seconds, threads = float(args[3]), int(args[4])
    mutate = "--mutate" in args[5:]
    request = json.loads(body)
    u = urlparse(url)
    ctx = context(ca)
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    reasons = []
    deadline = time.time() + seconds

    def worker():
        conn = None
        while time.time() < deadline:
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
                conn.request("POST", u.path, body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                answer = json.loads(data) if r.status == 200 else None
                ok = answer is not None and not problems(request, answer, mutate)
                if ok and mutate:
                    ok = answer["response"]["allowed"] is True
                if r.getheader("Connection", "").lower() == "close":
                    conn.close(); conn = None
            except (OSError, http.client.HTTPException, ValueError) as e:
                ok = False
                data = repr(e).encode()
                if conn:
                    conn.close()
                conn = None
            with lock:
                counts["ok" if ok else "failed"] += 1
                if not ok and len(reasons) < 5:
                    reasons.append(data[:200])
        if conn:
            conn.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("ok=%d failed=%d" % (counts["ok"], counts["failed"]))
    for r in reasons:
        print("  failure: %r" % r, file=sys.stderr)


def cmd_slow(args):
    url, ca, body, delay = args[0], args[1], open(args[2], "rb").read(), float(args[3])
    u = urlparse(url)
    raw = socket.create_connection((u.hostname, u.port))
    s = context(ca).wrap_socket(raw, server_hostname=u.hostname)
    half = len(body) // 2
    s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % (u.path, u.hostname, len(body))).encode())
    s.sendall(body[:half])
    print("sent half", flush=True)
    time.sleep(delay)
    s.sendall(body[half:])
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print(data.split(b"\r\n", 1)[0].decode(), flush=True)
    s.close()


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"review": review, "post": cmd_post, "check": cmd_check, "load": cmd_load,
     "slow": cmd_slow}[cmd](rest)
