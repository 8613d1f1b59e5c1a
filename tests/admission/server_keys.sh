# server_keys.sh: sealing keys reloaded like certificates, through the real server. A key
# file dropped into the configured folder is picked up without a restart, and values sealed
# to it unseal while the old keys still do; a corrupt, removed or replaced file keeps the old
# keyring serving (logged naming the file, in /readyz and the metrics); SIGHUP forces a
# reload; and /mutate under load through every swap never fails a request.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

server_pki
for k in k1 k2 k3 k4; do "$SEALGATE" keygen --out "$T/$k" >/dev/null 2>&1; done
kid() { sed -n 's/.*key id \([0-9a-f]*\).*/\1/p' "$T/$1/sealgate.pub"; }
mkdir -m 700 "$T/keys"
cp "$T/k1/sealgate.key" "$T/keys/k1.key"
cp "$T/k3/sealgate.key" "$T/single.key"
cat >"$T/config.yaml" <<EOF
listen: 127.0.0.1:$PORT
tls: {cert: $T/pki/server.crt, key: $T/pki/server.key}
sealing: {keys: [$T/keys, $T/single.key]}
EOF

# seal_review NAME KEY PASSWORD: a Secret made by kubectl, sealed to KEY by the CLI, folded as
# the apiserver folds stringData into data, in an AdmissionReview: $T/NAME.review.json.
seal_review() {
    kubectl create secret generic "$1" -n prod --from-literal=password="$3" \
        --dry-run=client -o json >"$T/$1.json"
    "$SEALGATE" seal --pub "$T/$2/sealgate.pub" -f "$T/$1.json" -o json >"$T/$1.sealed.json"
    "$PY" - "$T/$1.sealed.json" <<'PY'
import base64, json, sys
o = json.load(open(sys.argv[1]))
o["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in o.pop("stringData").items()}
json.dump(o, open(sys.argv[1], "w"))
PY
    "${CLIENT[@]}" review "$T/$1.sealed.json" CREATE >"$T/$1.review.json"
}
seal_review one k1 one-pass-1111
seal_review two k2 two-pass-2222
seal_review three k3 three-pass-3333
seal_review four k4 four-pass-4444

# mutate NAME: POST its review to /mutate; $allowed and $plain (the patched password, or "").
mutate() {
    post /mutate "$T/$1.review.json"
    allowed=$(jget "$body" 'd["response"]["allowed"]')
    plain=$(jget "$body" '__import__("base64").b64decode(__import__("json").loads(__import__("base64").b64decode(d["response"]["patch"]))[0]["value"]).decode() if "patch" in d["response"] else ""')
}
readyz() { curl -s --cacert "$CA" "$URL/readyz"; }

start_server "$T/config.yaml" "$T/server.log"
expect_eq "$(metric sealgate_sealing_keys_loaded)" "2" "two keys at start (the folder's and the listed file)"
expect_contains "$(readyz)" "\"$(kid k1)\"" "/readyz lists the key ids"
mutate one
expect_eq "$allowed/$plain" "True/one-pass-1111" "a value sealed to k1 unseals"
mutate two
expect_eq "$allowed" "False" "a value sealed to k2 is denied before k2 is loaded"
expect_contains "$body" "sealed to key id $(kid k2)" "the denial names the unknown key id"

# /mutate under load through every swap below: k1 stays in every keyring, so each answer must
# allow and unseal.
"${CLIENT[@]}" load "$URL/mutate" "$CA" "$T/one.review.json" 10 4 --mutate >"$T/load.out" 2>"$T/load.err" &
load=$!

# 1. k2 dropped into the folder: loaded.
put "$T/k2/sealgate.key" "$T/keys/k2.key"
wait_metric sealgate_sealing_keys_reloads_total 1
expect_eq "$(metric sealgate_sealing_keys_reloads_total)" "1" "the new file is one reload"
expect_eq "$(metric sealgate_sealing_keys_loaded)" "3" "three keys in force"
expect_metric_min "$(curl -s --cacert "$CA" "$URL/metrics")" sealgate_sealing_keys_last_reload_timestamp_seconds "$(($(date +%s) - 60))" "the reload time is recent"
mutate two
expect_eq "$allowed/$plain" "True/two-pass-2222" "after the reload a value sealed to k2 unseals"
mutate one
expect_eq "$allowed/$plain" "True/one-pass-1111" "and k1's values still do"
expect_contains "$(cat "$T/server.log")" '"msg":"sealing keys reloaded"' "the reload is logged"

# 2. k2's file corrupted: the old keyring keeps serving, the failure shows everywhere.
printf 'sealgate-private-key-v1 1700000000 not-base64!\n' >"$T/broken.key"
put "$T/broken.key" "$T/keys/k2.key"
wait_metric sealgate_sealing_keys_reload_failures_total 1
expect_eq "$(metric sealgate_sealing_keys_reload_failures_total)" "1" "the failure is counted once"
expect_eq "$(metric sealgate_sealing_keys_loaded)" "3" "the old keys stay in force"
ready=$(readyz)
expect_contains "$(jget "$ready" 'd["sealing"]["error"]')" "$T/keys/k2.key:1:1: private key is not the base64 of 32 bytes" "/readyz names the file, line and reason"
expect_eq "$(jget "$ready" 'd["status"]')" "ready" "the server stays ready"
expect_contains "$(cat "$T/server.log")" "sealing key reload failed" "the failure is logged"
expect_contains "$(grep 'sealing key reload failed' "$T/server.log")" "$T/keys/k2.key:1:1" "naming the file"
mutate two
expect_eq "$allowed/$plain" "True/two-pass-2222" "k2's values still unseal with the old keyring"

# 3. SIGHUP forces a reload even when no file changed: the broken file fails again.
kill -HUP "$SERVER_PID"
wait_metric sealgate_sealing_keys_reload_failures_total 2
expect_eq "$(metric sealgate_sealing_keys_reload_failures_total)" "2" "SIGHUP retried the broken folder"

# 4. fixed: the watcher loads it and /readyz clears the error; SIGHUP then reloads a good set.
put "$T/k2/sealgate.key" "$T/keys/k2.key"
wait_metric sealgate_sealing_keys_reloads_total 2
expect_eq "$(metric sealgate_sealing_keys_reloads_total)" "2" "the fixed file is reloaded"
expect_eq "$(jget "$(readyz)" '"error" in d["sealing"]')" "False" "/readyz clears the error"
kill -HUP "$SERVER_PID"
wait_metric sealgate_sealing_keys_reloads_total 3
expect_eq "$(metric sealgate_sealing_keys_reloads_total)" "3" "SIGHUP reloads a good set"

# 5. the listed file removed: an error, and its key keeps unsealing.
mv "$T/single.key" "$T/single.away"
wait_metric sealgate_sealing_keys_reload_failures_total 3
expect_contains "$(jget "$(readyz)" 'd["sealing"]["error"]')" "cannot open '$T/single.key'" "a removed file is named"
mutate three
expect_eq "$allowed/$plain" "True/three-pass-3333" "the removed file's key still serves"

# 6. the listed file replaced by another key (k4): k3's values stop unsealing, k4's start.
put "$T/k4/sealgate.key" "$T/single.key"
wait_metric sealgate_sealing_keys_reloads_total 4
expect_eq "$(metric sealgate_sealing_keys_loaded)" "3" "k1, k2 and k4 in force"
mutate four
expect_eq "$allowed/$plain" "True/four-pass-4444" "a value sealed to the replacement key unseals"
mutate three
expect_eq "$allowed" "False" "the replaced key is gone"
expect_contains "$body" "sealed to key id $(kid k3)" "naming its key id"

wait "$load"
expect_contains "$(cat "$T/load.out")" " failed=0" "no /mutate failed during the swaps ($(cat "$T/load.out"); $(head -3 "$T/load.err"))"
ok=$(sed -n 's/ok=\([0-9]*\).*/\1/p' "$T/load.out")
if [ "${ok:-0}" -gt 20 ]; then pass; else fail "the load ran ($(cat "$T/load.out"))"; fi

stop_server
expect_eq "$SERVER_RC" "0" "SIGTERM after the swaps: exit 0 (no leak: LeakSanitizer would fail it)"
log=$(cat "$T/server.log")
for p in one-pass-1111 two-pass-2222 three-pass-3333 four-pass-4444; do
    expect_not_contains "$log" "$p" "no plaintext in the log"
done
for k in k1 k2 k3 k4; do
    expect_not_contains "$log" "$(awk '!/^#/ {print $3}' "$T/$k/sealgate.key")" "no private key bytes in the log"
done
expect_not_contains "$log" "Sanitizer" "no sanitizer report from the server"
if [[ "${SEALGATE_WRAP:-}" == *valgrind* ]]; then
    expect_contains "$log" "ERROR SUMMARY: 0 errors" "memcheck: no error and no leak in the server"
fi
finish
