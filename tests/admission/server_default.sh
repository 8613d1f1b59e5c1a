# server_default.sh: the embedded default (no --config): a self-signed certificate made under
# the state folder and reused, the bundled packs in enforce mode denying a privileged pod.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

PORT=$(free_port)
URL="https://127.0.0.1:$PORT"
CA="$T/state/tls.crt"
cd "$T"
run_default() {
    "$SEALGATE" serve --listen "127.0.0.1:$PORT" --state "$T/state" >"$1" 2>&1 &
    SERVER_PID=$!
    defer "kill -9 $SERVER_PID 2>/dev/null"
    for i in $(seq 1 150); do
        [ -f "$CA" ] && curl -sf --cacert "$CA" "$URL/healthz" -o /dev/null 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$1" >&2
    return 1
}
run_default "$T/first.log"
expect_contains "$(cat "$T/first.log")" "self-signed certificate and key in $T/state/" "the state folder is printed"
expect_eq "$(stat -c %a "$T/state/tls.key")" "600" "the key is private"
san=$(openssl x509 -in "$CA" -noout -ext subjectAltName)
expect_contains "$san" "IP Address:127.0.0.1" "the certificate names 127.0.0.1"
expect_contains "$san" "DNS:localhost" "and localhost"
expect_contains "$(openssl x509 -in "$CA" -noout -text)" "prime256v1" "an EC P-256 key"
ready=$(curl -s --cacert "$CA" "$URL/readyz")
for pack in pod-security-baseline images secrets; do
    expect_contains "$ready" "rules/$pack\"" "the bundled pack $pack is loaded"
done

# A privileged pod (kubectl's Deployment template made privileged) is denied in enforce mode.
kubectl create deployment web --image=nginx:1.25 --dry-run=client -o json >"$T/deploy.json"
"$PY" - "$T/deploy.json" "$T/pod.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
spec = d["spec"]["template"]["spec"]
spec["containers"][0]["securityContext"] = {"privileged": True}
json.dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
           "spec": spec}, open(sys.argv[2], "w"))
PY
"${CLIENT[@]}" review "$T/pod.json" CREATE >"$T/review.json"
post /validate "$T/review.json"
expect_eq "$code" "200" "status"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "False" "the privileged pod is denied"
expect_eq "$(jget "$body" 'd["response"]["status"]["code"]')" "403" "with 403"
expect_contains "$body" "pod-security-baseline/" "by the baseline pack"
printf '%s' "$body" >"$T/answer.json"
expect_exit 0 "the answer is valid" -- "${CLIENT[@]}" check "$T/review.json" "$T/answer.json"
# The pod as kubectl makes it (unprivileged, pinned image) is allowed.
"$PY" - "$T/deploy.json" "$T/plain.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
json.dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
           "spec": d["spec"]["template"]["spec"]}, open(sys.argv[2], "w"))
PY
"${CLIENT[@]}" review "$T/plain.json" CREATE >"$T/review2.json"
post /validate "$T/review2.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "True" "kubectl's plain pod is allowed"
# A 2 MiB body of tiny values (within the default limits.body of 6 MiB) would decode to some
# 130 MiB of nodes: the per-request JSON budget (16 x limits.body) refuses it with a 400 that
# says so, and the next review is answered as before.
"$PY" - "$T/review2.json" "$T/flat.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["request"]["object"]["metadata"]["annotations"] = {"n": "x"}
d["request"]["object"]["spec"]["x"] = [1] * (1 << 20)
json.dump(d, open(sys.argv[2], "w"), separators=(",", ":"))
PY
post /validate "$T/flat.json"
expect_eq "$code" "400" "a body whose tree is over the JSON budget"
expect_contains "$body" "the JSON needs more than 96 MiB of memory to decode" "the 400 says why"
post /validate "$T/review2.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "True" "the next review is answered"
stop_server
expect_eq "$SERVER_RC" "0" "exit 0"

# The second start reuses the pair.
fp=$(openssl x509 -in "$CA" -noout -fingerprint -sha256)
run_default "$T/second.log"
expect_eq "$(openssl x509 -in "$CA" -noout -fingerprint -sha256)" "$fp" "the pair is reused"
stop_server
finish
