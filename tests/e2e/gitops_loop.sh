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

isolate_git
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
# The pair sits where a Kubernetes Secret volume puts it: tls.crt -> ..data/tls.crt, with
# ..data a symlink the kubelet swaps in one rename when the Secret changes (step 7).
# tls_volume NAME: swap ..data to the pair $T/pki/NAME.{crt,key}.
tls_volume() {
    mkdir -p "$T/tls/$1"
    cp "$T/pki/$1.crt" "$T/tls/$1/tls.crt"
    cp "$T/pki/$1.key" "$T/tls/$1/tls.key"
    ln -sfn "$1" "$T/tls/..data_tmp"
    mv -T "$T/tls/..data_tmp" "$T/tls/..data"
}
tls_volume server
ln -s ..data/tls.crt "$T/tls/tls.crt"
ln -s ..data/tls.key "$T/tls/tls.key"
mkdir -p "$T/rules/site"
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
# prov_field NAME: a field of /readyz's provenance detail as text ("" when absent).
prov_field() { jq -r ".provenance.$1 | if . == null then \"\" else tostring end" <<<"$(readyz)"; }
commit_is() { [ "$(prov_field commit)" == "$1" ]; }
error_has() { [[ "$(prov_field error)" == *"$1"* ]]; }
# decide PATH REVIEW: post it; $code, $allowed, $message, $commit, $signer, $patch_type from
# the answer (left in $T/.answer), which must be one the apiserver accepts.
decide() {
    eval "$("${API[@]}" decide "$URL" "$CA" "$1" "$2" "$T/.answer")"
    [ "$code" == 200 ] || fail "$1 $(basename "$2"): HTTP $code: $(<"$T/.answer")"
    [ -z "$problems" ] || fail "$1 $(basename "$2"): the apiserver would reject the answer: $problems"
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
    echo "   denied: $message"
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
expect_eq "$patch_type" "JSONPatch" "/mutate answers a JSONPatch"
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

# ---- under load from here on: wrk posts reviews whose verdict no step 3-8 may change -------
# The declared ConfigMap and Service as the engine re-applies them: allowed at every commit.
# An undeclared Pod, and the Deployment with the image the refused commits of step 4 carry:
# denied by provenance at every commit.
EVIL=registry.example.com/shop/web:6.6.6
jq --arg i "$EVIL" '.spec.template.spec.containers[0].image = $i' "$T/obj/deployment-web.json" \
    >"$T/obj/web-evil.json"
review wrk-settings "$T/obj/configmap-settings.json" UPDATE --old "$T/obj/configmap-settings.json" --uid wrk-settings
review wrk-service "$T/obj/service-web.json" UPDATE --old "$T/obj/service-web.json" --uid wrk-service
review wrk-pod "$T/obj/pod-debug.json" CREATE "${PEOPLE[@]}" --uid wrk-pod
review wrk-evil "$T/obj/web-evil.json" UPDATE --old "$T/obj/deployment-web.json" "${PEOPLE[@]}" --uid wrk-evil
# -d covers every step; SIGINT ends it early and wrk still prints its summary and runs done().
# niced: the load must not starve the steps themselves on a small CI machine.
(cd "$T" && exec nice -n 15 wrk -t2 -c16 -d300s --timeout 10s -s "$E2E/verdicts.lua" "$URL" -- \
    r/wrk-settings.json allowed r/wrk-pod.json denied r/wrk-service.json allowed \
    r/wrk-evil.json denied) >"$T/wrk.out" 2>&1 &
WRK_PID=$!
defer "kill $WRK_PID 2>/dev/null"

# ---- 3. a new signed commit changes the image -------------------------------------------------
step 3
NEW=registry.example.com/shop/web:1.1.0
sed -i "s#image: registry.example.com/shop/web:1.0.0#image: $NEW#" "$W/clusters/prod/web.yaml"
commit_gpg "web 1.1.0"
C2=$(git -C "$W" rev-parse HEAD)
push
wait_for "the gpg-signed commit accepted" commit_is "$C2"
RELEASE="Release Bot <release@example.com>"
AT2="at ${C2:0:7} (signed by $RELEASE)"
expect_eq "$(prov_field signer)" "$RELEASE" "/readyz: the OpenPGP signer"
jq --arg i "$NEW" '.spec.template.spec.containers[0].image = $i' "$T/obj/deployment-web.json" >"$T/obj/web-new.json"
review rollout "$T/obj/web-new.json" UPDATE --old "$T/obj/deployment-web.json"
expect_allowed /validate "$T/r/rollout.json" "the engine rolls out the new image"
expect_eq "$commit" "${C2:0:7}" "the rollout: the new commit is the audit annotation"
expect_eq "$signer" "$RELEASE" "the rollout: signed by the OpenPGP key"
review old-image "$T/obj/deployment-web.json" UPDATE --old "$T/obj/web-new.json" "${PEOPLE[@]}"
expect_denied /validate "$T/r/old-image.json" "the old image, now that git moved on" \
    "image is \"registry.example.com/shop/web:1.0.0\" but \"$NEW\" $AT2"
expect_eq "$(metric sealgate_repo_commit_timestamp_seconds)" "$(git -C "$W" log -1 --format=%ct "$C2")" \
    "metrics: the committer time of the commit in force"
expect_eq "$(metric sealgate_repo_objects)" "5" "metrics: still 5 objects"

# ---- 4. commits that must not take effect ------------------------------------------------------
step 4
vf() { metric sealgate_repo_verification_failures_total; }
rb() { metric sealgate_repo_rollbacks_total; }
still_c2() { # decisions keep coming from C2, and /readyz and metrics say it is in force
    local what=$1
    echo "   /readyz: $(prov_field error)"
    expect_eq "$(jq -r '[.status, .provenance.commit, .provenance.lastSyncOk] | join(" ")' <<<"$(readyz)")" \
        "ready $C2 false" "$what: /readyz: still ready, C2 in force, the last sync failed"
    expect_eq "$(metric sealgate_repo_ready)" "1" "$what: metrics: sealgate_repo_ready 1"
    expect_allowed /validate "$T/r/rollout.json" "$what: C2's image still admitted"
    expect_eq "$commit" "${C2:0:7}" "$what: decided at C2"
    review evil "$T/obj/web-evil.json" UPDATE --old "$T/obj/web-new.json" "${PEOPLE[@]}"
    expect_denied /validate "$T/r/evil.json" "$what: the refused commit's image denied" "$EVIL\" but \"$NEW\" $AT2"
}
sed -i "s#image: $NEW#image: $EVIL#" "$W/clusters/prod/web.yaml"
# 4a. unsigned
git -C "$W" commit -q -a --no-gpg-sign -m "hotfix, unsigned"
U=$(git -C "$W" rev-parse HEAD)
push
wait_for "the unsigned commit refused" error_has "commit ${U:0:7}: unsigned"
still_c2 "unsigned commit"
expect_eq "$(vf)" "1" "metrics: the unsigned tip is a verification failure"
expect_eq "$(rb)" "0" "metrics: no rollback yet"
# 4b. signed, by a key nobody trusts (the same change, on top of C2)
git -C "$W" reset -q --hard "$C2"
sed -i "s#image: $NEW#image: $EVIL#" "$W/clusters/prod/web.yaml"
commit_ssh mallory "hotfix, signed by a stranger"
M=$(git -C "$W" rev-parse HEAD)
push
mallory_fp=$(ssh-keygen -lf "$T/mallory.pub" | cut -d' ' -f2)
wait_for "the stranger's commit refused" error_has "signed by unknown SSH key $mallory_fp"
still_c2 "untrusted key"
expect_eq "$(vf)" "2" "metrics: the untrusted tip is the second verification failure"
expect_eq "$(rb)" "0" "metrics: still no rollback"
# 4c. a force-push back to the older, validly signed C1
git -C "$W" reset -q --hard "$C1"
push
wait_for "the rollback refused" error_has "refused ${C1:0:7}: it does not descend from the accepted commit ${C2:0:7}"
still_c2 "force-push to C1"
expect_denied /validate "$T/r/old-image.json" "force-push to C1: C1's image stays denied" "$AT2"
expect_eq "$(rb)" "1" "metrics: the rollback counted"
# Refused tips are counted once, however many syncs see them again; a rollback is refused
# before any signature is checked, so it is no verification failure.
syncs=$(metric sealgate_repo_syncs_total)
wait_for "two more syncs" eval '[ "$(metric sealgate_repo_syncs_total)" -ge $((syncs + 2)) ]'
expect_eq "$(rb) $(vf)" "1 2" "metrics: after more syncs of the same tip, still 1 rollback and 2 verification failures"
expect_contains "$(prov_field error)" "does not descend" "/readyz: the refusal still shows"
# The branch back at C2: nothing new to accept, the error clears.
git -C "$W" reset -q --hard "$C2"
push
wait_for "the error cleared" eval '[ "$(prov_field lastSyncOk)" == true ]'
expect_eq "$(prov_field error)" "" "/readyz: no error once the branch is back at C2"

# ---- 5. the git daemon stops, then comes back -------------------------------------------------
step 5
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
wait_for "the fetch failure reported" error_has "cannot fetch"
still_c2 "git daemon down"
wait_for "a sync attempt after the last success" eval \
    '[ "$(metric sealgate_repo_last_sync_timestamp_seconds)" -gt "$(metric sealgate_repo_last_sync_success_timestamp_seconds)" ]'
failures=$(metric sealgate_repo_sync_failures_total)
kc configmap flags --from-literal=beta=true -n shop >"$W/clusters/prod/flags.yaml"
commit_ssh alice "flags"
C3=$(git -C "$W" rev-parse HEAD)
push
start_daemon
wait_for "syncing resumes with the new commit" commit_is "$C3"
expect_eq "$(prov_field lastSyncOk)" "true" "/readyz: the sync succeeds again"
expect_eq "$(prov_field error)" "" "/readyz: no error"
expect_eq "$(metric sealgate_repo_objects)" "6" "metrics: the new commit's 6 objects"
[ "$(metric sealgate_repo_sync_failures_total)" -ge "$failures" ] && pass || fail "metrics: sync failures counted"
kubectl create configmap flags --from-literal=beta=true -n shop --dry-run=client -o json >"$T/obj/configmap-flags.json"
review apply-flags "$T/obj/configmap-flags.json" CREATE
expect_allowed /validate "$T/r/apply-flags.json" "the engine applies the new ConfigMap"
expect_eq "$commit" "${C3:0:7}" "decided at the new commit"

# ---- 6. a broken rule file and SIGHUP: the old rules keep serving ----------------------------
step 6
loaded=$(metric sealgate_rules_loaded)
rules_error() { jq -r '.rules.error // empty' <<<"$(readyz)"; }
kubectl create deployment toolbox --image=registry.example.com/debug/toolbox:2.0 -n scratch \
    --dry-run=client -o json | pod_of toolbox >"$T/obj/pod-toolbox.json"
review toolbox "$T/obj/pod-toolbox.json" CREATE "${PEOPLE[@]}"
kubectl create deployment hub --image=nginx:1.25.3 -n scratch --dry-run=client -o json |
    pod_of hub >"$T/obj/pod-hub.json"
review hub "$T/obj/pod-hub.json" CREATE "${PEOPLE[@]}"
cat >"$T/rules/site/broken.rules" <<'RULES'
rule latest "no latest"
  match kind Pod
  deny when some c in pod.allContainers: (c.image like "*:latest"
RULES
kill -HUP "$SERVER_PID"
wait_for "the load error reported" eval '[ -n "$(rules_error)" ]'
expect_contains "$(rules_error)" "broken.rules:4:1: expected ')' to close '(' at 3:42" "/readyz: the error with file:line:col"
expect_eq "$(jq -r .status <<<"$(readyz)")" "ready" "/readyz: still ready on the old rules"
# The watcher may see the new file before SIGHUP: one or two failed loads.
expect_metric_min "$(metrics)" sealgate_rules_load_failures_total 1 "metrics: the failed load counted"
expect_eq "$(metric sealgate_rules_loaded)" "$loaded" "metrics: the old rule set's $loaded rules in force"
expect_contains "$(cat "$T/server.log")" "broken.rules:4:1: expected ')'" "the log names file:line:col"
expect_denied /validate "$T/r/toolbox.json" "the site rule still serves" \
    "site/no-debug-images: container toolbox runs the debug image registry.example.com/debug/toolbox:2.0"
expect_denied /validate "$T/r/hub.json" "the bundled packs still serve" "images/allowed-registries"
loads=$(metric sealgate_rules_loads_total)
rm "$T/rules/site/broken.rules"
kill -HUP "$SERVER_PID"
wait_for "the rules reloaded without the broken file" eval '[ "$(metric sealgate_rules_loads_total)" -gt "$loads" ]'
expect_eq "$(rules_error)" "" "/readyz: the error clears"

# ---- 7. the TLS certificate files are replaced ------------------------------------------------
step 7
fingerprint() {
    openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CA" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256
}
old_fp=$(openssl x509 -noout -fingerprint -sha256 -in "$T/pki/server.crt")
expect_eq "$(fingerprint)" "$old_fp" "the first certificate is served"
make_cert "$T/pki" renewed localhost serverAuth
new_fp=$(openssl x509 -noout -fingerprint -sha256 -in "$T/pki/renewed.crt")
tls_volume renewed
wait_for "new connections get the new certificate" eval '[ "$(fingerprint)" == "$new_fp" ]'
expect_eq "$(fingerprint)" "$new_fp" "openssl s_client: the renewed certificate"
expect_eq "$(metric 'sealgate_tls_reloads_total{result="ok"}')" "1" "metrics: one certificate reload"
expect_eq "$(metric 'sealgate_tls_reloads_total{result="failed"}')" "0" "metrics: no failed reload (one rename swaps both files)"
expect_eq "$(jq -r '.tls.error // ""' <<<"$(readyz)")" "" "/readyz: no TLS error"
expect_allowed /validate "$T/r/apply-flags.json" "requests on the new certificate"

# ---- 8. a sealing key is rotated --------------------------------------------------------------
step 8
key2_id=$("$SEALGATE" keygen --out "$T/seal-2" 2>&1 | sed -n 's/.*(key id \([0-9a-f]*\)).*/\1/p')
api_token="tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
kc secret generic api-token --from-literal=token="$api_token" -n shop >"$T/api-token-plain.yaml"
"$SEALGATE" seal --pub "$T/seal-2/sealgate.pub" -f "$T/api-token-plain.yaml" >"$W/clusters/prod/api-token.yaml"
commit_gpg "api token, sealed to the new key"
C4=$(git -C "$W" rev-parse HEAD)
push
wait_for "the commit with the newly sealed Secret accepted" commit_is "$C4"
split_objects
review apply-secret-api "$T/obj/secret-api-token.json" CREATE
# The running server has only the old key: the new Secret is refused, never passed through.
expect_denied /mutate "$T/r/apply-secret-api.json" "the old server cannot unseal the new key's Secret" \
    "sealed to key id $key2_id"
# The rollout: the configuration names the new key beside the old one, and a new pod comes up
# (a second server, on its own port and state, syncing the same repo) while the old one serves.
A_PID=$SERVER_PID A_URL=$URL A_PORT=$PORT
PORT=$(free_port)
URL="https://127.0.0.1:$PORT"
write_config "$T/config-b.yaml" "$PORT" "$T/state-b" "$T/seal-2/sealgate.key" "$T/seal-1/sealgate.key"
start_server "$T/config-b.yaml" "$T/server-b.log"
B_PID=$SERVER_PID
wait_for "the new pod accepts the commit" commit_is "$C4"
expect_eq "$(jq -r .sealing.count <<<"$(readyz)")" "2" "/readyz: two sealing keys"
for s in db api-token; do
    review "rotate-$s" "$T/obj/secret-$s.json" CREATE
    expect_allowed /mutate "$T/r/rotate-$s.json" "/mutate after the rotation: Secret $s"
    "${API[@]}" patch "$T/r/rotate-$s.json" "$T/.answer" >"$T/r/rotate-$s-validate.json"
    expect_allowed /validate "$T/r/rotate-$s-validate.json" "/validate after the rotation: Secret $s"
    expect_eq "$commit" "${C4:0:7}" "Secret $s: decided at the new commit"
done
expect_eq "$("${API[@]}" data "$T/r/rotate-db-validate.json")" \
    "{\"password\": \"$db_password\", \"username\": \"shop\"}" "the old key's Secret unseals"
expect_eq "$("${API[@]}" data "$T/r/rotate-api-token-validate.json")" "{\"token\": \"$api_token\"}" \
    "the new key's Secret unseals"
expect_not_contains "$(cat "$T/server.log" "$T/server-b.log")" "$api_token" "the plaintext is never logged"

# ---- the load: every answer right, none failed ------------------------------------------------
kill -0 "$WRK_PID" 2>/dev/null && pass || fail "wrk ran through step 8 (its -d ran out first)"
kill -INT "$WRK_PID" 2>/dev/null || true
wait "$WRK_PID" || fail "wrk exited $?"
cat "$T/wrk.out"
line=$(grep '^verdicts: requests=' "$T/wrk.out" || true)
num() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $line"; }
expect_contains "$line" "verdicts: " "wrk's done() printed its counts"
for k in wrong non200 connect read write timeout status; do
    expect_eq "$(num $k)" "0" "wrk: $k"
done
expect_eq "$(num checked)" "$(num requests)" "wrk: every response checked"
[ "$(num requests)" -ge 1000 ] && pass || fail "wrk: a non-trivial load ($(num requests) requests)"
[ "$(num allowed)" -gt 0 ] && [ "$(num denied)" -gt 0 ] && pass || fail "wrk: both verdicts seen"
# Every answer was decided at a commit that was accepted, never at a refused one, and the
# load spanned the rollouts of steps 3, 5 and 8.
seen=$(sed -n 's/^verdicts: commits://p' "$T/wrk.out")
for c in $seen; do
    case " ${C1:0:7} ${C2:0:7} ${C3:0:7} ${C4:0:7} " in
    *" $c "*) pass ;;
    *) fail "wrk: an answer decided at $c, which was never accepted (refused: ${U:0:7}, ${M:0:7})" ;;
    esac
done
for c in "$C2" "$C3" "$C4"; do expect_contains " $seen " " ${c:0:7} " "wrk: answers decided at ${c:0:7}"; done

stop_server # the new pod
expect_eq "$SERVER_RC" "0" "the new server: SIGTERM, exit 0"
SERVER_PID=$A_PID
stop_server # the old pod, once the load is gone
expect_eq "$SERVER_RC" "0" "the old server: SIGTERM, exit 0"
echo "wall time: $(($(date +%s) - started))s"
finish
