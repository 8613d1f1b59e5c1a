# audit.sh: `sealgate audit` over kubectl-shaped Lists (live.py) against fixture.sh's repo:
# the apiserver's additions are no drift, exactly the planted drift is reported (text and
# JSON), sealed Secrets are compared unsealed with --key and skipped without, --ignore,
# folders and stdin as input, policy findings, and the failure exits.
source "$SEALGATE_SOURCE_DIR/tests/lib.sh"
HERE=$SEALGATE_SOURCE_DIR/tests/gate
source "$HERE/fixture.sh"

python3 "$HERE/live.py" "$R" "$T/db-plain.yaml" "$T"
audit() { "$SEALGATE" audit --repo "$R" "${TRUST[@]}" --rules "$T/norules" --paths apps "$@"; }
short=$(git -C "$R" rev-parse --short=7 HEAD)
at="at $short (signed by Bob <bob@example.com>)"
B64=$(printf 'hunter2-s3cr3t' | base64)

# ---- a cluster that runs exactly the commit --------------------------------------------------
expect_exit 0 "clean cluster" -- audit --key "$T/keys/sealgate.key" -f "$T/clean.json"
expect_eq "$(wc -l <<<"$out")" "1" "clean: only the summary line"
expect_contains "$out" "14 objects: 9 match, 0 differ, 0 not in git, 0 missing, 5 unmanaged, 0 skipped, 0 errors" "clean summary"
expect_exit 0 "clean cluster -v" -- audit --key "$T/keys/sealgate.key" -f "$T/clean.json" -v
expect_contains "$out" "match       Secret 'db' in namespace 'shop'" "sealed Secret matches after unsealing"
expect_contains "$out" "match       Namespace 'shop'" "Namespace with finalizers and status matches"
expect_contains "$out" "unmanaged   apps/ReplicaSet 'web-7c5ddbdf54' in namespace 'shop'" "controller-owned ReplicaSet unmanaged"
expect_contains "$out" "unmanaged   ConfigMap 'kube-root-ca.crt' in namespace 'shop'" "kube-root-ca.crt unmanaged"
expect_contains "$out" "unmanaged   apps/Deployment 'coredns' in namespace 'kube-system'" "other namespaces unmanaged"
# Without keys the sealed Secret is skipped, not called drift.
expect_exit 0 "clean cluster without --key" -- audit -f "$T/clean.json"
expect_contains "$out" "skipped     Secret 'db' in namespace 'shop': sealed in git; compared only with --key" "Secret skipped without keys"

# ---- exactly the planted drift ------------------------------------------------------------
expect_exit 1 "drifted cluster" -- audit --key "$T/keys/sealgate.key" -f "$T/drift.json"
want="differs     apps/Deployment 'web' in namespace 'shop': spec.template.spec.containers[name=nginx].image is \"nginx:1.26.0\" but \"nginx:1.25.3\" $at
not-in-git  ConfigMap 'debug' in namespace 'shop' is not declared in git $at, which manages namespace 'shop'
missing     Service 'api' in namespace 'shop' is declared in git ('apps/api.yaml') at $short but not in the cluster"
expect_eq "$(grep -v '^audit of commit' <<<"$out")" "$want" "exactly the planted drift, text"
expect_contains "$out" "15 objects: 7 match, 1 differ, 1 not in git, 1 missing, 5 unmanaged, 0 skipped" "drift summary"
expect_exit 1 "drifted cluster, json" -- audit --key "$T/keys/sealgate.key" -f "$T/drift.json" -o json
expect_eq "$(jq -c '[.objects[] | select(.provenance != "match" and .provenance != "unmanaged") | [.provenance, .kind, .name, .field]]' <<<"$out")" \
    '[["differs","Deployment","web","spec.template.spec.containers[name=nginx].image"],["not-in-git","ConfigMap","debug",null],["missing","Service","api",null]]' \
    "exactly the planted drift, json"
expect_eq "$(jq -c '.summary | [.differs, .notInGit, .missing, .match]' <<<"$out")" "[1,1,1,7]" "json summary"
expect_eq "$(jq -r .commit <<<"$out")" "$(git -C "$R" rev-parse HEAD)" "json names the commit"

# ---- input shapes: a folder of Lists, stdin -------------------------------------------------
mkdir "$T/split"
jq '{apiVersion, kind, items: .items[:7]}' "$T/drift.json" >"$T/split/a.json"
jq '{apiVersion, kind, items: .items[7:]}' "$T/drift.json" >"$T/split/b.json"
expect_exit 1 "folder of Lists" -- audit --key "$T/keys/sealgate.key" -f "$T/split"
expect_eq "$(grep -v '^audit of commit' <<<"$out")" "$want" "folder: the same drift"
rc=0
out=$(audit --key "$T/keys/sealgate.key" -f - <"$T/drift.json" 2>/dev/null) || rc=$?
expect_eq "$rc" "1" "stdin: exit 1"
expect_eq "$(grep -v '^audit of commit' <<<"$out")" "$want" "stdin: the same drift"

# ---- Secrets: a changed value is drift, and never shown --------------------------------------
jq --arg v "$(printf 'changed' | base64)" '(.items[] | select(.kind == "Secret") | .data.password) = $v' "$T/clean.json" >"$T/secret.json"
expect_exit 1 "changed Secret value" -- audit --key "$T/keys/sealgate.key" -f "$T/secret.json" -o json
expect_eq "$(jq -r '.objects[] | select(.kind == "Secret") | .provenance' <<<"$out")" "differs" "changed Secret value differs"
expect_contains "$(jq -r '.objects[] | select(.kind == "Secret") | .message' <<<"$out")" "data.password differs from git (values not shown)" "Secret message hides values"
expect_not_contains "$out" "$B64" "no plaintext in the report"
expect_not_contains "$out" "$(printf 'changed' | base64)" "no live Secret value in the report"
expect_exit 2 "wrong key for git's sealed Secret" -- audit --key "$T/other/sealgate.key" -f "$T/clean.json"
expect_contains "$out" "error       Secret 'db' in namespace 'shop'" "unseal failure reported on the object"
expect_not_contains "$out$err" "hunter2" "no plaintext on a failed unseal"

# ---- ignore paths: an autoscaler's replicas -------------------------------------------------
jq '(.items[] | select(.kind == "Deployment" and .metadata.name == "api") | .spec.replicas) = 5' "$T/clean.json" >"$T/scaled.json"
expect_exit 1 "scaled Deployment" -- audit --key "$T/keys/sealgate.key" -f "$T/scaled.json"
expect_contains "$out" "spec.replicas is 5 but 1" "replicas drift"
expect_exit 0 "--ignore Deployment:spec.replicas" -- audit --key "$T/keys/sealgate.key" -f "$T/scaled.json" --ignore Deployment:spec.replicas
expect_exit 0 "--ignore *:spec.replicas" -- audit --key "$T/keys/sealgate.key" -f "$T/scaled.json" --ignore '*:spec.replicas'
expect_exit 1 "--ignore for another kind" -- audit --key "$T/keys/sealgate.key" -f "$T/scaled.json" --ignore StatefulSet:spec.replicas

# ---- kinds the input does not hold are not called missing ------------------------------------
jq '{apiVersion, kind, items: [.items[] | select(.kind != "ConfigMap")]}' "$T/clean.json" >"$T/noconfigmaps.json"
expect_exit 0 "no ConfigMaps fetched" -- audit --key "$T/keys/sealgate.key" -f "$T/noconfigmaps.json"
expect_contains "$out" "not compared: git declares ConfigMap but the input holds none" "unfetched kinds named"

# ---- policy findings on live objects --------------------------------------------------------
mkdir -p "$T/rules/live"
cat >"$T/rules/live/images.rules" <<'RULES'
rule pinned "nginx images are pinned to 1.25.3"
  match kind Pod
  deny when some c in pod.allContainers: startsWith(c.image, "nginx") and c.image != "nginx:1.25.3"
  message "container {c.name} runs {c.image}"
RULES
polaudit() { "$SEALGATE" audit --repo "$R" "${TRUST[@]}" --rules "$T/rules" --paths apps --key "$T/keys/sealgate.key" "$@"; }
expect_exit 0 "rules pass on the clean cluster" -- polaudit -f "$T/clean.json"
expect_exit 1 "policy denial on the drifted cluster" -- polaudit -f "$T/drift.json" -o json
expect_eq "$(jq -c '[.objects[] | select(.findings != []) | [.name, .findings[0].rule, .findings[0].action]]' <<<"$out")" \
    '[["web","live/pinned","deny"]]' "denial: the drifted Deployment only (its old ReplicaSet runs 1.25.3)"
expect_exit 1 "policy text" -- polaudit -f "$T/drift.json"
expect_contains "$out" "deny        apps/Deployment 'web' in namespace 'shop' [live/pinned]: container nginx runs nginx:1.26.0" "denial line"

# ---- the bundled secrets pack on live Secrets ----------------------------------------------
# A live sealed Secret holds the plaintext /mutate put there: audit judges it as /validate
# would (an UPDATE by sealgate:audit), so secrets/values-sealed, which is about git, does not
# apply; a live Secret that still holds sealed values (/mutate did not run) is still-sealed.
secaudit() { "$SEALGATE" audit --repo "$R" "${TRUST[@]}" --rules "$SEALGATE_SOURCE_DIR/rules/secrets" --paths apps --key "$T/keys/sealgate.key" "$@"; }
expect_exit 0 "secrets pack: the live unsealed Secret passes" -- secaudit -f "$T/clean.json" -o json
expect_eq "$(jq -c '[.objects[] | select(.findings != []) | .name]' <<<"$out")" '[]' "secrets pack: no findings on the clean cluster"
expect_eq "$(jq -r '.objects[] | select(.kind == "Secret") | .provenance' <<<"$out")" "match" "secrets pack: the live Secret still matches git"
# The same Secret as check sees a manifest (plaintext in git under the sealed label) is refused.
jq '.items[] | select(.kind == "Secret")' "$T/clean.json" >"$T/live-secret.json"
expect_exit 1 "check: the live Secret as a git manifest" -- "$SEALGATE" check --rules "$SEALGATE_SOURCE_DIR/rules/secrets" "$T/live-secret.json"
expect_contains "$out" "secrets/values-sealed" "check: values-sealed for plaintext in git"
# /mutate did not run: the cluster holds base64 of the sealed strings.
sealed_pw=$(python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["stringData"]["password"])' "$R/apps/db.yaml")
jq --arg v "$(printf '%s' "$sealed_pw" | base64 -w0)" '(.items[] | select(.kind == "Secret") | .data.password) = $v' "$T/clean.json" >"$T/still-sealed.json"
expect_exit 1 "secrets pack: a live Secret still sealed" -- secaudit -f "$T/still-sealed.json" -o json
expect_eq "$(jq -c '[.objects[] | select(.findings != []) | [.name, .findings[].rule]]' <<<"$out")" '[["db","secrets/still-sealed"]]' "secrets pack: still-sealed, nothing else"
expect_not_contains "$out" "hunter2" "secrets pack: no plaintext in the report"

# ---- failures -------------------------------------------------------------------------------
expect_exit 2 "no -f" -- audit
expect_contains "$err" "-f LIST.json|DIR|- is required" "no -f named"
printf '{"apiVersion": "v1", "kind": "List", "items": [\n  {"kind": }\n]}\n' >"$T/bad.json"
expect_exit 2 "malformed JSON input" -- audit -f "$T/bad.json"
expect_contains "$err" "bad.json:2:" "malformed input names file:line"
expect_eq "$out" "" "malformed input: no report"
expect_exit 2 "missing input" -- audit -f "$T/nope.json"
expect_exit 2 "bad --ignore" -- audit -f "$T/clean.json" --ignore nocolon
expect_exit 2 "bad -o" -- audit -f "$T/clean.json" -o yaml
echo "# unsigned" >>"$R/apps/settings.yaml" && git -C "$R" add -A && commit_plain "unsigned"
expect_exit 1 "unsigned head" -- audit --key "$T/keys/sealgate.key" -f "$T/clean.json"
expect_contains "$err" "unsigned" "unsigned named"
expect_eq "$out" "" "unsigned: no report"
finish
