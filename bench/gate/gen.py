# gen.py: data for bench/gate/run, shaped like `kubectl create --dry-run=client -o yaml` and
# `kubectl get -A -o json` output.
#   gen.py repo DIR N_OBJECTS N_SECRETS   manifests in DIR/apps/*.yaml (10 objects a file),
#                                          and the plain Secrets in DIR/../plain/*.yaml
#   gen.py live DIR N_DECLARED N_TOTAL     DIR/live.json: the declared objects as an apiserver
#                                          returns them (1% with a changed image), then
#                                          unmanaged objects up to N_TOTAL
import base64, json, os, sys


def deployment(i, ns, image="nginx:1.25.3"):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"labels": {"app": f"app{i}"}, "name": f"app{i}", "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": f"app{i}"}},
                     "template": {"metadata": {"labels": {"app": f"app{i}"}},
                                  "spec": {"containers": [{
                                      "image": image, "name": "web",
                                      "ports": [{"containerPort": 8080}],
                                      "env": [{"name": "MODE", "value": "prod"}],
                                      "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                    "limits": {"memory": "256Mi"}}}]}}}}


def service(i, ns):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"labels": {"app": f"app{i}"}, "name": f"app{i}", "namespace": ns},
            "spec": {"ports": [{"name": "80-8080", "port": 80, "protocol": "TCP",
                                "targetPort": 8080}],
                     "selector": {"app": f"app{i}"}, "type": "ClusterIP"}}


def configmap(i, ns):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cfg{i}", "namespace": ns},
            "data": {"LOG_LEVEL": "info", "FEATURE": f"f{i}"}}


def declared(n):
    makers = [deployment, service, configmap]
    return [makers[i % 3](i // 3, f"team{i % 20}") for i in range(n)]


def served(o, n):
    o = json.loads(json.dumps(o))
    m = o["metadata"]
    m.update(uid=f"00000000-0000-4000-8000-{n:012d}", resourceVersion=str(n + 1000),
             creationTimestamp="2026-11-20T10:00:00Z",
             managedFields=[{"manager": "kubectl", "operation": "Update"}])
    if o["kind"] == "Deployment":
        s = o["spec"]
        s.update(progressDeadlineSeconds=600, revisionHistoryLimit=10,
                 strategy={"type": "RollingUpdate",
                           "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        p = s["template"]["spec"]
        p.update(dnsPolicy="ClusterFirst", restartPolicy="Always", schedulerName="default-scheduler",
                 securityContext={}, terminationGracePeriodSeconds=30)
        for c in p["containers"]:
            c.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log",
                     terminationMessagePolicy="File")
            c["ports"][0]["protocol"] = "TCP"
            c["resources"]["requests"]["memory"] = "134217728"  # the same quantity
        o["status"] = {"replicas": 1, "readyReplicas": 1, "observedGeneration": 1}
    elif o["kind"] == "Service":
        o["spec"].update(clusterIP="10.96.0.%d" % (n % 250 + 1), sessionAffinity="None",
                         ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack")
    return o


if sys.argv[1] == "repo":
    out, n, nsec = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    objs = declared(n - nsec)
    os.makedirs(f"{out}/apps", exist_ok=True)
    for f in range(0, len(objs), 10):
        with open(f"{out}/apps/f{f // 10:04d}.yaml", "w") as fh:
            # YAML documents in JSON's flow style (valid YAML, quick to write)
            fh.write("".join("---\n" + json.dumps(o, indent=1) + "\n" for o in objs[f:f + 10]))
    plain = f"{out}/../plain"
    os.makedirs(plain, exist_ok=True)
    for i in range(nsec):
        s = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": f"sec{i}", "namespace": f"team{i % 20}"},
             "data": {"password": base64.b64encode(b"p%06d-s3cr3t" % i).decode(),
                      "token": base64.b64encode(os.urandom(24)).decode()}}
        json.dump(s, open(f"{plain}/sec{i:04d}.json", "w"))
else:
    out, n, total = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    items = [served(o, i) for i, o in enumerate(declared(n))]
    for i in range(0, len(items), 100):  # 1% drift
        if items[i]["kind"] == "Deployment":
            items[i]["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26.0"
    i = 0
    while len(items) < total:  # what controllers and other tools made, elsewhere
        o = served(deployment(i, f"other{i % 50}"), n + i)
        o["kind"] = "ReplicaSet"
        items.append(o)
        i += 1
    json.dump({"apiVersion": "v1", "kind": "List", "items": items,
               "metadata": {"resourceVersion": ""}}, open(f"{out}/live.json", "w"))
