#!/usr/bin/env bash
# sealgate check: exit codes, text and JSON output, modes, params, AdmissionReviews, and
# file:line:col for broken manifests and rules. Objects come from kubectl --dry-run=client.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"

mkdir -p "$T/rules/images" "$T/m"
cat >"$T/rules/images/tags.rules" <<'R'
param allowedRegistries = []
rule no-latest "images are pinned"
  match kind Pod
  deny when some c in pod.allContainers: image(c.image).tag in [null, "latest"] and image(c.image).digest == null
  message "container {c.name} runs {c.image}, which is not pinned"
rule registry "images come from allowed registries"
  match kind Pod
  deny when len(params.allowedRegistries) > 0 and some c in pod.allContainers:
      image(c.image).registry not in params.allowedRegistries
  message "{c.image} is not from {join(params.allowedRegistries, ', ')}"
rule replicas "one replica is fragile"
  match kind Deployment
  warn when object.spec.replicas == 1
R
kubectl create deployment ok --image=ghcr.io/acme/web:1.2 --replicas=2 -n shop --dry-run=client -o json >"$T/m/ok.json"
kubectl create deployment web --image=nginx:latest -n shop --dry-run=client -o yaml >"$T/m/web.yaml"
kubectl create cronjob nightly --image=busybox --schedule="0 0 * * *" --dry-run=client -o yaml >"$T/m/cron.yaml"
R="--rules $T/rules"

expect_exit 0 "a clean object exits 0" -- "$SEALGATE" check $R "$T/m/ok.json"
expect_eq "$out" "" "no findings printed"
expect_contains "$err" "1 object checked: 0 denied" "summary on stderr"

expect_exit 1 "a denial exits 1" -- "$SEALGATE" check $R "$T/m/web.yaml"
expect_eq "$out" "$T/m/web.yaml Deployment shop/web images/no-latest: container nginx runs nginx:latest, which is not pinned
$T/m/web.yaml Deployment shop/web images/replicas: warning: one replica is fragile" "text lines"

expect_exit 1 "a CronJob's template, cluster-scoped name" -- "$SEALGATE" check $R "$T/m/cron.yaml"
expect_contains "$out" "CronJob nightly images/no-latest: container nightly runs busybox" "CronJob finding"

expect_exit 1 "-o json" -- "$SEALGATE" check $R -o json "$T/m"
got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["objects"], d["denied"], d["warnings"], " ".join(f["action"]+":"+f["rule"]+":"+f["path"] for f in d["findings"]))' <<<"$out")
expect_eq "$got" "3 2 1 deny:images/no-latest:spec.jobTemplate.spec.template.spec.containers[0] deny:images/no-latest:spec.template.spec.containers[0] warn:images/replicas:" "json findings of a folder"

expect_exit 0 "warn mode does not fail" -- "$SEALGATE" check $R --mode warn "$T/m/web.yaml"
expect_contains "$out" "images/no-latest: warning: container nginx" "lowered to a warning"
expect_exit 0 "audit mode does not fail" -- "$SEALGATE" check $R --mode audit "$T/m/web.yaml"
expect_contains "$out" "images/no-latest: audit: container nginx" "lowered to audit"

echo '{"images": {"allowedRegistries": ["docker.io"]}}' >"$T/params.json"
expect_exit 1 "--params" -- "$SEALGATE" check $R --params "$T/params.json" "$T/m/ok.json"
expect_contains "$out" "images/registry: ghcr.io/acme/web:1.2 is not from docker.io" "param in the message"
echo '{"images": {"allowedRegistrys": []}}' >"$T/badparams.json"
expect_exit 2 "an unknown parameter" -- "$SEALGATE" check $R --params "$T/badparams.json" "$T/m/ok.json"
expect_contains "$err" "unknown parameter 'allowedRegistrys' for pack 'images'" "names the parameter"

# Several documents in one file: #N names the document.
{ cat "$T/m/ok.json"; echo; echo "---"; cat "$T/m/web.yaml"; } >"$T/multi.yaml"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$T/m/ok.json" >"$T/ok1.json"
{ cat "$T/m/web.yaml"; echo "---"; cat "$T/m/web.yaml"; } >"$T/two.yaml"
expect_exit 1 "multi-document file" -- "$SEALGATE" check $R "$T/two.yaml"
expect_contains "$out" "$T/two.yaml#2 Deployment shop/web images/no-latest" "document number"

expect_exit 1 "stdin" -- "$SEALGATE" check $R - <"$T/m/web.yaml"
expect_contains "$out" "<stdin> Deployment shop/web images/no-latest" "stdin is named"

# A real AdmissionReview is checked on its request.object with its request.
cat >"$T/rules/images/review.rules" <<'R'
rule admin "admins are noted"
  match kind Pod
  match group system:masters
  audit when true
  message "{request.userInfo.username} {request.operation}s {object.metadata.name}"
R
expect_exit 1 "an AdmissionReview (its pause image is untagged)" -- "$SEALGATE" check $R "$FIXTURES/admissionreview/pod-create.json"
expect_contains "$out" "Pod pss-restricted/" "object of the review"
expect_contains "$out" "images/admin: audit: admin CREATEs" "request of the review"

# Broken manifests: file:line:col, source line and caret, exit 2; the others are still checked.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: [1, 2}\n' >"$T/broken.yaml"
expect_exit 2 "YAML syntax error" -- "$SEALGATE" check $R "$T/broken.yaml" "$T/m/web.yaml"
expect_contains "$err" "$T/broken.yaml:5:" "names file and line"
expect_contains "$err" "  labels: {a: [1, 2}" "shows the line"
expect_contains "$out" "images/no-latest" "other files still checked"
printf '{"kind": "Pod",\n "metadata": {"name": "x",}}\n' >"$T/broken.json"
expect_exit 2 "JSON syntax error" -- "$SEALGATE" check $R "$T/broken.json"
expect_contains "$err" "$T/broken.json:2:" "JSON error names the line"
echo '- 1' >"$T/list.yaml"
expect_exit 2 "not an object" -- "$SEALGATE" check $R "$T/list.yaml"
expect_contains "$err" "is not a Kubernetes object" "says why"
expect_exit 2 "missing file" -- "$SEALGATE" check $R "$T/nope.yaml"

# Broken rules: every error, with file:line:col and caret, exit 2.
mkdir -p "$T/badrules/p"
printf 'rule a "t"\n  deny when (1\nrule b "t"\n  deny when nope.x\n' >"$T/badrules/p/x.rules"
expect_exit 2 "rule errors" -- "$SEALGATE" check --rules "$T/badrules" "$T/m/ok.json"
expect_contains "$err" "$T/badrules/p/x.rules:3:1: expected ')' to close '(' at 2:13, found 'rule'" "first error"
expect_contains "$err" "$T/badrules/p/x.rules:4:13: unknown name 'nope'" "second error"
expect_contains "$err" "      deny when nope.x
                ^" "caret"
expect_contains "$err" "2 errors in the rules" "count"

# Usage errors.
expect_exit 2 "no paths" -- "$SEALGATE" check $R
expect_exit 2 "bad mode" -- "$SEALGATE" check $R --mode loud "$T/m/ok.json"
expect_exit 2 "bad output" -- "$SEALGATE" check $R -o xml "$T/m/ok.json"
expect_exit 2 "unknown option" -- "$SEALGATE" check --frobnicate "$T/m/ok.json"
expect_exit 0 "help" -- "$SEALGATE" check --help
expect_contains "$out" "usage: sealgate check" "help text"

# Default rules: SEALGATE_RULES_DIR.
SEALGATE_RULES_DIR="$T/rules" expect_exit 1 "default rules from the environment" -- "$SEALGATE" check "$T/m/web.yaml"
finish
