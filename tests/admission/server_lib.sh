# server_lib.sh: helpers the webhook's shell tests share (after tests/lib.sh): TLS material
# made by openssl, starting and stopping the real server, posting with curl.
HERE="$SEALGATE_SOURCE_DIR/tests/admission"
# The distribution's python starts in a tenth of the time of a version-manager shim.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
CLIENT=("$PY" "$HERE/server_client.py")
ADM_FIXTURES="$FIXTURES/admissionreview"

# make_ca DIR: an EC P-256 CA in DIR/ca.{crt,key}.
make_ca() {
    mkdir -p "$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ca.key" \
        -out "$1/ca.crt" -subj "/CN=sealgate test CA $RANDOM" -days 2 2>/dev/null
}
# make_cert DIR NAME CN USAGE: DIR/NAME.{crt,key} signed by DIR/ca; USAGE serverAuth|clientAuth.
make_cert() {
    local d=$1 n=$2 cn=$3 usage=$4
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$n.key" \
        -out "$d/$n.csr" -subj "/CN=$cn" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n' "$usage" >"$d/$n.ext"
    openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/$n.crt" -days 2 -extfile "$d/$n.ext" 2>/dev/null
}

# server_pki: a CA and a server pair for 127.0.0.1/localhost in $T/pki, and the $CA, $PORT and
# $URL the helpers below and the tests use.
server_pki() {
    make_ca "$T/pki"
    make_cert "$T/pki" server localhost serverAuth
    export CA="$T/pki/ca.crt"
    PORT=$(free_port)
    export URL="https://127.0.0.1:$PORT"
}

# wait_readyz PATTERN [TRIES]: poll /readyz every 0.1 s (100 times by default) until its body
# matches PATTERN (grep); the caller asserts on /readyz afterwards.
wait_readyz() {
    local i
    for i in $(seq 1 "${2:-100}"); do
        curl -s --cacert "$CA" "$URL/readyz" | grep -q -- "$1" && return 0
        sleep 0.1
    done
}

# start_server CONFIG LOG: run `sealgate serve` in the background ($SERVER_PID) and wait until
# /healthz answers over TLS verified with $CA. $SEALGATE_WRAP (e.g. valgrind and its options, as
# the `valgrind` ctest label sets it) runs the server under that command, given more time to start
# (as is a $SEALGATE that is itself a valgrind wrapper, with $SEALGATE_SLOW set: bench/valgrind).
start_server() {
    # shellcheck disable=SC2086 # the wrapper is a command and its arguments
    ${SEALGATE_WRAP:-} "$SEALGATE" serve --config "$1" >"$2" 2>&1 &
    SERVER_PID=$!
    defer "kill -9 $SERVER_PID 2>/dev/null"
    local i tries=150
    [ -n "${SEALGATE_WRAP:-}${SEALGATE_SLOW:-}" ] && tries=1200
    for i in $(seq 1 $tries); do
        if curl -sf --cacert "$CA" "$URL/healthz" -o /dev/null 2>/dev/null; then return 0; fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited early:" >&2; cat "$2" >&2; return 1
        fi
        sleep 0.1
    done
    echo "server did not come up:" >&2; cat "$2" >&2; return 1
}
# stop_server: SIGTERM, wait, and set $SERVER_RC to its exit code.
stop_server() {
    kill -TERM "$SERVER_PID"
    SERVER_RC=0
    wait "$SERVER_PID" || SERVER_RC=$?
}

# post PATH FILE [curl args...]: POST FILE as $CTYPE (default JSON); $code is the HTTP status, $body the answer.
post() {
    local path=$1 file=$2; shift 2
    code=$(curl -s --cacert "$CA" -o "$T/.body" -w '%{http_code}' -H "Content-Type: ${CTYPE:-application/json}" \
        --data-binary "@$file" "$@" "$URL$path") || true
    body=$(cat "$T/.body" 2>/dev/null || true)
}
# jget JSON-TEXT PYTHON-EXPR: evaluate EXPR over the parsed document `d`.
jget() { "$PY" -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1"; }
# metric NAME: the value of an unlabelled sample on the server's /metrics ($URL, $CA).
metric() { curl -sS --cacert "$CA" "$URL/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
# wait_metric NAME MIN: poll /metrics every 0.1 s (10 s at most) until NAME >= MIN.
wait_metric() {
    local i
    for i in $(seq 1 100); do
        [ "$(metric "$1")" -ge "$2" ] 2>/dev/null && return 0
        sleep 0.1
    done
}
# put SRC DEST: DEST gets SRC's bytes whole (written aside under a hidden name, then renamed),
# so a poll never sees a half-written file and every change is exactly one reload.
put() { cp "$1" "$(dirname "$2")/.put.tmp" && mv "$(dirname "$2")/.put.tmp" "$2"; }
# demo_reviews: the newcomer's demo in $T/demo (scripts/demo-repo; its DEMO_* variables set
# here) and the AdmissionReviews scripts/demo-reviews makes of its signed commit's objects.
demo_reviews() {
    "$SEALGATE_SOURCE_DIR/scripts/demo-repo" "$T/demo" "$SEALGATE" >"$T/demo.env"
    eval "$(cat "$T/demo.env")"
    "$SEALGATE" gate --repo "$DEMO_REPO" --trust "$DEMO_TRUST" --paths clusters/demo \
        --keep-sealed -o json >"$T/objects.json" 2>/dev/null
    "$SEALGATE_SOURCE_DIR/scripts/demo-reviews" "$T/objects.json" "$T"
}
# demo_config FILE [SED-EXPR...]: FILE is the demo's config ($DEMO_CONFIG) on a free port, with
# its own state folder, each SED-EXPR applied; sets PORT, URL and CA (the self-signed
# certificate the server will make there).
demo_config() {
    local file=$1 e
    shift
    PORT=$(free_port)
    URL="https://127.0.0.1:$PORT"
    CA="$T/state-$PORT/tls.crt"
    local args=(-e "s/^listen: .*/listen: 127.0.0.1:$PORT/")
    for e in "$@"; do args+=(-e "$e"); done
    sed "${args[@]}" "$DEMO_CONFIG" >"$file"
    echo "stateDir: $T/state-$PORT" >>"$file"
}
