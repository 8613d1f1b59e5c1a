# server_tls.sh: client-certificate mode (no certificate or a foreign one: no handshake), and
# the serving certificate replaced on disk under load: new connections get the new one, open
# ones keep working, no request fails; a broken pair keeps the old one.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

make_ca "$T/pki"
make_cert "$T/pki" server localhost serverAuth
make_ca "$T/clients"
make_cert "$T/clients" apiserver kube-apiserver clientAuth
make_ca "$T/foreign"
make_cert "$T/foreign" intruder intruder clientAuth
make_ca "$T/next"
make_cert "$T/next" server localhost serverAuth
cat "$T/pki/ca.crt" "$T/next/ca.crt" >"$T/both.crt"
CA="$T/both.crt"
PORT=$(free_port)
URL="https://127.0.0.1:$PORT"
mkdir -p "$T/tls" "$T/rules/test"
cp "$T/pki/server.crt" "$T/tls/tls.crt"
cp "$T/pki/server.key" "$T/tls/tls.key"
printf 'rule none "nothing"\n  match kind Pod\n  deny when false\n' >"$T/rules/test/none.rules"
cat >"$T/config.yaml" <<EOF
listen: 127.0.0.1:$PORT
tls: {cert: $T/tls/tls.crt, key: $T/tls/tls.key, clientCA: $T/clients/ca.crt}
rules: [$T/rules/test]
EOF
export SEALGATE_CLIENT_CERT="$T/clients/apiserver.crt" SEALGATE_CLIENT_KEY="$T/clients/apiserver.key"
CURL_CERT=(--cert "$T/clients/apiserver.crt" --key "$T/clients/apiserver.key")

# start_server's health probe needs the client certificate: probe by hand.
"$SEALGATE" serve --config "$T/config.yaml" >"$T/server.log" 2>&1 &
SERVER_PID=$!
defer "kill -9 $SERVER_PID 2>/dev/null"
for i in $(seq 1 150); do
    curl -sf --cacert "$CA" "${CURL_CERT[@]}" "$URL/healthz" -o /dev/null && break
    sleep 0.1
done

# ---- client certificates --------------------------------------------------------------------
expect_eq "$(curl -s --cacert "$CA" "${CURL_CERT[@]}" "$URL/healthz")" "ok" "a client with a certificate from clientCA is served"
code=$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL/healthz" || true)
expect_eq "$code" "000" "a client without a certificate gets no answer"
code=$(curl -s --cacert "$CA" --cert "$T/foreign/intruder.crt" --key "$T/foreign/intruder.key" \
    -o /dev/null -w '%{http_code}' "$URL/healthz" || true)
expect_eq "$code" "000" "a client with a certificate from another CA gets no answer"
# In TLS 1.3 the refusal comes after the client's Finished: the request gets no answer.
printf 'GET /healthz HTTP/1.0\r\n\r\n' | openssl s_client -quiet -connect "127.0.0.1:$PORT" \
    -CAfile "$CA" >"$T/.tls" 2>&1 || true
expect_not_contains "$(cat "$T/.tls")" "HTTP/1" "openssl s_client without a certificate gets no HTTP answer"
post /validate "$ADM_FIXTURES/pod-create.json" "${CURL_CERT[@]}"
expect_eq "$code" "200" "/validate with a client certificate"

# ---- certificate rotation under load ---------------------------------------------------------
fingerprint() {
    openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CA" -cert "$T/clients/apiserver.crt" \
        -key "$T/clients/apiserver.key" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256
}
old_fp=$(openssl x509 -noout -fingerprint -sha256 -in "$T/pki/server.crt")
new_fp=$(openssl x509 -noout -fingerprint -sha256 -in "$T/next/server.crt")
expect_eq "$(fingerprint)" "$old_fp" "the first certificate is served"
"${CLIENT[@]}" load "$URL/validate" "$CA" "$ADM_FIXTURES/pod-create.json" 5 4 >"$T/load.out" 2>"$T/load.err" &
load=$!
sleep 1
# A broken pair (key of another certificate) is refused; the old one stays.
cp "$T/next/server.crt" "$T/tls/tls.crt.new" && mv "$T/tls/tls.crt.new" "$T/tls/tls.crt"
for i in $(seq 1 30); do
    curl -s --cacert "$CA" "${CURL_CERT[@]}" "$URL/readyz" | grep -q '"error"' && break
    sleep 0.1
done
expect_contains "$(curl -s --cacert "$CA" "${CURL_CERT[@]}" "$URL/readyz")" "does not match certificate" "/readyz reports the mismatched pair"
expect_eq "$(fingerprint)" "$old_fp" "a mismatched pair keeps the old certificate"
# Then the key arrives: the pair loads.
cp "$T/next/server.key" "$T/tls/tls.key.new" && mv "$T/tls/tls.key.new" "$T/tls/tls.key"
for i in $(seq 1 30); do
    [ "$(fingerprint)" == "$new_fp" ] && break
    sleep 0.1
done
expect_eq "$(fingerprint)" "$new_fp" "new connections get the new certificate"
wait "$load"
expect_contains "$(cat "$T/load.out")" " failed=0" "no request failed during the rotation ($(cat "$T/load.out"); $(head -3 "$T/load.err"))"
metrics=$(curl -s --cacert "$CA" "${CURL_CERT[@]}" "$URL/metrics")
expect_contains "$metrics" 'sealgate_tls_reloads_total{result="ok"} 1' "the reload is counted"
expect_contains "$metrics" 'sealgate_tls_reloads_total{result="failed"} 1' "the refused pair is counted"
expect_eq "$(curl -s --cacert "$T/next/ca.crt" "${CURL_CERT[@]}" "$URL/healthz")" "ok" "clients trusting only the new CA are served"
stop_server
expect_eq "$SERVER_RC" "0" "SIGTERM: exit 0"

finish
