# rules_check.sh: the bundled packs through `sealgate check`, as a CI pipeline runs them: the
# example manifests, objects made by kubectl, parameters from a file, and that findings never
# echo a credential. Also keeps the packs honest: restricted carries the baseline checks
# verbatim, and every rule has a test that expects it to deny.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
# Debian's interpreter when it is there: a pyenv shim on PATH costs seconds per call under load.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
RULES="$SEALGATE_SOURCE_DIR/rules"
EX="$SEALGATE_SOURCE_DIR/examples/manifests"
FINDINGS="$SEALGATE_SOURCE_DIR/tests/rules/findings.py"

# denies PACKS... -- FILE: the sorted unique rule ids that deny FILE, one per line.
denies() {
    local args=()
    while [ "$1" != -- ]; do args+=(--rules "$RULES/$1"); shift; done
    shift
    "$SEALGATE" check "${args[@]}" -o json "$@" 2>"$T/err" | "$PY" "$FINDINGS" |
        awk '$1 == "deny" { print $2 }' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# ---- the example manifests -------------------------------------------------------------
expect_exit 0 "good examples pass every pack" -- "$SEALGATE" check --rules "$RULES" "$EX/good"
expect_eq "$out" "" "good examples: no findings printed"

expect_exit 1 "bad examples are denied" -- "$SEALGATE" check --rules "$RULES" "$EX/bad"
expect_contains "$out" "DaemonSet monitoring/node-agent pod-security-baseline/privileged: " "text line names kind, ns/name and rule"
expect_contains "$out" 'container "agent" must not set securityContext.privileged=true' "privileged message names the container"
expect_contains "$out" "Secret shop/payments-api secrets/sealed: " "plaintext Secret is named"
expect_contains "$out" "leaky-config.yaml#2 Deployment ci/release-bot secrets/env-credentials: " "second document is numbered"
expect_not_contains "$out" "ghp_R8x2Lq9ZtW4vKp7MnB3cYd6FhJ0sAe5GuTiV" "env token is never echoed"
expect_not_contains "$out" "AKIAZ7Q4MX2PLKD3WB6N" "AWS key id is never echoed"

expect_eq "$(denies pod-security-baseline -- "$EX/bad/node-agent.yaml")" \
    "pod-security-baseline/hostnamespaces pod-security-baseline/hostpathvolumes pod-security-baseline/hostports pod-security-baseline/privileged" \
    "node-agent against baseline"
expect_eq "$(denies images -- "$EX/bad/node-agent.yaml")" "images/tagged" "node-agent against images"
expect_eq "$(denies pod-security-baseline -- "$EX/bad/debug-pod.yaml")" "pod-security-baseline/capabilities_baseline" \
    "debug pod against baseline"
expect_eq "$(denies pod-security-restricted -- "$EX/bad/debug-pod.yaml")" \
    "pod-security-restricted/allowprivilegeescalation pod-security-restricted/capabilities_baseline pod-security-restricted/capabilities_restricted pod-security-restricted/runasnonroot pod-security-restricted/runasuser pod-security-restricted/seccompprofile_restricted" \
    "debug pod against restricted"
expect_eq "$(denies images -- "$EX/bad/debug-pod.yaml")" "images/no-latest" "debug pod against images"
expect_eq "$(denies secrets -- "$EX/bad/leaky-config.yaml")" "secrets/configmap-credentials secrets/env-credentials" \
    "leaky config against secrets"
expect_eq "$(denies secrets -- "$EX/bad/plaintext-secret.yaml")" "secrets/sealed" "plaintext secret against secrets"

# ---- objects made by kubectl -----------------------------------------------------------
kubectl create deployment web --image=nginx:1.25.3 --dry-run=client -o json >"$T/deploy.json"
expect_eq "$(denies pod-security-baseline -- "$T/deploy.json")" "" "kubectl Deployment passes baseline"
expect_eq "$(denies pod-security-restricted -- "$T/deploy.json")" \
    "pod-security-restricted/allowprivilegeescalation pod-security-restricted/capabilities_restricted pod-security-restricted/runasnonroot pod-security-restricted/seccompprofile_restricted" \
    "kubectl Deployment against restricted"
expect_eq "$(denies images -- "$T/deploy.json")" "" "kubectl Deployment with a version tag passes images"

kubectl create cronjob report --image=ghcr.io/acme/report --schedule="0 6 * * 1" --dry-run=client -o json >"$T/cron.json"
expect_eq "$(denies images -- "$T/cron.json")" "images/tagged" "kubectl CronJob without a tag"
expect_exit 1 "CronJob finding" -- "$SEALGATE" check --rules "$RULES/images" -o json "$T/cron.json"
expect_contains "$(printf '%s' "$out" | "$PY" "$FINDINGS")" "spec.jobTemplate.spec.template.spec.containers[0]" \
    "CronJob finding names the real path"

kubectl create secret generic api -n shop --from-literal=token=ghp_R8x2Lq9ZtW4vKp7MnB3cYd6FhJ0sAe5GuTiV \
    --dry-run=client -o json >"$T/secret.json"
expect_exit 1 "kubectl Secret" -- "$SEALGATE" check --rules "$RULES/secrets" "$T/secret.json"
expect_contains "$out" "secrets/sealed" "kubectl Secret is not sealed"
expect_not_contains "$out$err" "ghp_R8x2Lq9ZtW4vKp7MnB3cYd6FhJ0sAe5GuTiV" "Secret value never echoed"
expect_not_contains "$out$err" "$(printf %s ghp_R8x2Lq9ZtW4vKp7MnB3cYd6FhJ0sAe5GuTiV | base64 -w0)" "Secret base64 never echoed"

kubectl create configmap creds -n shop --from-literal=slack=xoxb-2048115671-6612370938011-q8Rv2LmW4xTz9KcB1nYpD3sJ \
    --dry-run=client -o json >"$T/cm.json"
expect_exit 1 "kubectl ConfigMap with a Slack token" -- "$SEALGATE" check --rules "$RULES/secrets" "$T/cm.json"
expect_contains "$out" "secrets/configmap-credentials" "ConfigMap credential found"
expect_not_contains "$out" "q8Rv2LmW4xTz9KcB1nYpD3sJ" "Slack token never echoed"

# ---- parameters from a file ------------------------------------------------------------
printf 'images:\n  allowedRegistries: [ghcr.io/acme]\n  requireDigest: true\n' >"$T/params.yaml"
expect_exit 1 "params file" -- "$SEALGATE" check --rules "$RULES/images" --params "$T/params.yaml" "$T/deploy.json"
expect_contains "$out" "images/allowed-registries" "allowedRegistries from --params"
expect_contains "$out" "images/digest-pinned" "requireDigest from --params"
printf 'images:\n  allowedRegistries: [ghcr.io/acme]\n' >"$T/params-registries.yaml"
expect_exit 0 "params file, good examples" -- "$SEALGATE" check --rules "$RULES/images" \
    --params "$T/params-registries.yaml" "$EX/good/shop.yaml"

# ---- the packs themselves --------------------------------------------------------------
for f in "$RULES"/pod-security-baseline/*.rules; do
    if cmp -s "$f" "$RULES/pod-security-restricted/$(basename "$f")"; then pass; else
        fail "pod-security-restricted/$(basename "$f") differs from the baseline pack's"
    fi
done
for pack in "$RULES"/*/; do
    pack=$(basename "$pack")
    for id in $(sed -n -E 's/^rule ([A-Za-z0-9_-]+).*/\1/p' "$RULES/$pack"/*.rules); do
        if grep -q -E "deny: \[([^]]*, )?$pack/$id[],]" "$RULES/$pack"/*.test.yaml; then pass; else
            fail "$pack/$id: no test expects it to deny"
        fi
    done
    for f in "$RULES/$pack"/*.rules; do
        [ -f "${f%.rules}.test.yaml" ] && pass || fail "$f has no test file beside it"
    done
done
finish
