# gitops_loop.sh: the whole GitOps loop with real parts only (issue 7). A config repo made with
# real git, signed with real ssh-keygen and gpg keys, served by `git daemon` on loopback;
# `sealgate serve` with TLS from openssl, the bundled packs, provenance in enforce mode syncing
# over git://, and sealing keys; AdmissionReviews for what a GitOps engine and people do, made
# from `kubectl create --dry-run=client` objects as the apiserver fills them in (apiserver.py).
# Each step asserts the decision, the message and the metrics; from step 3 on, wrk posts
# reviews at 16 connections and checks every verdict (verdicts.lua).
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"
E2E="$SEALGATE_SOURCE_DIR/tests/e2e"
API=("$PY" "$E2E/apiserver.py")
started=$(date +%s)
step() { echo "== step $1 ($(($(date +%s) - started))s)"; }

# Real tools, isolated from the user's settings; gpg's agent lives and dies with the test.
export HOME=$T GNUPGHOME=$T/gnupg GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com
export GIT_COMMITTER_NAME=Alice GIT_COMMITTER_EMAIL=alice@example.com
mkdir -m 700 "$GNUPGHOME"
defer "gpgconf --kill gpg-agent"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

# ---- keys: two trusted signers (SSH and OpenPGP), one stranger, a sealing key pair ----------
ssh-keygen -q -t ed25519 -N '' -C alice@example.com -f "$T/alice"
ssh-keygen -q -t ed25519 -N '' -C mallory@example.com -f "$T/mallory"
echo "alice@example.com namespaces=\"git\" $(cut -d' ' -f1,2 "$T/alice.pub")" >"$T/allowed_signers"
gpg -q --batch --gen-key 2>/dev/null <<'EOF'
%no-protection
Key-Type: eddsa
Key-Curve: ed25519
Key-Usage: sign
Name-Real: Release Bot
Name-Email: release@example.com
Expire-Date: 1y
%commit
EOF
gpg --export --armor release@example.com >"$T/release.asc"
"$SEALGATE" keygen --out "$T/seal-1" >/dev/null

# ---- the config repo: kubectl objects, committed and signed, pushed to a bare repo ----------
W=$T/work
mkdir -p "$W/clusters/prod" "$T/srv"
kc() { kubectl create "$@" --dry-run=client -o yaml; }
kc namespace shop >"$W/clusters/prod/namespace.yaml"
{
    kc deployment web --image=registry.example.com/shop/web:1.0.0 --replicas=2 --port=8080 -n shop
    echo ---
    kc service clusterip web --tcp=80:8080 -n shop
} >"$W/clusters/prod/web.yaml"
kc configmap settings --from-literal=LOG_LEVEL=info --from-literal=GREETING=hello -n shop \
    >"$W/clusters/prod/settings.yaml"
# The plaintext Secret exists only here; git gets it sealed.
db_password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
kc secret generic db --from-literal=username=shop --from-literal=password="$db_password" -n shop \
    >"$T/db-plain.yaml"
"$SEALGATE" seal --pub "$T/seal-1/sealgate.pub" -f "$T/db-plain.yaml" >"$W/clusters/prod/db.yaml"
git init -q "$W"
git init -q --bare "$T/srv/config.git"
git -C "$W" remote add origin "$T/srv/config.git"
commit_ssh() { git -C "$W" add -A && git -C "$W" -c gpg.format=ssh -c user.signingkey="$T/$1" commit -q -S -m "$2"; }
commit_gpg() { git -C "$W" add -A && git -C "$W" -c gpg.format=openpgp -c user.signingkey=release@example.com commit -q -S -m "$1"; }
push() { git -C "$W" push -q --force origin HEAD:main; }
commit_ssh alice "shop: web, its Service, settings and the db Secret"
C1=$(git -C "$W" rev-parse HEAD)
push

# git daemon on a free loopback port; start_daemon waits until it serves the repo.
GIT_PORT=$(free_port)
GIT_URL="git://127.0.0.1:$GIT_PORT/config.git"
start_daemon() {
    git daemon --export-all --base-path="$T/srv" --port="$GIT_PORT" --listen=127.0.0.1 --reuseaddr \
        "$T/srv" >>"$T/daemon.log" 2>&1 &
    DAEMON_PID=$!
    defer "kill $DAEMON_PID 2>/dev/null"
    local i
    for i in $(seq 1 100); do
        git ls-remote "$GIT_URL" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "git daemon did not come up:" >&2
    cat "$T/daemon.log" >&2
    return 1
}
start_daemon

# ---- the server: TLS from openssl, bundled packs plus a site rule, provenance, sealing ------
make_ca "$T/pki"
make_cert "$T/pki" server localhost serverAuth
mkdir -p "$T/tls" "$T/rules/site"
cp "$T/pki/server.crt" "$T/tls/tls.crt"
cp "$T/pki/server.key" "$T/tls/tls.key"
CA="$T/pki/ca.crt"
cat >"$T/rules/site/debug.rules" <<'RULES'
# The site's own rule: no debug toolboxes in the cluster.
rule no-debug-images "no debug toolbox images"
  match kind Pod
  deny when some c in pod.allContainers: c.image like "*/debug/*"
  message "container {c.name} runs the debug image {c.image}"
RULES
PORT=$(free_port)
URL="https://127.0.0.1:$PORT"
B="$SEALGATE_SOURCE_DIR/rules"
# write_config FILE PORT STATE KEY...: the server's configuration.
write_config() {
    local file=$1 port=$2 state=$3
    shift 3
    cat >"$file" <<EOF
listen: 127.0.0.1:$port
tls: {cert: $T/tls/tls.crt, key: $T/tls/tls.key}
rules: [$B/pod-security-baseline, $B/images, $B/secrets, $T/rules/site]
mode: enforce
params:
  images:
    allowedRegistries: [registry.example.com]
repo:
  url: $GIT_URL
  branch: main
  paths: [clusters/prod]
  interval: 1s
  trust: [$T/allowed_signers, $T/release.asc]
  verify: chain
provenance:
  mode: enforce
sealing:
  keys: [$(IFS=,; echo "$*" | sed 's/,/, /g')]
stateDir: $state
EOF
}
write_config "$T/config.yaml" "$PORT" "$T/state" "$T/seal-1/sealgate.key"

# ---- helpers --------------------------------------------------------------------------------
readyz() { curl -s --cacert "$CA" "$URL/readyz"; }
metrics() { curl -s --cacert "$CA" "$URL/metrics"; }
# metric NAME: the value of one sample line (NAME with its labels, exactly).
metric() { metrics | awk -v n="$1" '$1 == n {print $2}'; }
# wait_for WHAT CMD...: poll CMD (a shell function or command) for up to 30 s.
wait_for() {
    local what=$1 i
    shift
    for i in $(seq 1 300); do
        "$@" && return 0
        sleep 0.1
    done
    fail "timed out waiting: $what"
    return 1
}
prov_field() { jq -r ".provenance.$1 // empty" <<<"$(readyz)"; }
commit_is() { [ "$(prov_field commit)" == "$1" ]; }
error_has() { [[ "$(prov_field error)" == *"$1"* ]]; }
# decide PATH REVIEW: post it; $allowed, $message, $commit, $signer, $body from the answer.
decide() {
    post "$1" "$2"
    [ "$code" == 200 ] || fail "$1 $(basename "$2"): HTTP $code: $body"
    allowed=$(jq -r '.response.allowed' <<<"$body")
    message=$(jq -r '.response.status.message // ""' <<<"$body")
    commit=$(jq -r '.response.auditAnnotations.commit // ""' <<<"$body")
    signer=$(jq -r '.response.auditAnnotations.signer // ""' <<<"$body")
    printf '%s' "$body" >"$T/.answer"
    "${CLIENT[@]}" check "$2" "$T/.answer" $([ "$1" == /mutate ] && echo --mutate) >"$T/.check" ||
        fail "$1 $(basename "$2"): the apiserver would reject the answer: $(cat "$T/.check")"
}
# expect_allowed PATH REVIEW WHAT / expect_denied PATH REVIEW WHAT NEEDLE...
expect_allowed() {
    decide "$1" "$2"
    expect_eq "$allowed" true "$3 (message: $message)"
}
expect_denied() {
    local path=$1 review=$2 what=$3 needle
    shift 3
    decide "$path" "$review"
    expect_eq "$allowed" false "$what"
    for needle in "$@"; do expect_contains "$message" "$needle" "$what: the message"; done
}
# review NAME OBJECT OP [apiserver.py options]: $T/r/NAME.json
mkdir -p "$T/r" "$T/obj"
review() {
    local name=$1
    shift
    "${API[@]}" review "$@" >"$T/r/$name.json"
}
# split the committed YAML into one file per object, as the engine applies them
split_objects() {
    "$PY" - "$W/clusters/prod" "$T/obj" <<'PY'
import json, os, sys, yaml
for f in sorted(os.listdir(sys.argv[1])):
    for d in yaml.safe_load_all(open(os.path.join(sys.argv[1], f))):
        if d:
            json.dump(d, open(os.path.join(sys.argv[2], "%s-%s.json" % (d["kind"].lower(), d["metadata"]["name"])), "w"))
PY
}

# stateDir does not exist yet and, with tls.cert set, nothing but the repo cache makes it.
start_server "$T/config.yaml" "$T/server.log"
wait_for "the first commit accepted" commit_is "$C1"
[ -d "$T/state/repo" ] && pass || fail "serve with tls.cert and a git:// repo makes the missing stateDir"
ready=$(readyz)
expect_eq "$(jq -r .status <<<"$ready")" "ready" "/readyz: ready once the commit is accepted"
expect_eq "$(jq -r .provenance.signer <<<"$ready")" "alice@example.com" "/readyz: the signer"
expect_eq "$(jq -r .sealing.count <<<"$ready")" "1" "/readyz: one sealing key"
expect_eq "$(metric sealgate_repo_ready)" "1" "metrics: a verified commit is in force"
expect_eq "$(metric sealgate_repo_objects)" "5" "metrics: the commit declares 5 objects"

# ---- 1. the engine applies the committed manifests ------------------------------------------
step 1
split_objects
for o in namespace-shop deployment-web service-web configmap-settings; do
    review "apply-$o" "$T/obj/$o.json" CREATE
    expect_allowed /validate "$T/r/apply-$o.json" "engine applies $o"
    expect_eq "$commit" "${C1:0:7}" "$o: the commit is an audit annotation"
    expect_eq "$signer" "alice@example.com" "$o: the signer is an audit annotation"
done
# The sealed Secret: /mutate unseals it (the apiserver applies the patch), then /validate.
review apply-secret-db "$T/obj/secret-db.json" CREATE
expect_allowed /mutate "$T/r/apply-secret-db.json" "/mutate: the sealed Secret"
expect_eq "$(jq -r .response.patchType <<<"$body")" "JSONPatch" "/mutate answers a JSONPatch"
"${API[@]}" patch "$T/r/apply-secret-db.json" "$T/.answer" >"$T/r/validate-secret-db.json"
expect_eq "$("${API[@]}" data "$T/r/validate-secret-db.json")" \
    "{\"password\": \"$db_password\", \"username\": \"shop\"}" "the patch unseals exactly the plaintext"
expect_allowed /validate "$T/r/validate-secret-db.json" "/validate: the unsealed Secret matches git"
expect_eq "$commit" "${C1:0:7}" "Secret: the commit is an audit annotation"
expect_not_contains "$(cat "$T/server.log")" "$db_password" "the plaintext is never logged"
expect_eq "$(metric 'sealgate_requests_total{endpoint="validate",operation="CREATE",verdict="allowed"}')" "5" \
    "metrics: 5 admitted at /validate"
expect_eq "$(metric 'sealgate_requests_total{endpoint="mutate",operation="CREATE",verdict="allowed"}')" "1" \
    "metrics: 1 unsealed at /mutate"
expect_not_contains "$(metrics)" "sealgate_denials_total{" "metrics: no denials yet"

# ---- 2. people: kubectl edit, scale, delete, run ---------------------------------------------
step 2
AT1="at ${C1:0:7} (signed by alice@example.com)"
PEOPLE=(--user jane@example.com --groups developers,system:authenticated)
jq '.spec.template.spec.containers[0].image = "registry.example.com/shop/web:1.0.1-hotfix"' \
    "$T/obj/deployment-web.json" >"$T/obj/web-hotfix.json"
review edit-image "$T/obj/web-hotfix.json" UPDATE --old "$T/obj/deployment-web.json" "${PEOPLE[@]}"
expect_denied /validate "$T/r/edit-image.json" "kubectl edit of the image" \
    "sealgate/provenance: apps/Deployment 'web' in namespace 'shop'" \
    "spec.template.spec.containers[name=web].image" "web:1.0.1-hotfix" "web:1.0.0" "$AT1"
review scale "$T/obj/deployment-web.json" UPDATE --scale 5 "${PEOPLE[@]}"
expect_denied /validate "$T/r/scale.json" "kubectl scale by hand" "spec.replicas is 5 but 2 $AT1"
review delete-svc - DELETE --old "$T/obj/service-web.json" "${PEOPLE[@]}"
expect_denied /validate "$T/r/delete-svc.json" "kubectl delete of a declared Service" \
    "Service 'web' in namespace 'shop' is declared in git ('clusters/prod/web.yaml') $AT1: delete it there"
# kubectl run needs an apiserver even with --dry-run=client: a Pod from kubectl's template.
pod_of() { jq '{apiVersion: "v1", kind: "Pod", metadata: {name: $n, namespace: .metadata.namespace,
    labels: .spec.template.metadata.labels}, spec: .spec.template.spec}' --arg n "$1"; }
kubectl create deployment debug --image=registry.example.com/shop/web:1.0.0 -n shop \
    --dry-run=client -o json | pod_of debug >"$T/obj/pod-debug.json"
review run-pod "$T/obj/pod-debug.json" CREATE "${PEOPLE[@]}"
expect_denied /validate "$T/r/run-pod.json" "kubectl run of an undeclared Pod" \
    "Pod 'debug' in namespace 'shop' is not declared in git $AT1, which manages namespace 'shop'"
expect_eq "$(metric 'sealgate_denials_total{rule="sealgate/provenance"}')" "4" "metrics: 4 provenance denials"
expect_eq "$(metric 'sealgate_requests_total{endpoint="validate",operation="UPDATE",verdict="denied"}')" "2" \
    "metrics: 2 UPDATEs denied"
expect_eq "$(metric 'sealgate_requests_total{endpoint="validate",operation="DELETE",verdict="denied"}')" "1" \
    "metrics: 1 DELETE denied"
expect_eq "$(metric 'sealgate_requests_total{endpoint="validate",operation="CREATE",verdict="denied"}')" "1" \
    "metrics: 1 CREATE denied"

stop_server
expect_eq "$SERVER_RC" "0" "SIGTERM: exit 0"
echo "wall time: $(($(date +%s) - started))s"
finish
