# server_reload.sh: rules reloaded under load with zero failed requests: SIGHUP with a broken
# file keeps the old set (error with file:line:col in the log, /readyz and metrics), a fixed
# file is picked up by the watcher, SIGHUP with a good set swaps; plus the warn mode.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

server_pki
mkdir -p "$T/rules/test"
cat >"$T/rules/test/pods.rules" <<'RULES'
rule privileged "containers are not privileged"
  match kind Pod
  deny when some c in pod.allContainers: c.securityContext.privileged == true
  message "container {c.name} is privileged"
RULES
cat >"$T/config.yaml" <<EOF
listen: 127.0.0.1:$PORT
tls: {cert: $T/pki/server.crt, key: $T/pki/server.key}
rules: [$T/rules/test]
EOF

# A privileged Deployment made by kubectl, as an AdmissionReview.
kubectl create deployment web --image=nginx:1.25 --dry-run=client -o json >"$T/deploy.json"
"$PY" - "$T/deploy.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
json.dump(d, open(sys.argv[1], "w"))
PY
"${CLIENT[@]}" review "$T/deploy.json" CREATE >"$T/review.json"

start_server "$T/config.yaml" "$T/server.log"
post /validate "$T/review.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "False" "the privileged Deployment is denied"
expect_contains "$body" "test/privileged: container nginx is privileged" "the message names pack/rule and the container"
expect_contains "$body" '"rules":"test/privileged"' "the rule id is an audit annotation"

# Load for the whole reload sequence; every answer must be a valid 200.
"${CLIENT[@]}" load "$URL/validate" "$CA" "$T/review.json" 8 4 >"$T/load.out" 2>"$T/load.err" &
load=$!
sleep 1

# 1. a broken file + SIGHUP: the old set keeps serving
cat >"$T/rules/test/broken.rules" <<'RULES'
rule latest "no latest"
  match kind Pod
  deny when some c in pod.allContainers: (c.image like "*:latest"
RULES
kill -HUP "$SERVER_PID"
wait_readyz '"error"' 50
ready=$(curl -s --cacert "$CA" "$URL/readyz")
expect_contains "$ready" "broken.rules:4:1: expected ')' to close '(' at 3:42" "/readyz shows the error with file:line:col"
expect_contains "$(cat "$T/server.log")" "broken.rules:4:1: expected" "the log names file:line:col"
# The file watcher may see the broken file as well as the SIGHUP: at least one failure.
expect_metric_min "$(curl -s --cacert "$CA" "$URL/metrics")" sealgate_rules_load_failures_total 1 "the failure is counted"
post /validate "$T/review.json"
expect_contains "$body" "test/privileged: container nginx is privileged" "the old set still denies"

# 2. the file fixed (no signal): the watcher compiles and swaps
sleep 1.1 # a new mtime second on coarse file systems
cat >"$T/rules/test/broken.rules" <<'RULES'
rule pinned "images are pinned"
  match kind Pod
  deny when some c in pod.allContainers: c.image like "*:1.25"
  message "container {c.name} runs {c.image}"
RULES
for i in $(seq 1 50); do
    post /validate "$T/review.json"
    [[ "$body" == *"test/pinned"* ]] && break
    sleep 0.1
done
expect_contains "$body" "test/pinned: container nginx runs nginx:1.25" "the fixed file is picked up without a signal"
expect_contains "$body" "test/privileged: container nginx is privileged" "and both rules are listed"
expect_not_contains "$(curl -s --cacert "$CA" "$URL/readyz")" '"error"' "/readyz clears the error"

# 3. SIGHUP with a good set: another load
loads() { curl -s --cacert "$CA" "$URL/metrics" | sed -n 's/^sealgate_rules_loads_total //p'; }
before=$(loads)
kill -HUP "$SERVER_PID"
for i in $(seq 1 100); do
    [ "$(loads)" -gt "$before" ] && break
    sleep 0.1
done
expect_eq "$(loads)" "$((before + 1))" "SIGHUP reloads a good set"
expect_contains "$(curl -s --cacert "$CA" "$URL/metrics")" "sealgate_rules_loaded 2" "with both rules"

wait "$load"
expect_contains "$(cat "$T/load.out")" " failed=0" "no request failed during the reloads ($(cat "$T/load.out"); $(head -3 "$T/load.err"))"
ok=$(sed -n 's/ok=\([0-9]*\).*/\1/p' "$T/load.out")
if [ "${ok:-0}" -gt 20 ]; then pass; else fail "the load ran ($(cat "$T/load.out"))"; fi
metrics=$(curl -s --cacert "$CA" "$URL/metrics")
expect_contains "$metrics" 'sealgate_denials_total{rule="test/privileged"}' "denials by rule"
expect_contains "$metrics" 'sealgate_requests_total{endpoint="validate",operation="CREATE",verdict="denied"}' "denied requests counted"
stop_server
expect_eq "$SERVER_RC" "0" "SIGTERM after the reloads: exit 0"

# 4. mode warn: deny rules only warn
PORT=$(free_port)
URL="https://127.0.0.1:$PORT"
sed -e "s/^listen: .*/listen: 127.0.0.1:$PORT/" "$T/config.yaml" >"$T/warn.yaml"
echo "mode: warn" >>"$T/warn.yaml"
start_server "$T/warn.yaml" "$T/warn.log"
post /validate "$T/review.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "True" "mode warn: allowed"
expect_contains "$(jget "$body" 'd["response"]["warnings"]')" "test/privileged: container nginx is privileged" "mode warn: the denial became a warning"
expect_contains "$body" '"mode":"warn"' "mode warn: annotated"
printf '%s' "$body" >"$T/warn.answer"
expect_exit 0 "mode warn: the answer is valid" -- "${CLIENT[@]}" check "$T/review.json" "$T/warn.answer"
stop_server
expect_eq "$SERVER_RC" "0" "warn server: exit 0"

finish
