# server_mutate.sh: /mutate with real sealing keys through the real server, on the newcomer's
# demo (scripts/demo-repo, scripts/demo-reviews as scripts/run uses them): the sealed Secret
# of the signed commit arrives as the apiserver folds it, the answer's JSONPatch applied to it
# gives exactly the plaintext `sealgate unseal` gives, and a value moved to another Secret is
# denied, naming the item, never passed through.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

demo_reviews
expect_exit 0 "the demo's reviews are valid AdmissionReviews" -- test -s "$T/mutate.json"

demo_config "$T/config.yaml"
start_server "$T/config.yaml" "$T/server.log"
wait_readyz '"status": "ready"' 100

post /mutate "$T/mutate.json"
expect_eq "$code" "200" "/mutate: status"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "True" "the sealed Secret is allowed"
expect_eq "$(jget "$body" 'd["response"]["patchType"]')" "JSONPatch" "with a JSONPatch"
printf '%s' "$body" >"$T/answer.json"
expect_exit 0 "the answer is valid" -- "${CLIENT[@]}" check "$T/mutate.json" "$T/answer.json" --mutate

# Apply the patch (replace/add on /data/KEY) and compare with what `unseal` gives.
"$PY" - "$T/mutate.json" "$T/answer.json" >"$T/patched.json" <<'PY'
import base64, json, sys
obj = json.load(open(sys.argv[1]))["request"]["object"]
patch = json.loads(base64.b64decode(json.load(open(sys.argv[2]))["response"]["patch"]))
for op in patch:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    target = obj
    for p in parts[:-1]:
        target = target[p]
    if op["op"] in ("add", "replace"):
        target[parts[-1]] = op["value"]
    elif op["op"] == "remove":
        del target[parts[-1]]
print(json.dumps({k: base64.b64decode(v).decode() for k, v in obj["data"].items()}, sort_keys=True))
PY
"$SEALGATE" unseal --key "$DEMO_SEALING_KEY" -f "$DEMO_REPO/clusters/demo/db-secret.yaml" -o json \
    >"$T/unsealed.json"
want=$("$PY" -c 'import base64,json,sys; o=json.load(open(sys.argv[1])); d=dict((k, base64.b64decode(v).decode()) for k, v in o.get("data", {}).items()); d.update(o.get("stringData", {})); print(json.dumps(d, sort_keys=True))' "$T/unsealed.json")
expect_eq "$(cat "$T/patched.json")" "$want" "the patched Secret holds exactly the unsealed values"
expect_contains "$want" '"password": "demo-' "the demo password is there to compare"
password=$(jget "$want" 'd["password"]')
expect_not_contains "$(cat "$T/server.log")" "$password" "the plaintext is never logged"

# The same sealed values under another Secret's name: strict scope refuses them.
"$PY" - "$T/mutate.json" >"$T/moved.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["request"]["name"] = r["request"]["object"]["metadata"]["name"] = "db-copy"
print(json.dumps(r))
PY
post /mutate "$T/moved.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "False" "a sealed value moved to another Secret is denied"
expect_not_contains "$body" '"patch"' "and nothing is patched"
expect_contains "$body" "password" "the denial names the item"
stop_server
finish
