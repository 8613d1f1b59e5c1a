# server_keys_prov.sh: provenance follows a sealing key reload. The demo's signed commit holds a
# sealed Secret; /validate compares the live (unsealed) Secret with git's values unsealed by the
# keys in force. With the demo key swapped out of the key folder the comparison cannot unseal
# git's values and the Secret is not admitted; with it back, it is, without a restart.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/admission/server_lib.sh"

demo_reviews
"$SEALGATE" keygen --out "$T/other" >/dev/null 2>&1
mkdir -m 700 "$T/keys"
cp "$DEMO_SEALING_KEY" "$T/keys/demo.key"

demo_config "$T/config.yaml" "s|^  keys: .*|  keys: [$T/keys]|"
expect_contains "$(cat "$T/config.yaml")" "keys: [$T/keys]" "the config names the key folder"
start_server "$T/config.yaml" "$T/server.log"
wait_readyz '"status": "ready"' 100

# The Secret as it lands in the cluster: /mutate's patch applied to the sealed one.
post /mutate "$T/mutate.json"
expect_eq "$(jget "$body" 'd["response"]["allowed"]')" "True" "/mutate unseals the demo Secret"
printf '%s' "$body" >"$T/answer.json"
"$PY" - "$T/mutate.json" "$T/answer.json" >"$T/plain.json" <<'PY'
import base64, json, sys
obj = json.load(open(sys.argv[1]))["request"]["object"]
for op in json.loads(base64.b64decode(json.load(open(sys.argv[2]))["response"]["patch"])):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    target = obj
    for p in parts[:-1]:
        target = target[p]
    target[parts[-1]] = op["value"]
print(json.dumps(obj))
PY
"${CLIENT[@]}" review "$T/plain.json" CREATE >"$T/r-plain.json"
post /validate "$T/r-plain.json"
expect_eq "$code/$(jget "$body" 'd["response"]["allowed"]')" "200/True" "the unsealed Secret matches git's sealed one"

# The demo key swapped for another one: git's values no longer unseal for the comparison.
put "$T/other/sealgate.key" "$T/keys/other.key"
rm "$T/keys/demo.key"
other=$(sed -n 's/.*key id \([0-9a-f]*\).*/\1/p' "$T/other/sealgate.pub")
for i in $(seq 1 100); do # the two file changes may land in one reload or two
    [ "$(jget "$(curl -s --cacert "$CA" "$URL/readyz")" 'd["sealing"]["keyIds"]')" == "['$other']" ] && break
    sleep 0.1
done
expect_eq "$(metric sealgate_sealing_keys_loaded)" "1" "one key in force, the other one"
post /validate "$T/r-plain.json"
# A provenance denial (not a server error): the object cannot be shown to match git.
expect_eq "$code/$(jget "$body" 'd["response"]["allowed"]')" "200/False" "without the demo key the Secret is denied"
expect_eq "$(jget "$body" 'd["response"]["status"]["code"]')" "403" "with 403"
expect_contains "$body" "sealgate/provenance: " "by provenance"
expect_contains "$body" "cannot be compared with git at " "saying the object cannot be compared"
expect_contains "$body" "sealed to key id" "because git's value is sealed to a key not loaded"

# The demo key back: provenance unseals with the reloaded keyring.
put "$DEMO_SEALING_KEY" "$T/keys/demo.key"
before=$(metric sealgate_sealing_keys_reloads_total)
wait_metric sealgate_sealing_keys_reloads_total $((before + 1))
post /validate "$T/r-plain.json"
expect_eq "$code/$(jget "$body" 'd["response"]["allowed"]')" "200/True" "with the key back the Secret is admitted again"

stop_server
expect_eq "$SERVER_RC" "0" "SIGTERM: exit 0"
password=$(jget "$(cat "$T/plain.json")" '__import__("base64").b64decode(d["data"]["password"]).decode()')
expect_contains "$password" "demo-" "the demo password is there to look for"
expect_not_contains "$(cat "$T/server.log")" "$password" "the plaintext is never logged"
finish
