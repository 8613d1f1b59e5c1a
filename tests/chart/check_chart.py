#!/usr/bin/env python3
"""check_chart.py SUITE: the chart checks that need no helm binary (see chartlib.py).

Suites:
  values    values.yaml and every ci/*.yaml validate against values.schema.json; bad values
            are refused; every key in values.yaml carries a comment.
  static    every template's static YAML parses once its {{ }} actions are removed.
  render    every template rendered (chartlib's subset renderer) for the default values, each
            ci/*.yaml and both TLS modes parses, and the objects agree with each other: the
            webhooks call the Service on /validate and /mutate with the CA, every file the
            config names is mounted, pod security is restricted, selectors match.
  config    the config the default values render to equals charts/sealgate/tests/
            config.default.yaml, and every rendered config uses only the contract's keys.
Prints one line per failure and a last line "N passed, N failed"; exits 1 on any failure.
"""

import copy
import glob
import json
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chartlib  # noqa: E402

SRC = os.environ.get("SEALGATE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
CHART = os.path.join(SRC, "charts", "sealgate")
FIXTURE = os.path.join(CHART, "tests", "config.default.yaml")

passes = 0
fails = 0


def check(cond, what):
    global passes, fails
    if cond:
        passes += 1
    else:
        fails += 1
        print("FAIL: " + what)
    return cond


def ci_files():
    return sorted(glob.glob(os.path.join(CHART, "ci", "*.yaml")))


def value_sets():
    """(name, values) for the defaults and every ci file merged over them, as helm does."""
    chart, values, templates = chartlib.load_chart(CHART)
    sets = [("default", values)]
    for f in ci_files():
        over = yaml.safe_load(open(f)) or {}
        sets.append((os.path.basename(f), chartlib.merge(copy.deepcopy(values), over)))
    return sets


# ---- values -------------------------------------------------------------------------------

def suite_values():
    import jsonschema
    schema = json.load(open(os.path.join(CHART, "values.schema.json")))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    sets = value_sets()
    check(len(sets) >= 4, "at least three ci/*.yaml value files")
    for name, values in sets:
        errs = ["%s: %s" % ("/".join(map(str, e.path)), e.message) for e in validator.iter_errors(values)]
        check(not errs, "%s does not validate: %s" % (name, errs))

    # Values the schema must refuse: each would render a broken or dangerous release.
    base = sets[0][1]
    bad = [
        ("failurePolicy typo", {"webhook": {"failurePolicy": "Fial"}}),
        ("timeout over 30", {"webhook": {"timeoutSeconds": 31}}),
        ("unknown top-level key", {"replicas": 3}),
        ("unknown nested key", {"repo": {"branchh": "main"}}),
        ("mode not an enum", {"mode": "block"}),
        ("repo on without url", {"repo": {"enabled": True, "paths": ["a"],
                                          "trust": {"inline": {"k": "x"}}}}),
        ("repo on without paths", {"repo": {"enabled": True, "url": "ssh://g/r",
                                            "trust": {"inline": {"k": "x"}}}}),
        ("repo on without trust", {"repo": {"enabled": True, "url": "ssh://g/r", "paths": ["a"]}}),
        ("bad interval", {"repo": {"interval": "30 seconds"}}),
        ("bad tls mode", {"tls": {"mode": "manual"}}),
        ("issuerRef without name", {"tls": {"certManager": {"issuerRef": {"kind": "Issuer"}}}}),
        ("privileged port", {"containerPort": 443}),
        ("custom rule file name", {"rules": {"custom": {"inline": {"x.yaml": "rule"}}}}),
        ("zero replicas", {"replicaCount": 0}),
        ("bad CIDR", {"networkPolicy": {"git": {"cidrs": ["git.example.com"]}}}),
    ]
    for what, over in bad:
        v = chartlib.merge(copy.deepcopy(base), over)
        check(any(True for _ in validator.iter_errors(v)), "schema accepts bad values: " + what)

    # Every key of values.yaml has a comment line right above it (list items excepted).
    lines = open(os.path.join(CHART, "values.yaml")).read().split("\n")
    list_indent = None
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(- )?([A-Za-z0-9_.\"-]+):", line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group(1))
        if m.group(2):
            list_indent = indent
            continue
        if list_indent is not None and indent > list_indent:
            continue
        list_indent = None
        prev = lines[i - 1].strip() if i else ""
        check(prev.startswith("#"), "values.yaml:%d: key %s has no comment" % (i + 1, m.group(3)))


# ---- static -------------------------------------------------------------------------------

def suite_static():
    _, _, templates = chartlib.load_chart(CHART)
    yamls = [n for n in templates if n.endswith(".yaml")]
    check(len(yamls) >= 9, "templates found (%d)" % len(yamls))
    for name in yamls:
        text, tokens = chartlib.strip(templates[name])
        check("{{" not in text and "}}" not in text, "%s: an action survived stripping" % name)
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            check(False, "%s: static YAML does not parse: %s" % (name, e))
            continue
        check(docs, "%s: no document" % name)
        for d in docs:
            check(isinstance(d, dict) and "apiVersion" in d and "kind" in d and "metadata" in d,
                  "%s: a document lacks apiVersion/kind/metadata" % name)
    # The brief's grep checks, on the template text itself.
    w = templates["webhook.yaml"]
    for needle in ("path: /validate", "path: /mutate", "caBundle: {{ $caBundle }}",
                   "cert-manager.io/inject-ca-from", "sideEffects: None",
                   'admissionReviewVersions: ["v1"]', 'sealgate.io/sealed: "true"', "lookup",
                   "genCA", "genSignedCert"):
        check(needle in w, "webhook.yaml lacks %r" % needle)


# ---- render -------------------------------------------------------------------------------

def render_all(values, namespace="sealgate", lookups=None):
    chart, _, templates = chartlib.load_chart(CHART)
    r = chartlib.Renderer(chart, values, namespace=namespace, templates=templates, lookups=lookups)
    objs = []
    for name in sorted(templates):
        if not name.endswith(".yaml"):
            continue
        out = r.render(name)
        for d in yaml.safe_load_all(out):
            if d is not None:
                objs.append(d)
    notes = r.render("NOTES.txt")
    return objs, notes


def by_kind(objs, kind):
    return [o for o in objs if o.get("kind") == kind]


def one(objs, kind):
    found = by_kind(objs, kind)
    check(len(found) == 1, "exactly one %s (found %d)" % (kind, len(found)))
    return found[0] if found else {}


def b64(s):
    import base64
    return base64.b64decode(s).decode()


def check_release(tag, values, objs, notes, ns):
    for o in objs:
        check(o.get("apiVersion") and o.get("kind") and o.get("metadata", {}).get("name"),
              "%s: object without apiVersion/kind/name: %s" % (tag, str(o)[:80]))
        if o["kind"] not in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            check(o["metadata"].get("namespace") == ns, "%s: %s/%s not in the release namespace"
                  % (tag, o["kind"], o["metadata"]["name"]))
    dep = one(objs, "Deployment")
    svc = one(objs, "Service")
    vwc = one(objs, "ValidatingWebhookConfiguration")
    mwc = one(objs, "MutatingWebhookConfiguration")
    if not (dep and svc and vwc and mwc):
        return
    pod = dep["spec"]["template"]
    spec = pod["spec"]
    c = spec["containers"][0]

    # Replicas, spread, priority, account.
    check(dep["spec"]["replicas"] == values["replicaCount"], tag + ": replicas")
    check(spec["automountServiceAccountToken"] is False, tag + ": service account token mounted")
    if values["topologySpread"]["enabled"]:
        tsc = spec.get("topologySpreadConstraints", [{}])[0]
        check(tsc.get("labelSelector", {}).get("matchLabels") == dep["spec"]["selector"]["matchLabels"],
              tag + ": topology spread selects the pods")
    check(spec.get("priorityClassName", "") == values["priorityClassName"], tag + ": priorityClassName")
    pdbs = by_kind(objs, "PodDisruptionBudget")
    check(len(pdbs) == (1 if values["podDisruptionBudget"]["enabled"] else 0), tag + ": PDB present as asked")
    for p in pdbs:
        check(p["spec"]["minAvailable"] < values["replicaCount"] or values["replicaCount"] == 1,
              tag + ": PDB would block every drain")
        check(p["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"], tag + ": PDB selector")
    sa = by_kind(objs, "ServiceAccount")
    if values["serviceAccount"]["create"]:
        check(sa and sa[0]["metadata"]["name"] == spec["serviceAccountName"], tag + ": ServiceAccount name")
        check(sa and sa[0].get("automountServiceAccountToken") is False, tag + ": SA automount")

    # Restricted pod security.
    psc, csc = spec["securityContext"], c["securityContext"]
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532, tag + ": pod runs as 65532")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", tag + ": pod seccomp")
    check(csc.get("allowPrivilegeEscalation") is False, tag + ": allowPrivilegeEscalation")
    check(csc.get("readOnlyRootFilesystem") is True, tag + ": readOnlyRootFilesystem")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], tag + ": capabilities drop ALL")
    check(csc.get("runAsNonRoot") is True, tag + ": container runAsNonRoot")
    check(c["command"] == ["sealgate", "serve", "--config", "/etc/sealgate/config.yaml"], tag + ": command")
    check(c.get("resources") == values["resources"], tag + ": resources")
    check(c.get("lifecycle", {}).get("preStop"), tag + ": preStop delay before SIGTERM")

    # Probes: HTTPS /healthz and /readyz unless client certificates are required.
    if values["tls"]["clientCA"]["existingSecret"]:
        check("tcpSocket" in c["livenessProbe"] and "tcpSocket" in c["readinessProbe"], tag + ": TCP probes with clientCA")
    else:
        lp, rp = c["livenessProbe"].get("httpGet", {}), c["readinessProbe"].get("httpGet", {})
        check(lp.get("path") == "/healthz" and lp.get("scheme") == "HTTPS", tag + ": liveness HTTPS /healthz")
        check(rp.get("path") == "/readyz" and rp.get("scheme") == "HTTPS", tag + ": readiness HTTPS /readyz")
        check(lp.get("port") == "https" and rp.get("port") == "https", tag + ": probes on the https port")

    # Service selects the pods and targets the container port.
    labels = pod["metadata"]["labels"]
    check(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()), tag + ": Service selects the pods")
    sport = svc["spec"]["ports"][0]
    cport = c["ports"][0]
    check(sport["targetPort"] in (cport["name"], cport["containerPort"]), tag + ": Service targets the container port")

    # Volumes: every mount has a volume; /tmp and the repo cache are writable emptyDirs.
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for m in c["volumeMounts"]:
        check(m["name"] in vols, "%s: mount %s has no volume" % (tag, m["name"]))
    for path in ("/tmp", "/var/cache/sealgate"):
        m = mounts.get(path)
        check(m and "emptyDir" in vols.get(m["name"], {}) and not m.get("readOnly"), "%s: %s is a writable emptyDir" % (tag, path))

    # The config: every file it names lies under a mount, and the ConfigMap is the one mounted.
    cms = {o["metadata"]["name"]: o for o in by_kind(objs, "ConfigMap")}
    cfg_vol = vols[mounts["/etc/sealgate/config.yaml"]["name"]]
    cfg_cm = cms.get(cfg_vol["configMap"]["name"])
    check(cfg_cm is not None and mounts["/etc/sealgate/config.yaml"].get("subPath") == "config.yaml",
          tag + ": config.yaml mounted from the chart's ConfigMap")
    config = yaml.safe_load(cfg_cm["data"]["config.yaml"]) if cfg_cm else {}
    named = [config["tls"]["cert"], config["tls"]["key"]] + list(config.get("rules") or [])
    named += [config["tls"]["clientCA"]] if "clientCA" in config["tls"] else []
    named += list((config.get("repo") or {}).get("trust") or [])
    named += list((config.get("sealing") or {}).get("keys") or [])
    check(config.get("stateDir") in mounts and not mounts[config["stateDir"]].get("readOnly")
          and "emptyDir" in vols[mounts[config["stateDir"]]["name"]], tag + ": stateDir is the writable emptyDir")
    for path in named:
        if path.startswith("/usr/share/sealgate/rules/"):
            continue  # in the image (Dockerfile copies rules/ there; the image test checks it)
        under = [mp for mp in mounts if path == mp or path.startswith(mp.rstrip("/") + "/")]
        check(under, "%s: config names %s, which no volume provides" % (tag, path))
    packs = values["rules"]["packs"]
    check(sorted(p for p in config.get("rules") or [] if p.startswith("/usr/share/")) ==
          sorted("/usr/share/sealgate/rules/" + p for p, on in packs.items() if on), tag + ": packs on/off")
    for p, on in packs.items():
        if on:
            check(os.path.isdir(os.path.join(SRC, "rules", p)) or not os.path.isdir(os.path.join(SRC, "rules")),
                  "%s: pack %s is not in rules/" % (tag, p))
    # Secrets the chart must never generate: sealing keys and git credentials come from
    # existing Secrets, mounted by name.
    secrets = [o["metadata"]["name"] for o in by_kind(objs, "Secret")]
    for ref in (values["sealing"]["existingSecret"], values["repo"]["credentials"]["existingSecret"]):
        if ref:
            check(ref not in secrets, "%s: the chart generates Secret %s" % (tag, ref))
            check(any(v.get("secret", {}).get("secretName") == ref for v in vols.values()),
                  "%s: existing Secret %s is not mounted" % (tag, ref))
    if values["repo"]["credentials"]["existingSecret"]:
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        gm = [m for m in c["volumeMounts"] if vols[m["name"]].get("secret", {}).get("secretName")
              == values["repo"]["credentials"]["existingSecret"]]
        check(gm and env.get("HOME") and gm[0]["mountPath"] == env["HOME"] + "/.ssh",
              tag + ": git credentials are $HOME/.ssh (known_hosts where ssh looks)")
    if values["sealing"]["existingSecret"]:
        sv = [v for v in vols.values() if v.get("secret", {}).get("secretName") == values["sealing"]["existingSecret"]]
        check(sv and sv[0]["secret"].get("defaultMode") == 0o440, tag + ": sealing keys mode 0440")
    check("checksum/config" in pod["metadata"].get("annotations", {}), tag + ": config checksum rolls pods")

    # Webhooks: the Service, the paths, the CA.
    tls_secret = vols["tls"]["secret"]["secretName"]
    check(mounts.get("/etc/sealgate/tls") and config["tls"]["cert"] == "/etc/sealgate/tls/tls.crt"
          and config["tls"]["key"] == "/etc/sealgate/tls/tls.key", tag + ": certificate files come from the tls volume")
    excluded = set(values["webhook"]["excludeNamespaces"]) | {ns}
    if values["tls"]["mode"] == "certManager":
        excluded.add(values["tls"]["certManager"]["namespace"])
    for cfg, path in ((vwc, "/validate"), (mwc, "/mutate")):
        hooks = cfg["webhooks"]
        check(len(hooks) == 1, tag + ": one webhook per configuration")
        h = hooks[0]
        ref = h["clientConfig"].get("service", {})
        check(ref.get("name") == svc["metadata"]["name"] and ref.get("namespace") == ns,
              "%s: %s calls the Service" % (tag, path))
        check(ref.get("path") == path, "%s: path %s" % (tag, path))
        check(ref.get("port") == sport["port"], "%s: %s port matches the Service" % (tag, path))
        check("url" not in h["clientConfig"], tag + ": no url clientConfig")
        check(h["sideEffects"] == "None", "%s: %s sideEffects None" % (tag, path))
        check(h["admissionReviewVersions"] == ["v1"], "%s: %s admissionReviewVersions" % (tag, path))
        check(1 <= h["timeoutSeconds"] <= 30, tag + ": timeoutSeconds in range")
        sel = h["namespaceSelector"]["matchExpressions"]
        check(any(e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "NotIn"
                  and excluded <= set(e["values"]) for e in sel),
              "%s: %s namespaceSelector excludes %s" % (tag, path, sorted(excluded)))
        ann = cfg["metadata"].get("annotations") or {}
        if values["tls"]["mode"] == "selfSigned":
            sec = [o for o in by_kind(objs, "Secret") if o["metadata"]["name"] == tls_secret]
            check(sec, tag + ": the self-signed Secret is the one the Deployment mounts")
            if sec:
                data = sec[0]["data"]
                check(h["clientConfig"].get("caBundle") == data["ca.crt"], "%s: %s caBundle is the Secret's CA" % (tag, path))
                leaf = b64(data["tls.crt"])
                ca = b64(data["ca.crt"]).split("\n")[1]
                check(("BY=" + ca) in leaf or "LEAF:" not in leaf, tag + ": the serving certificate is signed by that CA")
                if "SAN=" in leaf:
                    san = leaf.split("SAN=")[1].split(":")[0].split(",")
                    check("%s.%s.svc" % (svc["metadata"]["name"], ns) in san, tag + ": certificate names the Service")
            check("cert-manager.io/inject-ca-from" not in ann, tag + ": no injection in selfSigned mode")
        else:
            check("caBundle" not in h["clientConfig"], tag + ": no caBundle in certManager mode")
            inj = ann.get("cert-manager.io/inject-ca-from", "")
            certs = {o["metadata"]["name"]: o for o in by_kind(objs, "Certificate")}
            check(inj.split("/")[0] == ns and inj.split("/")[-1] in certs,
                  "%s: inject-ca-from %r names a Certificate of the release" % (tag, inj))
            cert = certs.get(inj.split("/")[-1], {})
            check(cert.get("spec", {}).get("secretName") == tls_secret, tag + ": the Certificate fills the mounted Secret")
            check("%s.%s.svc" % (svc["metadata"]["name"], ns) in cert.get("spec", {}).get("dnsNames", []),
                  tag + ": the Certificate names the Service")
            check(not [o for o in by_kind(objs, "Secret") if o["metadata"]["name"] == tls_secret],
                  tag + ": no chart-made TLS Secret in certManager mode")
    vrules = vwc["webhooks"][0]["rules"]
    check(vrules == values["webhook"]["rules"], tag + ": validate rules from values")
    check(any("DELETE" in r["operations"] for r in vrules), tag + ": DELETE reaches /validate (provenance)")
    m = mwc["webhooks"][0]
    check(m["objectSelector"] == {"matchLabels": {"sealgate.io/sealed": "true"}}, tag + ": mutate objectSelector")
    check([r["resources"] for r in m["rules"]] == [["secrets"]], tag + ": mutate Secrets only")
    check(m["failurePolicy"] == values["webhook"]["mutate"]["failurePolicy"], tag + ": mutate failurePolicy")
    check(vwc["webhooks"][0]["failurePolicy"] == values["webhook"]["failurePolicy"], tag + ": validate failurePolicy")

    # Optional objects.
    check(len(by_kind(objs, "ServiceMonitor")) == int(values["metrics"]["serviceMonitor"]["enabled"]), tag + ": ServiceMonitor")
    rules = by_kind(objs, "PrometheusRule")
    check(len(rules) == int(values["metrics"]["prometheusRule"]["enabled"]), tag + ": PrometheusRule")
    for pr in rules:
        alerts = {r["alert"]: r for g in pr["spec"]["groups"] for r in g["rules"]}
        for a in ("SealgateDenialSpike", "SealgateRepoSyncFailing", "SealgateUnverifiedCommit", "SealgateWebhookLatencyHigh"):
            check(a in alerts, "%s: alert %s" % (tag, a))
        for a in alerts.values():
            names = re.findall(r"\b([a-z_]+)(?:_bucket)?\{", a["expr"])
            check(names and all(n.startswith("sealgate_") for n in names), "%s: %s uses sealgate_ metrics" % (tag, a["alert"]))
            check("{{ $value" in json.dumps(a) or "$value" not in json.dumps(a), tag + ": Prometheus templating kept")
    nps = by_kind(objs, "NetworkPolicy")
    check(len(nps) == int(values["networkPolicy"]["enabled"]), tag + ": NetworkPolicy")
    for np in nps:
        ing = np["spec"]["ingress"]
        check(len(ing) == 1 and [p["port"] for p in ing[0]["ports"]] in (["https"], [cport["containerPort"]]),
              tag + ": ingress only to the webhook port")
        egress_ports = sorted({p["port"] for e in np["spec"]["egress"] for p in e["ports"]})
        allowed = {53} | (set(values["networkPolicy"]["git"]["ports"]) if values["repo"]["enabled"] else set())
        check(set(egress_ports) <= allowed and 53 in egress_ports, "%s: egress to DNS and git only (%s)" % (tag, egress_ports))
    check(svc["metadata"]["name"] in notes and "operations.md" in notes, tag + ": NOTES name the release and the recovery doc")


def suite_render():
    sets = value_sets()
    modes = []
    for name, values in sets:
        modes.append((name, values))
        other = copy.deepcopy(values)
        other["tls"]["mode"] = "certManager" if values["tls"]["mode"] == "selfSigned" else "selfSigned"
        modes.append((name + "+" + other["tls"]["mode"], other))
    seen_modes = set()
    for tag, values in modes:
        ns = "gate-" + str(len(tag))
        try:
            objs, notes = render_all(values, namespace=ns)
        except (chartlib.Unsupported, chartlib.TemplateError) as e:
            check(False, "%s: render: %s" % (tag, e))
            continue
        except yaml.YAMLError as e:
            check(False, "%s: rendered YAML does not parse: %s" % (tag, e))
            continue
        seen_modes.add(values["tls"]["mode"])
        try:
            check_release(tag, values, objs, notes, ns)
        except (KeyError, TypeError, IndexError, AttributeError) as e:
            check(False, "%s: rendered objects lack a field the checks need: %r" % (tag, e))
    check(seen_modes == {"selfSigned", "certManager"}, "both TLS modes rendered")

    # Upgrades keep the self-signed CA: with the Secret already in the cluster (lookup finds
    # it), the release renders the same data and caBundle instead of a new CA.
    values = sets[0][1]
    ns = "sealgate"
    existing = {"apiVersion": "v1", "kind": "Secret", "data": {
        "tls.crt": "T0xEQ0VSVA==", "tls.key": "T0xES0VZ", "ca.crt": "T0xEQ0E="}}
    objs, _ = render_all(values, namespace=ns, lookups={("v1", "Secret", ns, "sealgate-tls"): existing})
    sec = [o for o in by_kind(objs, "Secret") if o["metadata"]["name"] == "sealgate-tls"]
    check(sec and sec[0]["data"] == existing["data"], "upgrade: the existing TLS Secret is kept")
    for cfg in by_kind(objs, "ValidatingWebhookConfiguration") + by_kind(objs, "MutatingWebhookConfiguration"):
        check(cfg["webhooks"][0]["clientConfig"]["caBundle"] == "T0xEQ0E=", "upgrade: caBundle is the kept CA")
    # A partial Secret (someone deleted a key) is replaced, not half-used.
    objs, _ = render_all(values, namespace=ns, lookups={("v1", "Secret", ns, "sealgate-tls"):
                                                         {"data": {"ca.crt": "T0xEQ0E="}}})
    sec = [o for o in by_kind(objs, "Secret") if o["metadata"]["name"] == "sealgate-tls"]
    check(sec and sec[0]["data"]["ca.crt"] != "T0xEQ0E=", "upgrade: a partial Secret is regenerated")


# ---- config -------------------------------------------------------------------------------

# design.md "Server configuration", plus the server's logLevel and stateDir.
CONTRACT = {
    "listen": None, "logLevel": None, "stateDir": None,
    "tls": {"cert": None, "key": None, "clientCA": None},
    "rules": None, "mode": None, "params": "any",
    "repo": {"url": None, "branch": None, "paths": None, "interval": None, "trust": None,
             "verify": None, "since": None},
    "provenance": {"mode": None, "exempt": {"users": None, "groups": None}, "ignore": None},
    "sealing": {"keys": None},
    "limits": {"body": None, "depth": None},
}


def contract_violations(doc, spec=CONTRACT, path=""):
    out = []
    if not isinstance(doc, dict):
        return ["%s is not a mapping" % (path or "config")]
    for k, v in doc.items():
        p = path + "." + k if path else k
        if k not in spec:
            out.append("unknown key " + p)
        elif isinstance(spec[k], dict):
            out += contract_violations(v, spec[k], p)
    return out


def render_config(values):
    chart, _, templates = chartlib.load_chart(CHART)
    r = chartlib.Renderer(chart, values, templates=templates)
    docs = [d for d in yaml.safe_load_all(r.render("configmap.yaml")) if d]
    main = [d for d in docs if "config.yaml" in (d.get("data") or {})]
    check(len(main) == 1, "one ConfigMap holds config.yaml")
    return main[0]["data"]["config.yaml"]


def suite_config():
    sets = value_sets()
    text = render_config(sets[0][1])
    rendered = yaml.safe_load(text)
    fixture = yaml.safe_load(open(FIXTURE))
    check(rendered == fixture, "the default values render a config that differs from %s:\n%s\n--- rendered:\n%s"
          % (os.path.relpath(FIXTURE, SRC), yaml.safe_dump(fixture), text))
    check(not contract_violations(fixture), "fixture: %s" % contract_violations(fixture))
    # The keys the template can write at all: its static YAML, actions removed.
    _, _, templates = chartlib.load_chart(CHART)
    static, _ = chartlib.strip(templates["configmap.yaml"])
    cm = [d for d in yaml.safe_load_all(static) if d and "config.yaml" in (d.get("data") or {})][0]
    skeleton = yaml.safe_load(cm["data"]["config.yaml"])
    check(not contract_violations(skeleton), "configmap.yaml template keys: %s" % contract_violations(skeleton))
    for k in ("listen", "tls", "rules", "mode", "params", "repo", "provenance", "sealing", "limits"):
        check(k in skeleton, "configmap.yaml never writes %s" % k)
    for k in ("url", "branch", "paths", "interval", "trust", "verify", "since"):
        check(k in (skeleton.get("repo") or {}), "configmap.yaml never writes repo.%s" % k)
    # Every value set renders a config within the contract, with the types it names.
    for name, values in sets:
        cfg = yaml.safe_load(render_config(values))
        check(not contract_violations(cfg), "%s: %s" % (name, contract_violations(cfg)))
        check(cfg["mode"] == values["mode"], name + ": mode")
        check(cfg["logLevel"] == values["logLevel"], name + ": logLevel")
        check(re.match(r"^[0-9.]+:\d+$", cfg["listen"]), name + ": listen is ADDR:PORT")
        check(isinstance(cfg["rules"], list) and cfg["rules"], name + ": rules is a non-empty list")
        check(cfg.get("params", {}) == values["params"], name + ": params passed through")
        if values["repo"]["enabled"]:
            repo = cfg["repo"]
            check(repo["url"] == values["repo"]["url"] and repo["paths"] == values["repo"]["paths"], name + ": repo")
            check(isinstance(repo["trust"], list) and repo["trust"], name + ": repo.trust is a list of files")
            check(cfg["provenance"]["mode"] == values["provenance"]["mode"], name + ": provenance.mode")
            check(cfg["provenance"]["ignore"] == values["provenance"]["ignore"], name + ": provenance.ignore")
        else:
            check("repo" not in cfg, name + ": no repo when provenance is off")
        if values["sealing"]["existingSecret"]:
            want = ["/etc/sealgate/sealing/" + k for k in values["sealing"]["keys"]] or ["/etc/sealgate/sealing"]
            check(cfg["sealing"]["keys"] == want, name + ": sealing keys (the whole folder when none are named)")
        else:
            check("sealing" not in cfg, name + ": no sealing without keys")
    out_dir = os.environ.get("CHART_CONFIG_OUT")
    if out_dir:  # the shell test runs `sealgate serve --check` on these
        for name, values in sets:
            open(os.path.join(out_dir, name.replace(".yaml", "") + ".config.yaml"), "w").write(render_config(values))


def print_fixture():
    """Print what config.default.yaml must hold, after a deliberate change to the template."""
    print(FIXTURE_HEADER + render_config(value_sets()[0][1]), end="")


FIXTURE_HEADER = """\
# The sealgate config file that the chart's default values render to (templates/configmap.yaml).
# tests/chart checks that the chart still renders exactly this, and that `sealgate serve
# --check` accepts it. After a deliberate change: tests/chart/check_chart.py fixture > this file.
"""


def main():
    suites = {"values": suite_values, "static": suite_static, "render": suite_render, "config": suite_config}
    if sys.argv[1:] == ["fixture"]:
        print_fixture()
        return 0
    if len(sys.argv) != 2 or sys.argv[1] not in suites:
        print("usage: check_chart.py %s" % "|".join(suites), file=sys.stderr)
        return 2
    try:
        suites[sys.argv[1]]()
    except (chartlib.Unsupported, chartlib.TemplateError) as e:
        check(False, "template outside the renderer's subset or broken: %s" % e)
    print("%d passed, %d failed" % (passes, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
