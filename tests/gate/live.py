# live.py: what `kubectl get namespaces,deployments,replicasets,services,configmaps,secrets,
# serviceaccounts -A -o json` would print for a cluster that runs fixture.sh's repo: objects
# made by `kubectl create --dry-run=client -o json`, plus what the apiserver and controllers
# add (uid, resourceVersion, managedFields, creationTimestamp, status, defaulted fields), plus
# the objects they create themselves. Writes OUT/clean.json and OUT/drift.json; drift.json
# has exactly three planted differences: web's image changed, an extra ConfigMap 'debug',
# and the Service 'api' missing.
# Usage: live.py REPO PLAIN_SECRET_YAML OUT
import base64, copy, itertools, json, subprocess, sys
import yaml

repo, plain_path, out = sys.argv[1:4]
uid = itertools.count(1)


def kc(*args):
    r = subprocess.run(["kubectl", "create", *args, "--dry-run=client", "-o", "json"],
                       capture_output=True, check=True, text=True)
    return json.loads(r.stdout)


def served(o, gen=False):
    """The metadata every stored object gets."""
    m = o["metadata"]
    n = next(uid)
    m["uid"] = "00000000-0000-4000-8000-%012d" % n
    m["resourceVersion"] = str(1000 + n)
    m["creationTimestamp"] = "2026-11-20T10:00:00Z"
    m["managedFields"] = [{"apiVersion": o["apiVersion"], "fieldsType": "FieldsV1",
                           "manager": "kubectl-client-side-apply", "operation": "Update",
                           "time": "2026-11-20T10:00:00Z",
                           "fieldsV1": {"f:metadata": {"f:labels": {}}}}]
    if gen:
        m["generation"] = 1
    return o


def pod_defaults(spec):
    spec.update(dnsPolicy="ClusterFirst", restartPolicy="Always", schedulerName="default-scheduler",
                securityContext={}, terminationGracePeriodSeconds=30)
    for c in spec["containers"]:
        c.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log",
                 terminationMessagePolicy="File")
        for p in c.get("ports", []):
            p.setdefault("protocol", "TCP")


def deployment(name, image, *extra):
    d = served(kc("deployment", name, "--image=" + image, "-n", "shop", *extra), gen=True)
    d["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
    s = d["spec"]
    s.update(progressDeadlineSeconds=600, revisionHistoryLimit=10,
             strategy={"type": "RollingUpdate",
                       "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    pod_defaults(s["template"]["spec"])
    d["status"] = {"availableReplicas": 1, "readyReplicas": 1, "replicas": 1, "updatedReplicas": 1,
                   "observedGeneration": 1,
                   "conditions": [{"type": "Available", "status": "True"}]}
    return d


def service(name, ports, ip):
    s = served(kc("service", "clusterip", name, "--tcp=" + ports, "-n", "shop"))
    s["spec"].update(clusterIP=ip, clusterIPs=[ip], internalTrafficPolicy="Cluster",
                     ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack", sessionAffinity="None")
    s["status"] = {"loadBalancer": {}}
    return s


def configmap(name, *lits, ns="shop"):
    return served(kc("configmap", name, *["--from-literal=" + l for l in lits], "-n", ns))


ns = served(kc("namespace", "shop"))
ns["metadata"]["labels"] = {"kubernetes.io/metadata.name": "shop"}
ns["spec"] = {"finalizers": ["kubernetes"]}
ns["status"] = {"phase": "Active"}

web = deployment("web", "nginx:1.25.3", "--port=8080")
api = deployment("api", "ghcr.io/acme/api:2.1.0")
# A ReplicaSet the Deployment controller made: owned, so not git's business.
rs = served(copy.deepcopy(web), gen=True)
rs.update(kind="ReplicaSet")
rs["metadata"].update(name="web-7c5ddbdf54", ownerReferences=[{
    "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": web["metadata"]["uid"],
    "controller": True, "blockOwnerDeletion": True}])
del rs["spec"]["strategy"], rs["spec"]["progressDeadlineSeconds"]

# The Secret as /mutate leaves it: sealing label and annotations kept, values plain under data.
sealed = yaml.safe_load(open(f"{repo}/apps/db.yaml"))
plain = yaml.safe_load(open(plain_path))
secret = served(copy.deepcopy(sealed))
secret.pop("stringData", None)
secret["data"] = plain["data"]
secret["type"] = "Opaque"

root_ca = configmap("kube-root-ca.crt", "ca.crt=-----BEGIN CERTIFICATE-----")
sa = served({"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "default", "namespace": "shop"}})
coredns = deployment("coredns", "registry.k8s.io/coredns/coredns:v1.11.1")
coredns["metadata"]["namespace"] = "kube-system"

clean = [ns, web, api, rs,
         service("web", "80:8080", "10.96.10.1"), service("api", "80:9000", "10.96.10.2"),
         configmap("settings", "LOG_LEVEL=info", "REPLICAS=3"), configmap("flags", "beta=true"),
         configmap("late", "k=v"), root_ca, secret, sa, coredns,
         configmap("elsewhere", "x=y", ns="lab")]


def as_list(items):
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


json.dump(as_list(clean), open(f"{out}/clean.json", "w"), indent=4)
drift = copy.deepcopy(clean)
drift[1]["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26.0"
drift = [o for o in drift if not (o["kind"] == "Service" and o["metadata"]["name"] == "api")]
drift.append(configmap("debug", "trace=on"))
json.dump(as_list(drift), open(f"{out}/drift.json", "w"), indent=4)
