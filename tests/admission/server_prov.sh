# server_prov.sh: provenance in the webhook: the demo config repo (a real git repo with an
# ssh-signed commit, scripts/demo-repo) synced by the server; objects as git declares them
# pass with the commit and signer in auditAnnotations, drift, undeclared objects and deletes
# are denied, and an unsigned commit never replaces the accepted one.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

"$SEALGATE_SOURCE_DIR/scripts/demo-repo" "$T/demo" "$SEALGATE" >"$T/demo.env"
eval "$(cat "$T/demo.env")"
demo_config "$T/config.yaml" "s/^  interval: .*/  interval: 1s/"
# Git credentials as the chart mounts them: read from files, never echoed.
printf 'ghp_%s\n' "$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/git-token"
export SEALGATE_GIT_TOKEN_FILE="$T/git-token" SEALGATE_GIT_SSH_KEY="$T/no-such-key"
start_server "$T/config.yaml" "$T/server.log"
wait_readyz '"status": "ready"' 100
ready=$(curl -s --cacert "$CA" "$URL/readyz")
expect_contains "$ready" '"status": "ready"' "ready once the commit is accepted"
expect_contains "$ready" "\"commit\": \"$DEMO_COMMIT\"" "/readyz names the accepted commit"

# The Deployment exactly as git declares it, as an AdmissionReview.
"$PY" - "$DEMO_REPO/clusters/demo/web.yaml" "$T" <<'PY'
import copy, json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "Deployment"]
dep = docs[0]
json.dump(dep, open(sys.argv[2] + "/web.json", "w"))
drift = copy.deepcopy(dep)
drift["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/demo/web:6.6.6"
json.dump(drift, open(sys.argv[2] + "/drift.json", "w"))
json.dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stray", "namespace": "demo"},
           "data": {"a": "b"}}, open(sys.argv[2] + "/stray.json", "w"))
PY
"${CLIENT[@]}" review "$T/web.json" CREATE >"$T/r-web.json"
"${CLIENT[@]}" review "$T/drift.json" UPDATE --old "$T/web.json" >"$T/r-drift.json"
"${CLIENT[@]}" review "$T/stray.json" CREATE >"$T/r-stray.json"
"${CLIENT[@]}" review - DELETE --old "$T/web.json" >"$T/r-delete.json"

post /validate "$T/r-web.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "True" "the Deployment as git declares it is allowed"
expect_eq "$(jget "$body" 'd["response"]["auditAnnotations"].get("commit", "")[:7]')" "${DEMO_COMMIT:0:7}" "the commit is an audit annotation"
expect_contains "$(jget "$body" 'd["response"]["auditAnnotations"].get("signer", "")')" "demo@example.com" "the signer is an audit annotation"
printf '%s' "$body" >"$T/a-web.json"
expect_exit 0 "the answer is valid" -- "${CLIENT[@]}" check "$T/r-web.json" "$T/a-web.json"

post /validate "$T/r-drift.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "False" "a drifted image is denied"
expect_contains "$body" "sealgate/provenance: " "by provenance"
expect_contains "$body" "web:6.6.6" "naming the value"
post /validate "$T/r-stray.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "False" "an object git does not declare, in a managed namespace, is denied"
post /validate "$T/r-delete.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "False" "deleting a declared object is denied"
expect_contains "$(curl -s --cacert "$CA" "$URL/metrics")" 'sealgate_denials_total{rule="sealgate/provenance"} 3' "provenance denials counted"

# An unsigned commit: refused; the accepted commit stays in force.
echo "# hand edit" >>"$DEMO_REPO/clusters/demo/web.yaml"
git -C "$DEMO_REPO" -c user.name=x -c user.email=x@example.com -c commit.gpgsign=false commit -qam "unsigned edit"
wait_readyz '"error"' 60
ready=$(curl -s --cacert "$CA" "$URL/readyz")
expect_contains "$ready" '"error"' "/readyz reports the refused commit"
expect_contains "$ready" "\"commit\": \"$DEMO_COMMIT\"" "the signed commit stays in force"
post /validate "$T/r-web.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "True" "and still decides"
# The repo's state in metrics, under the names the chart's alerts use.
metrics=$(curl -s --cacert "$CA" "$URL/metrics")
expect_contains "$metrics" "sealgate_repo_ready 1" "metrics: a verified commit is in force"
# Every sync (1 s here) refuses the unsigned tip again, so a loaded machine may count 2 or more.
expect_metric_min "$metrics" sealgate_repo_verification_failures_total 1 "metrics: the unsigned tip counted"
expect_contains "$metrics" "sealgate_repo_objects 5" "metrics: objects of the accepted commit"
last_ok=$(printf '%s\n' "$metrics" | awk '$1 == "sealgate_repo_last_sync_success_timestamp_seconds" {print $2}')
if [ -n "$last_ok" ] && [ "$last_ok" -gt 1700000000 ]; then pass; else fail "metrics: last successful sync timestamp is '$last_ok'"; fi
stop_server
expect_eq "$SERVER_RC" "0" "SIGTERM: exit 0 (the sync thread stops)"
token=$(tr -d '\n' <"$T/git-token")
expect_not_contains "$(cat "$T/server.log")$(curl -s --cacert "$CA" "$URL/readyz" 2>/dev/null)" "$token" "the git token is never logged"
finish
