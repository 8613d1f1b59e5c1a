# server_e2e.sh: the real server on loopback with real TLS: every endpoint, AdmissionReviews
# for every operation (kubectl objects and the apiserver captures), every bad input, TLS
# versions, metrics, and the SIGTERM drain.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

server_pki
mkdir -p "$T/rules/test"
cat >"$T/rules/test/pods.rules" <<'RULES'
rule privileged "containers are not privileged"
  match kind Pod
  deny when some c in pod.allContainers: c.securityContext.privileged == true
  message "container {c.name} is privileged"

rule team-label "workloads carry a team label"
  match kind apps/Deployment
  warn when object.metadata.labels.team == null
  message "deployment {object.metadata.name} has no team label"
RULES
cat >"$T/config.yaml" <<EOF
listen: 127.0.0.1:$PORT
tls: {cert: $T/pki/server.crt, key: $T/pki/server.key}
rules: [$T/rules/test]
limits: {body: 64KiB, depth: 40, timeout: 5s}
logLevel: debug
EOF

# ---- config check --------------------------------------------------------------------------
expect_exit 0 "serve --check accepts the config" -- "$SEALGATE" serve --config "$T/config.yaml" --check
printf 'listen: 127.0.0.1:1\ntls:\n  cert: a\n  kee: b\n' >"$T/bad.yaml"
expect_exit 2 "serve --check refuses an unknown key" -- "$SEALGATE" serve --config "$T/bad.yaml" --check
expect_contains "$err" "bad.yaml:4:3: unknown key 'kee' in tls" "the error names file:line:col"
expect_contains "$err" "  kee: b" "the error shows the source line"

start_server "$T/config.yaml" "$T/server.log"

# A second server on the same address is refused, not let in beside the first (SO_REUSEPORT
# would have split the connections between two servers without a word).
expect_exit 2 "a second server on the same port" -- "$SEALGATE" serve --config "$T/config.yaml"
expect_contains "$err" "cannot serve on 127.0.0.1:$PORT: Address already in use" "the second server says why"

# ---- health ---------------------------------------------------------------------------------
expect_eq "$(curl -s --cacert "$CA" "$URL/healthz")" "ok" "/healthz"
ready=$(curl -s --cacert "$CA" -w '\n%{http_code}' "$URL/readyz")
expect_eq "${ready##*$'\n'}" "200" "/readyz status"
expect_contains "$ready" '"status": "ready"' "/readyz says ready"
expect_contains "$ready" "\"cert\": \"$T/pki/server.crt\"" "/readyz names the certificate"
expect_contains "$ready" "$T/rules/test" "/readyz lists the rule paths"

# ---- connections are spread evenly over the workers -------------------------------------------
# Three per worker, opened at once and kept open; libmicrohttpd's own accepting once left all of
# a burst on one thread. The gauge's spread may be 1 (the count is not a multiple, or the
# scrape's own connection).
spread=$(python3 - "$PORT" "$CA" <<'PY'
import http.client, re, ssl, sys, threading
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def scrape():
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    return [int(v) for v in re.findall(r'^sealgate_worker_connections\{worker="\d+"\} (\d+)$', text, re.M)]
workers = len(scrape())
conns = [http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10) for _ in range(3 * workers)]
def touch(c):
    c.request("GET", "/healthz")
    c.getresponse().read()
threads = [threading.Thread(target=touch, args=(c,)) for c in conns]
for t in threads: t.start()
for t in threads: t.join()
counts = scrape()
print(workers, sum(counts), max(counts) - min(counts))
for c in conns: c.close()
PY
)
read -r workers open_conns gap <<<"$spread"
cores=$(nproc) # the CPUs this process may run on
expect_eq "$workers" "$((2 * (cores < 16 ? cores : 16)))" "two workers per core by default"
expect_eq "$([ "${open_conns:-0}" -ge $((3 * ${workers:-1})) ] && echo yes)" "yes" "the gauge counts the open connections ($open_conns)"
expect_eq "$([ "${gap:-9}" -le 1 ] && echo yes)" "yes" "no worker has more than one connection over another (spread $gap)"

# ---- the apiserver's own requests ------------------------------------------------------------
for f in pod-create configmap-update; do
    post "/validate?timeout=5s" "$ADM_FIXTURES/$f.json"
    expect_eq "$code" "200" "$f: status"
    printf '%s' "$body" >"$T/$f.answer"
    expect_exit 0 "$f: the answer is valid" -- "${CLIENT[@]}" check "$ADM_FIXTURES/$f.json" "$T/$f.answer"
    expect_eq "$(jget "$body" 'd["response"]["uid"]')" \
        "$(jget "$(cat "$ADM_FIXTURES/$f.json")" 'd["request"]["uid"]')" "$f: uid echoed"
done
# A sealed Secret with no sealing keys configured is denied by /mutate, dry-run or not.
for f in secret-create-mutate secret-update-dryrun-mutate; do
    post "/mutate?timeout=5s" "$ADM_FIXTURES/$f.json"
    expect_eq "$code" "200" "$f: status"
    printf '%s' "$body" >"$T/$f.answer"
    expect_exit 0 "$f: the answer is valid" -- "${CLIENT[@]}" check "$ADM_FIXTURES/$f.json" "$T/$f.answer" --mutate
    expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "False" "$f: denied"
    expect_contains "$body" "no sealing keys configured" "$f: says why"
    expect_not_contains "$body" '"patch"' "$f: no patch"
done
expect_not_contains "$(cat "$T/server.log")" "$(jget "$(cat "$ADM_FIXTURES/secret-create-mutate.json")" \
    'd["request"]["object"]["data"]["password"]')" "the log never holds a Secret's values"

# ---- kubectl objects, every operation --------------------------------------------------------
kubectl create deployment web --image=nginx:1.25 --dry-run=client -o json >"$T/deploy.json"
kubectl create configmap cfg --from-literal=a=b --dry-run=client -o json >"$T/cm.json"
kubectl create configmap cfg --from-literal=a=c --dry-run=client -o json >"$T/cm2.json"
kubectl create secret generic plain --from-literal=password=hunter2 --dry-run=client -o json >"$T/secret.json"
"$PY" - "$T/deploy.json" "$T/pod.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "exec-target", "namespace": "default"},
       "spec": d["spec"]["template"]["spec"]}
json.dump(pod, open(sys.argv[2], "w"))
PY
printf '{"kind":"PodExecOptions","apiVersion":"v1","stdin":true,"command":["sh"],"container":"nginx"}' >"$T/exec.json"
"${CLIENT[@]}" review "$T/deploy.json" CREATE >"$T/r-create.json"
"${CLIENT[@]}" review "$T/cm2.json" UPDATE --old "$T/cm.json" >"$T/r-update.json"
"${CLIENT[@]}" review - DELETE --old "$T/cm.json" >"$T/r-delete.json"
"${CLIENT[@]}" review "$T/exec.json" CONNECT --sub exec --kind /v1/Pod >"$T/r-connect.json"
"${CLIENT[@]}" review "$T/deploy.json" CREATE --dry-run >"$T/r-dryrun.json"
for op in create update delete connect dryrun; do
    post /validate "$T/r-$op.json"
    expect_eq "$code" "200" "$op: status"
    printf '%s' "$body" >"$T/a-$op.json"
    expect_exit 0 "$op: the answer is valid" -- "${CLIENT[@]}" check "$T/r-$op.json" "$T/a-$op.json"
done
"${CLIENT[@]}" review "$T/secret.json" CREATE >"$T/r-secret.json"
post /mutate "$T/r-secret.json"
expect_eq "$code" "200" "/mutate of an unlabelled Secret: status"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "True" "/mutate lets an unlabelled Secret through"
expect_not_contains "$body" '"patch"' "/mutate of an unlabelled Secret: no patch"

# ---- bad input --------------------------------------------------------------------------------
"$PY" -c 'print("{\"a\":\"" + "x" * 70000 + "\"}")' >"$T/big.json"
post /validate "$T/big.json"
expect_eq "$code" "413" "body over limits.body"
expect_contains "$body" "request body over 65536 bytes (limits.body)" "413 names the limit"
post /validate "$T/big.json" -H 'Transfer-Encoding: chunked'
expect_eq "$code" "413" "chunked body over limits.body"
"$PY" -c 'print("[" * 60 + "]" * 60)' >"$T/deep.json"
post /validate "$T/deep.json"
expect_eq "$code" "400" "nesting over limits.depth"
expect_contains "$body" "JSON nesting deeper than 40 levels" "400 names the depth limit"
printf '{"apiVersion": "admission.k8s.io/v1", "kind": ' >"$T/malformed.json"
post /validate "$T/malformed.json"
expect_eq "$code" "400" "malformed JSON"
expect_contains "$body" "malformed JSON at line 1" "400 says where"
CTYPE=text/plain post /validate "$ADM_FIXTURES/pod-create.json"
expect_eq "$code" "415" "wrong Content-Type"
expect_contains "$body" "Content-Type must be application/json" "415 says why"
code=$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type:' \
    --data-binary "@$ADM_FIXTURES/pod-create.json" "$URL/validate")
expect_eq "$code" "415" "missing Content-Type"
post /validate "$T/deploy.json"
expect_eq "$code" "400" "not an AdmissionReview"
expect_contains "$body" "not an AdmissionReview: kind is 'Deployment'" "400 names the kind"
sed 's#admission.k8s.io/v1#admission.k8s.io/v1beta1#' "$ADM_FIXTURES/pod-create.json" >"$T/v1beta1.json"
post /validate "$T/v1beta1.json"
expect_eq "$code" "400" "wrong AdmissionReview version"
expect_contains "$body" "unsupported AdmissionReview version 'admission.k8s.io/v1beta1'" "400 names the version"
expect_eq "$(jget "$body" 'd["kind"] + " " + str(d["code"])')" "Status 400" "errors are metav1.Status"
expect_eq "$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL/nope")" "404" "unknown path"
expect_eq "$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL/validate")" "405" "GET /validate"
head -c 20000 /dev/urandom >"$T/noise.bin"
post /validate "$T/noise.bin"
expect_eq "$code" "400" "random bytes"
expect_eq "$(curl -s --cacert "$CA" "$URL/healthz")" "ok" "still healthy after bad input"

# ---- TLS ---------------------------------------------------------------------------------------
tls_ok() { openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CA" "$@" </dev/null >"$T/.tls" 2>&1; }
if tls_ok -tls1_2; then pass; else fail "TLS 1.2 handshake: $(tail -3 "$T/.tls")"; fi
if tls_ok -tls1_3; then pass; else fail "TLS 1.3 handshake: $(tail -3 "$T/.tls")"; fi
tls_ok
expect_exit 0 "the protocol is TLS 1.3 by default" -- grep -q 'TLSv1.3' "$T/.tls"
# The client offers TLS 1.1 (with its security level lowered so that it really can).
if tls_ok -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'; then fail "TLS 1.1 was accepted"; else pass; fi
if tls_ok -tls1_2 -cipher 'AES128-SHA'; then fail "a CBC/RSA-kx cipher was accepted"; else pass; fi
code=$(curl -s --cacert "$CA" --tls-max 1.1 -o /dev/null -w '%{http_code}' "$URL/healthz" || true)
expect_eq "$code" "000" "curl --tls-max 1.1 gets no answer"

# ---- metrics -----------------------------------------------------------------------------------
metrics=$(curl -s --cacert "$CA" "$URL/metrics")
expect_contains "$metrics" 'sealgate_requests_total{endpoint="validate",operation="CREATE",verdict="allowed"}' "requests by endpoint/operation/verdict"
expect_contains "$metrics" 'sealgate_requests_total{endpoint="mutate",operation="CREATE",verdict="denied"} 1' "mutate denials counted"
expect_contains "$metrics" 'sealgate_requests_total{endpoint="validate",operation="unknown",verdict="error"}' "bad requests counted"
expect_contains "$metrics" 'sealgate_request_duration_seconds_bucket{endpoint="validate",le="+Inf"}' "latency histogram"
expect_contains "$metrics" 'sealgate_denials_total{rule="sealgate/unseal"} 2' "denials by rule"
expect_contains "$metrics" 'sealgate_rules_loads_total 1' "rule-set loads"
expect_contains "$metrics" 'sealgate_rules_load_failures_total 0' "rule-set load failures"
expect_contains "$metrics" 'sealgate_build_info{version="' "build info"

# ---- logs --------------------------------------------------------------------------------------
log=$(cat "$T/server.log")
expect_contains "$log" '"msg":"denied"' "a denial is logged"
expect_contains "$log" '"endpoint":"mutate","uid":"' "the log line names endpoint and uid"
expect_contains "$log" '"operation":"UPDATE","rules":["sealgate/unseal"],"mode":"enforce","dryRun":true' "the log line has operation, rules, mode, dryRun"
"$PY" - "$T/server.log" <<'PY' && pass || fail "every log line is one JSON object"
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("sealgate serve:"):
        continue
    json.loads(line)
PY

# ---- SIGTERM drains ----------------------------------------------------------------------------
"${CLIENT[@]}" slow "$URL/validate" "$CA" "$ADM_FIXTURES/pod-create.json" 2 >"$T/slow.out" 2>&1 &
slow=$!
for i in $(seq 1 50); do grep -q "sent half" "$T/slow.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
stop_server
wait "$slow" || true
expect_eq "$SERVER_RC" "0" "SIGTERM: exit 0"
expect_contains "$(cat "$T/slow.out")" "HTTP/1.1 200" "SIGTERM: the request in flight was answered"
expect_contains "$(cat "$T/server.log")" '"msg":"stopped","abandoned":0' "SIGTERM: nothing abandoned"

# ---- limits.connections holds in all, over the workers --------------------------------------
sed 's/limits: {body: 64KiB,/limits: {connections: 3, body: 64KiB,/' "$T/config.yaml" >"$T/few.yaml"
start_server "$T/few.yaml" "$T/few.log"
held=$(python3 - "$PORT" "$CA" <<'PY'
import http.client, re, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def get(c, path):
    c.request("GET", path)
    return c.getresponse().read().decode()
conns = [http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5) for _ in range(3)]
for c in conns[:2]:
    get(c, "/healthz")
workers = len(re.findall(r'^sealgate_worker_connections\{', get(conns[2], "/metrics"), re.M))
try:
    extra = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    fourth = get(extra, "/healthz")
except (OSError, http.client.HTTPException):
    fourth = "refused"
print(workers, fourth)
PY
)
expect_eq "$held" "3 refused" "connections: 3 makes 3 workers, and a fourth connection is refused"
stop_server

# ---- the workers follow the CPUs the server may use ------------------------------------------
if command -v taskset >/dev/null; then
    SEALGATE_WRAP="taskset -c 0 ${SEALGATE_WRAP:-}" start_server "$T/config.yaml" "$T/pinned.log"
    expect_eq "$(curl -s --cacert "$CA" "$URL/metrics" | grep -c '^sealgate_worker_connections{')" \
        "2" "pinned to one CPU: two workers"
    stop_server
fi

finish
