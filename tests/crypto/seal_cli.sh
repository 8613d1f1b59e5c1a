# seal_cli.sh: the sealing verbs end to end with real objects: Secrets made by
# `kubectl create secret generic|tls|docker-registry --dry-run=client`, a TLS pair made by
# openssl, binary, empty and 1 MiB values; scopes and moves; tampering; rotation; merge;
# raw values. Every stdout and stderr that is not an unseal result is kept in $LOG and
# grepped for the plaintext at the end.
source "$SEALGATE_SOURCE_DIR/tests/lib.sh"
cd "$T"
PLAIN='pl41ntext-Zq9w'                  # every secret value below contains this
PLAIN_B64=$(printf %s "$PLAIN" | base64)
LOG=$T/all-output.log
: >"$LOG"
# run WANT WHAT -- CMD...: expect_exit, then append stdout and stderr to the log.
run() { expect_exit "$@"; cat "$T/.out" "$T/.err" >>"$LOG"; }
# run_unseal: the same, but stdout (the plaintext, by design) stays out of the log.
run_unseal() { expect_exit "$@"; cat "$T/.err" >>"$LOG"; }
# canonical JSON of a file's data items, for comparison
data_of() { jq -S '.data // {}' "$1"; }

# --- keys ----------------------------------------------------------------------------
run 0 "keygen" -- "$SEALGATE" keygen --out k1
expect_eq "$(stat -c %a k1/sealgate.key)" 600 "private key mode"
expect_contains "$(cat k1/sealgate.pub)" "sealgate-public-key-v1 " "public key format"
expect_contains "$(cat k1/sealgate.key)" "sealgate-private-key-v1 " "private key format"
kid1=$(sed -n 's/.*key id \([0-9a-f]*\).*/\1/p' k1/sealgate.pub)
expect_eq "${#kid1}" 16 "key id in the public key file"
before=$(sha256sum k1/sealgate.key)
run 2 "keygen refuses to overwrite" -- "$SEALGATE" keygen --out k1
expect_contains "$err" "refusing to overwrite" "keygen overwrite message"
expect_eq "$(sha256sum k1/sealgate.key)" "$before" "private key unchanged"
run 2 "keygen without --out" -- "$SEALGATE" keygen
run 0 "keygen second key" -- "$SEALGATE" keygen --out k2
kid2=$(sed -n 's/.*key id \([0-9a-f]*\).*/\1/p' k2/sealgate.pub)

# --- kubectl-made Secrets round trip -------------------------------------------------
head -c 4096 /dev/urandom >bin.dat
printf '%s' "$PLAIN" >pw.txt
openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -out tls.crt -days 1 \
    -subj "/CN=sealgate-test" 2>/dev/null
kubectl create secret generic app -n prod --from-literal=password="$PLAIN" \
    --from-literal=empty= --from-file=bin=bin.dat --from-file=pw.txt \
    --dry-run=client -o json >generic.json
kubectl create secret tls web -n prod --cert=tls.crt --key=tls.key \
    --dry-run=client -o json >tls.json
kubectl create secret docker-registry reg -n prod --docker-server=registry.example.com \
    --docker-username=robot --docker-password="$PLAIN" --docker-email=r@example.com \
    --dry-run=client -o json >docker.json
head -c 1048576 /dev/urandom >big.dat
kubectl create secret generic big -n prod --from-file=big=big.dat --dry-run=client -o json \
    >big.json
kubectl create secret generic ymlsecret -n prod --from-literal=password="$PLAIN" \
    --dry-run=client -o yaml >yml.yaml

for f in generic tls docker big; do
    run 0 "seal $f" -- "$SEALGATE" seal --pub k1/sealgate.pub -f $f.json
    cp "$T/.out" $f.sealed.json
    expect_eq "$(jq -r '.metadata.labels["sealgate.io/sealed"]' $f.sealed.json)" true "$f label"
    expect_eq "$(jq -r '.metadata.annotations["sealgate.io/scope"]' $f.sealed.json)" strict \
        "$f scope annotation"
    expect_contains "$(jq -r '.metadata.annotations["sealgate.io/sealed-digest"]' \
        $f.sealed.json)" "sha256:" "$f digest"
    expect_eq "$(jq '[.stringData[] | startswith("sg1:")] | all' $f.sealed.json)" true \
        "$f every value sealed"
    expect_eq "$(jq 'has("data")' $f.sealed.json)" false "$f data moved to stringData"
    # every other field kept: type, name, namespace, creationTimestamp
    expect_eq "$(jq -S 'del(.data, .stringData, .metadata.labels, .metadata.annotations)' \
        $f.sealed.json)" "$(jq -S 'del(.data, .stringData, .metadata.labels,
        .metadata.annotations)' $f.json)" "$f other fields preserved"
    run_unseal 0 "unseal $f" -- "$SEALGATE" unseal --key k1/sealgate.key -f $f.sealed.json
    cp "$T/.out" $f.back.json
    expect_eq "$(data_of $f.back.json)" "$(data_of $f.json)" "$f round trip"
    expect_eq "$(jq -r .type $f.back.json)" "$(jq -r .type $f.json)" "$f type kept"
done
expect_eq "$(jq -r '.data.empty' generic.back.json)" "" "empty value round trip"
expect_eq "$(jq -r '.data.bin' generic.back.json | base64 -d | sha256sum)" \
    "$(sha256sum <bin.dat)" "binary value round trip"
expect_eq "$(jq -r '.data.big' big.back.json | base64 -d | sha256sum)" "$(sha256sum <big.dat)" \
    "1 MiB value round trip"

# YAML in, YAML out (default follows input); -o json; stdin; --pub -
run 0 "seal yaml" -- "$SEALGATE" seal --pub k1/sealgate.pub -f yml.yaml
cp "$T/.out" yml.sealed.yaml
expect_contains "$(head -1 yml.sealed.yaml)" "apiVersion: v1" "yaml output"
expect_contains "$out" 'sealgate.io/sealed: "true"' "yaml label is a quoted string"
run 0 "seal stdin -o json" -- bash -c "\"$SEALGATE\" seal --pub k1/sealgate.pub -o json <yml.yaml"
expect_eq "$(jq -r .kind "$T/.out")" Secret "json output from stdin"
run 0 "seal --pub -" -- bash -c "\"$SEALGATE\" seal --pub - -f yml.yaml <k1/sealgate.pub"
run 2 "--pub - with stdin input" -- "$SEALGATE" seal --pub - -f -
run_unseal 0 "unseal yaml" -- "$SEALGATE" unseal --key k1/sealgate.key -f yml.sealed.yaml -o json
expect_eq "$(jq -r .data.password "$T/.out")" "$PLAIN_B64" "yaml round trip"

# --- scopes and moves ----------------------------------------------------------------
for scope in strict namespace cluster; do
    run 0 "seal scope $scope" -- "$SEALGATE" seal --pub k1/sealgate.pub --scope $scope \
        -f generic.json
    cp "$T/.out" s-$scope.json
    expect_eq "$(jq -r '.metadata.annotations["sealgate.io/scope"]' s-$scope.json)" $scope \
        "annotation for $scope"
    jq '.metadata.namespace = "other"' s-$scope.json >moved-ns.json
    jq '.metadata.name = "other"' s-$scope.json >moved-name.json
    # an item renamed, digest left stale: refused by the digest in every scope
    jq '.stringData.pw2 = .stringData.password | del(.stringData.password)' s-$scope.json \
        >moved-item.json
    want_ns=1 want_name=1
    [ $scope = cluster ] && want_ns=0
    [ $scope != strict ] && want_name=0
    run_unseal $want_ns "$scope moved to another namespace" -- \
        "$SEALGATE" unseal --key k1/sealgate.key -f moved-ns.json
    [ $want_ns = 1 ] && expect_contains "$err" "sealed for scope $scope and another namespace" \
        "$scope namespace move message"
    run_unseal $want_name "$scope renamed" -- "$SEALGATE" unseal --key k1/sealgate.key \
        -f moved-name.json
    [ $want_name = 1 ] && expect_contains "$err" "another name" "$scope rename message"
    run_unseal 1 "$scope item renamed (stale digest)" -- \
        "$SEALGATE" unseal --key k1/sealgate.key -f moved-item.json
    expect_contains "$err" "sealed-digest does not match" "$scope stale digest message"
done
# an item moved with the digest refreshed (via --merge-into's recomputation is not possible
# for a moved value, so recompute by re-sealing nothing: copy the value within strict scope
# by --raw to the wrong item and merge the result by hand)
run 0 "raw strict" -- bash -c "printf %s '$PLAIN' | \"$SEALGATE\" seal --pub k1/sealgate.pub \
    --raw --namespace prod --name app --key password"
raw=$(cat "$T/.out")
expect_contains "$raw" "sg1:" "raw sealed string"
run_unseal 0 "unseal raw in place" -- bash -c "printf %s '$raw' | \"$SEALGATE\" unseal --raw \
    --key k1/sealgate.key --namespace prod --name app --item password"
expect_eq "$out" "$PLAIN" "raw round trip"
run_unseal 1 "unseal raw at another item" -- bash -c "printf %s '$raw' | \"$SEALGATE\" unseal \
    --raw --key k1/sealgate.key --namespace prod --name app --item token"
expect_contains "$err" "sealed for scope strict and another item" "raw wrong item"
run 2 "raw strict without --key" -- bash -c "printf x | \"$SEALGATE\" seal \
    --pub k1/sealgate.pub --raw --namespace prod --name app"

# --- raw values stream: a file and a pipe give values that unseal to the same bytes, at
# sizes around the 12 KiB pieces and 64 KiB reads; limits; nothing unauthenticated is written
RAWP=(--namespace prod --name app)
for n in 0 1 12287 12288 65537 1048576 1572774; do   # the last: the largest value sealed
    head -c "$n" /dev/urandom >raw.$n
    run 0 "raw seal of $n bytes from a file" -- "$SEALGATE" seal --pub k1/sealgate.pub --raw "${RAWP[@]}" --key blob -f raw.$n
    cp "$T/.out" raw.$n.sg
    run 0 "raw seal of $n bytes from a pipe" -- bash -c "cat raw.$n | \"$SEALGATE\" seal --pub k1/sealgate.pub --raw --namespace prod --name app --key blob"
    cp "$T/.out" raw.$n.pipe.sg
    expect_eq "$(wc -l <raw.$n.sg) $(head -c 4 raw.$n.sg)" "1 sg1:" "raw $n: one line, sg1:"
    for src in raw.$n.sg raw.$n.pipe.sg; do
        "$SEALGATE" unseal --raw --key k1/sealgate.key "${RAWP[@]}" --item blob -f "$src" >raw.back 2>"$T/.err"
        expect_eq "$(cmp raw.back raw.$n && echo same)" "same" "raw $n round trip ($src)"
        "$SEALGATE" unseal --raw --key k1/sealgate.key "${RAWP[@]}" --item blob -f - <"$src" >raw.back 2>"$T/.err"
        expect_eq "$(cmp raw.back raw.$n && echo same)" "same" "raw $n round trip from stdin ($src)"
    done
done
# A byte changed near the end of a 1 MiB value: refused, and not one byte of plaintext out.
v=$(cat raw.1048576.sg)
pos=$((${#v} - 40))
printf '%s%s%s\n' "${v:0:pos}" "$([ "${v:pos:1}" = A ] && echo B || echo A)" "${v:pos+1}" >raw.bad.sg
run_unseal 1 "raw tampered 1 MiB" -- "$SEALGATE" unseal --raw --key k1/sealgate.key "${RAWP[@]}" --item blob -f raw.bad.sg
expect_eq "$(wc -c <"$T/.out")" "0" "raw tampered: nothing written"
expect_contains "$err" "does not authenticate" "raw tampered message"
head -c 1572775 /dev/zero >raw.over
run 2 "raw over the limit from a file" -- "$SEALGATE" seal --pub k1/sealgate.pub --raw "${RAWP[@]}" --key blob -f raw.over
expect_eq "$(wc -c <"$T/.out")" "0" "raw over the limit: refused before any output"
expect_contains "$err" "over" "raw over the limit message"
run 2 "raw over the limit from a pipe" -- bash -c "cat raw.over | \"$SEALGATE\" seal --pub k1/sealgate.pub --raw --namespace prod --name app --key blob"
expect_contains "$err" "over the sealed-value limit" "raw pipe over the limit message"
run 2 "raw input is a folder" -- "$SEALGATE" seal --pub k1/sealgate.pub --raw "${RAWP[@]}" --key blob -f k1
expect_contains "$err" "is a folder" "raw folder message"

# --- missing namespace ---------------------------------------------------------------
kubectl create secret generic nons --from-literal=password="$PLAIN" --dry-run=client -o json \
    >nons.json
run 2 "no namespace, strict" -- "$SEALGATE" seal --pub k1/sealgate.pub -f nons.json
expect_contains "$err" "no namespace" "missing namespace message"
run 0 "no namespace, --namespace" -- "$SEALGATE" seal --pub k1/sealgate.pub -f nons.json \
    --namespace dev
expect_eq "$(jq -r .metadata.namespace "$T/.out")" dev "namespace set from --namespace"
run 0 "no namespace, cluster scope" -- "$SEALGATE" seal --pub k1/sealgate.pub -f nons.json \
    --scope cluster
run 2 "--namespace disagrees" -- "$SEALGATE" seal --pub k1/sealgate.pub -f generic.json \
    --namespace dev

# --- tampering, truncation, garbage, wrong key ----------------------------------------
v=$(jq -r .stringData.password generic.sealed.json)
flipped=${v:0:50}$( [ "${v:50:1}" = A ] && echo B || echo A )${v:51}
jq --arg v "$flipped" '.stringData.password = $v' generic.sealed.json >t1.json
run_unseal 1 "flipped char, stale digest" -- "$SEALGATE" unseal --key k1/sealgate.key -f t1.json
expect_contains "$err" "does not match" "digest catches the flip"

jq 'del(.metadata.annotations["sealgate.io/sealed-digest"])' t1.json >t2.json
run_unseal 1 "flipped char, no digest" -- "$SEALGATE" unseal --key k1/sealgate.key -f t2.json
expect_contains "$err" "item 'password': sealed value does not authenticate" "tamper message"
jq --arg v "${v:0:60}" 'del(.metadata.annotations["sealgate.io/sealed-digest"])
    | .stringData.password = $v' generic.sealed.json >t3.json
run_unseal 1 "truncated" -- "$SEALGATE" unseal --key k1/sealgate.key -f t3.json
expect_contains "$err" "item 'password': sealed value is truncated" "truncated message"
jq 'del(.metadata.annotations["sealgate.io/sealed-digest"]) | .stringData.password = "sg1:@@"' \
    generic.sealed.json >t4.json
run_unseal 1 "garbage" -- "$SEALGATE" unseal --key k1/sealgate.key -f t4.json
expect_contains "$err" "not base64url" "garbage message"
run_unseal 1 "wrong key" -- "$SEALGATE" unseal --key k2/sealgate.key -f generic.sealed.json
expect_contains "$err" "key id $kid1" "unknown key id named"
run 2 "public key as private" -- "$SEALGATE" unseal --key k1/sealgate.pub -f generic.sealed.json
expect_contains "$err" "public key where a private key is needed" "key kind message"
printf 'not: [valid' >broken.yaml
run 2 "broken yaml" -- "$SEALGATE" seal --pub k1/sealgate.pub -f broken.yaml
expect_contains "$err" "broken.yaml:" "yaml error names the file"
run 2 "sealing twice" -- "$SEALGATE" seal --pub k1/sealgate.pub -f generic.sealed.json
expect_contains "$err" "already sealed" "sealing twice message"

# --- rotation: seal with k1, add k2, reseal, unseal -----------------------------------
run 0 "reseal to k2" -- "$SEALGATE" reseal --key k1/sealgate.key --pub k2/sealgate.pub \
    -f generic.sealed.json
cp "$T/.out" generic.k2.json
expect_eq "$(jq -S 'del(.stringData, .metadata.annotations["sealgate.io/sealed-digest"])' \
    generic.k2.json)" "$(jq -S 'del(.stringData, .metadata.annotations["sealgate.io/sealed-digest"])' \
    generic.sealed.json)" "reseal keeps the rest"
run_unseal 1 "old key alone cannot unseal the resealed" -- \
    "$SEALGATE" unseal --key k1/sealgate.key -f generic.k2.json
expect_contains "$err" "key id $kid2" "resealed names k2"
run_unseal 0 "new key unseals" -- "$SEALGATE" unseal --key k2/sealgate.key -f generic.k2.json
expect_eq "$(data_of "$T/.out")" "$(data_of generic.json)" "rotation round trip"
run_unseal 0 "both keys, old file" -- "$SEALGATE" unseal --key k2/sealgate.key \
    --key k1/sealgate.key -f generic.sealed.json
run_unseal 0 "both keys, new file" -- "$SEALGATE" unseal --key k2/sealgate.key \
    --key k1/sealgate.key -f generic.k2.json
run_unseal 0 "--key A B form" -- "$SEALGATE" unseal --key k2/sealgate.key k1/sealgate.key \
    -f generic.sealed.json
expect_eq "$(data_of "$T/.out")" "$(data_of generic.json)" "two keys after one --key"

# --- merge-into -------------------------------------------------------------------------
cp yml.sealed.yaml merged.yaml
kubectl create secret generic x --from-literal=token="tok-$PLAIN" --from-literal=password=new \
    --dry-run=client -o yaml >add.yaml
run 0 "merge-into" -- "$SEALGATE" seal --pub k1/sealgate.pub -f add.yaml --merge-into merged.yaml
expect_contains "$(head -1 merged.yaml)" "apiVersion" "merged file stays YAML"
cat merged.yaml >>"$LOG"
run_unseal 0 "unseal merged" -- "$SEALGATE" unseal --key k1/sealgate.key -f merged.yaml -o json
expect_eq "$(jq -r .data.token "$T/.out" | base64 -d)" "tok-$PLAIN" "merged item"
expect_eq "$(jq -r .data.password "$T/.out" | base64 -d)" "new" "replaced item"
expect_eq "$(jq -r .metadata.name "$T/.out")" ymlsecret "merge keeps the target's name"

# --- no plaintext anywhere but unseal's stdout ----------------------------------------
if grep -a -q -e "$PLAIN" -e "$PLAIN_B64" "$LOG"; then
    fail "plaintext found in CLI output or errors: $(grep -a -n -e "$PLAIN" -e "$PLAIN_B64" "$LOG" | head -3)"
else
    pass
fi
expect_contains "$(cat "$LOG")" "sealgate" "the log holds the outputs"
finish
