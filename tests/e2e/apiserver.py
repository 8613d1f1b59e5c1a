#!/usr/bin/env python3
"""apiserver.py: what a kube-apiserver does to an object before it calls the webhooks, for the
end-to-end test (tests/e2e/gitops_loop.sh).

  review OBJECT OP [--old OLD] [--user U] [--groups G,G] [--scale N] [--uid UID]
        print the AdmissionReview v1 the apiserver sends for OP on OBJECT (a YAML or JSON file
        of one document, or '-' for none): the object and oldObject carry the server fields and
        defaults the apiserver fills in (uid, creationTimestamp, managedFields, imagePullPolicy,
        strategy, clusterIP, ...), Secrets have stringData folded into data. --scale N: a
        `kubectl scale --replicas=N` request on OBJECT (subresource scale, kind autoscaling/v1
        Scale).
  patch REVIEW ANSWER
        print REVIEW with the JSONPatch of a /mutate ANSWER applied to its object, as the
        apiserver does before it calls the validating webhooks (a new uid: a new call)
  data REVIEW
        print the object's data decoded from base64, as sorted JSON
  decide URL CA PATH REVIEW ANSWER
        POST REVIEW to URL+PATH over TLS trusting CA, write the answer to ANSWER, and print
        shell assignments: code, allowed, message, commit, signer, patch_type, and problems
        (what the apiserver would reject in the answer; server_client.py's check)
"""
import base64
import copy
import json
import os
import shlex
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "admission"))

STAMP = "2026-11-22T08:00:00Z"


def load(path):
    if path == "-":
        return None
    if path.endswith(".json"):
        return json.load(open(path))
    import yaml  # only for YAML: it costs a tenth of a second under load
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if len(docs) != 1:
        raise SystemExit("%s: expected one document, found %d" % (path, len(docs)))
    return docs[0]


def default_container(c):
    c.setdefault("imagePullPolicy", "Always" if c["image"].endswith(":latest") else "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports", []):
        p.setdefault("protocol", "TCP")


def default_pod_spec(spec):
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        default_container(c)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")


def server_side(obj, manager):
    """obj as the apiserver stores it: server fields, defaults and the engine's labels."""
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    meta["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, obj["kind"] + "/" + meta.get("name", "")))
    meta["creationTimestamp"] = STAMP
    meta["resourceVersion"] = "4711"
    meta["managedFields"] = [{"manager": manager, "operation": "Apply", "apiVersion": obj["apiVersion"],
                              "time": STAMP, "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]
    kind = obj["kind"]
    if kind == "Deployment":
        meta["generation"] = 1
        spec = obj["spec"]
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        if not spec.get("strategy"):
            spec["strategy"] = {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
        default_pod_spec(spec["template"]["spec"])
        obj["status"] = {}
    elif kind == "Pod":
        default_pod_spec(obj["spec"])
        obj["spec"].setdefault("serviceAccountName", "default")
        obj["spec"].setdefault("enableServiceLinks", True)
        obj["spec"].setdefault("tolerations", [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}])
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif kind == "Service":
        spec = obj["spec"]
        spec.setdefault("type", "ClusterIP")
        spec["clusterIP"] = "10.96.41.7"
        spec["clusterIPs"] = ["10.96.41.7"]
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for p in spec.get("ports", []):
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p["port"])
        obj["status"] = {"loadBalancer": {}}
    elif kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    elif kind == "Secret":
        data = obj.setdefault("data", {})
        for k, v in obj.pop("stringData", {}).items():
            data[k] = base64.b64encode(v.encode()).decode()
        obj.setdefault("type", "Opaque")
    return obj


def review(args):
    opts = {"--old": None, "--user": "system:serviceaccount:flux-system:kustomize-controller",
            "--groups": "system:serviceaccounts,system:serviceaccounts:flux-system,system:authenticated",
            "--scale": None, "--uid": None}
    obj, op = load(args[0]), args[1]
    i = 2
    while i < len(args):
        if args[i] not in opts:
            raise SystemExit("unknown option " + args[i])
        opts[args[i]] = args[i + 1]
        i += 2
    manager = opts["--user"].rsplit(":", 1)[-1]
    old = load(opts["--old"]) if opts["--old"] else None
    ref = obj or old
    api = ref["apiVersion"]
    group, version = api.split("/") if "/" in api else ("", api)
    kind, resource = ref["kind"], ref["kind"].lower() + "s"
    meta = ref["metadata"]
    req = {"uid": opts["--uid"] or str(uuid.uuid4()),
           "kind": {"group": group, "version": version, "kind": kind},
           "resource": {"group": group, "version": version, "resource": resource},
           "requestKind": {"group": group, "version": version, "kind": kind},
           "requestResource": {"group": group, "version": version, "resource": resource},
           "name": meta["name"], "namespace": meta.get("namespace", ""), "operation": op,
           "userInfo": {"username": opts["--user"], "groups": opts["--groups"].split(",")},
           "object": server_side(obj, manager) if obj else None,
           "oldObject": server_side(old, manager) if old else None,
           "dryRun": False,
           "options": {"kind": op.capitalize() + "Options", "apiVersion": "meta.k8s.io/v1"}}
    if opts["--scale"] is not None:
        # kubectl scale: an UPDATE of the scale subresource, whose object is a Scale.
        def scale(o, n):
            s = server_side(o, manager)
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {k: s["metadata"][k] for k in ("name", "namespace", "uid",
                                                               "resourceVersion", "creationTimestamp")},
                    "spec": {"replicas": n}, "status": {"replicas": o["spec"].get("replicas", 1)}}
        req.update({"kind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                    "requestKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                    "subResource": "scale", "requestSubResource": "scale",
                    "object": scale(ref, int(opts["--scale"])),
                    "oldObject": scale(ref, ref["spec"].get("replicas", 1))})
        req["options"]["kind"] = "UpdateOptions"
    print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}))


def unescape(part):
    return part.replace("~1", "/").replace("~0", "~")


def patch(args):
    rev = json.load(open(args[0]))
    resp = json.load(open(args[1]))["response"]
    obj = rev["request"]["object"]
    for op in json.loads(base64.b64decode(resp["patch"])):
        parts = [unescape(p) for p in op["path"].split("/")[1:]]
        target = obj
        for p in parts[:-1]:
            target = target[int(p)] if isinstance(target, list) else target[p]
        if op["op"] in ("add", "replace"):
            target[parts[-1]] = op["value"]
        elif op["op"] == "remove":
            del target[parts[-1]]
        else:
            raise SystemExit("unexpected patch op " + op["op"])
    rev["request"]["uid"] = str(uuid.uuid4())
    print(json.dumps(rev))


def data(args):
    obj = json.load(open(args[0]))["request"]["object"]
    print(json.dumps({k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()},
                     sort_keys=True))


def decide(args):
    import server_client  # tests/admission: the HTTPS client and the apiserver's checks
    url, ca, path, review_file, answer_file = args
    request = json.load(open(review_file))
    status, raw = server_client.post(url + path, ca, json.dumps(request).encode())
    with open(answer_file, "wb") as f:
        f.write(raw)
    out = {"code": status, "allowed": "", "message": "", "commit": "", "signer": "",
           "patch_type": "", "problems": ""}
    try:
        answer = json.loads(raw)
    except ValueError as e:
        out["problems"] = "not JSON: %s" % e
        answer = None
    if isinstance(answer, dict):
        resp = answer.get("response") or {}
        out["allowed"] = json.dumps(resp.get("allowed"))
        out["message"] = (resp.get("status") or {}).get("message", "")
        notes = resp.get("auditAnnotations") or {}
        out["commit"], out["signer"] = notes.get("commit", ""), notes.get("signer", "")
        out["patch_type"] = resp.get("patchType", "")
        out["problems"] = "; ".join(server_client.problems(request, answer, path == "/mutate"))
    for k, v in out.items():
        print("%s=%s" % (k, shlex.quote(str(v))))


if __name__ == "__main__":
    {"review": review, "patch": patch, "data": data, "decide": decide}[sys.argv[1]](sys.argv[2:])
