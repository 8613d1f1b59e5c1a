# bad_inputs.sh: bad inputs at scale. The real server (TLS on loopback, the bundled packs, a
# sealing key) and the CLI get every hand-made bad case of corpus/ and every seed of the
# fuzzers' corpora (replay.py): clear 4xx or exit 2, never a 5xx, reset, hang, signal or
# sanitizer report; a body over limits.body always gets its 413, and a large body sent to a
# wrong path or with a wrong type its 404/405/415 (read, never lost to a reset);
# the server stays healthy to the end and drains cleanly on SIGTERM.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

server_pki
# The fuzzers' sealing key: private bytes all 0x11, so their sealed seeds unseal here too.
export FUZZ_KEY="$T/fuzz.key"
printf 'sealgate-private-key-v1 1700000000 %s\n' \
    "$("$PY" -c 'import base64; print(base64.b64encode(b"\x11" * 32).decode())')" >"$FUZZ_KEY"
chmod 600 "$FUZZ_KEY"
export BODY_LIMIT=262144
cat >"$T/config.yaml" <<YAML
listen: 127.0.0.1:$PORT
tls: {cert: $T/pki/server.crt, key: $T/pki/server.key}
sealing: {keys: [$FUZZ_KEY]}
limits: {body: 256KiB, depth: 40, timeout: 10s}
YAML
start_server "$T/config.yaml" "$T/server.log"

mkdir "$T/work"
rc=0
"$PY" "$SEALGATE_SOURCE_DIR/tests/robustness/replay.py" "$T/work" || rc=$?
expect_eq "$rc" 0 "every bad input answered as it should (failures above)"

# curl and a 2 MiB body (8 times limits.body, under the cap): the 413 and its message are read,
# by Content-Length and chunked, every time.
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/2mib.json"
too_big="request body over $BODY_LIMIT bytes (limits.body)"
for i in $(seq 1 10); do
    for te in "" "Transfer-Encoding: chunked"; do
        code=$(curl -s --cacert "$CA" -o "$T/413.out" -w '%{http_code}' -H 'Content-Type: application/json' \
            ${te:+-H "$te"} --data-binary "@$T/2mib.json" "$URL/validate") || true
        expect_eq "$code" "413" "curl, 2 MiB body ${te:-with Content-Length} (round $i): status"
        expect_contains "$(cat "$T/413.out")" "\"message\":\"$too_big\"" "curl, 2 MiB body ${te:-with Content-Length} (round $i): the message"
    done
done
expect_contains "$(cat "$T/server.log")" "still arriving after" "the bounded drops are logged"

expect_eq "$(curl -s --cacert "$CA" "$URL/healthz")" "ok" "the server is healthy after the replay"
expect_eq "$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$ADM_FIXTURES/pod-create.json" "$URL/validate")" "200" "and still admits"
stop_server
expect_eq "$SERVER_RC" 0 "the server exits 0 on SIGTERM"
log=$(cat "$T/server.log")
expect_not_contains "$log" "Sanitizer" "no sanitizer report from the server"
expect_not_contains "$log" "runtime error" "no UBSan report from the server"
if [[ "${SEALGATE_WRAP:-}" == *valgrind* ]]; then # the `valgrind` label: memcheck's verdict
    expect_contains "$log" "ERROR SUMMARY: 0 errors" "memcheck: no error and no leak in the server"
fi
finish
