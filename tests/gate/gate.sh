# gate.sh: `sealgate gate` over a real config repo: output equals the committed manifests with
# Secrets unsealed (YAML and JSON, SSH- and gpg-signed commits), the work tree never leaks in,
# every failure leaves stdout empty with the right exit code, --out writes 0600 Secrets, and
# plaintext never reaches a terminal or stderr.
source "$SEALGATE_SOURCE_DIR/tests/lib.sh"
HERE=$SEALGATE_SOURCE_DIR/tests/gate
source "$HERE/fixture.sh"

gate() { "$SEALGATE" gate --repo "$R" "${TRUST[@]}" --rules "$T/norules" "$@"; }
# Normal form: a JSON array sorted by kind, namespace, name, keys sorted (jq -S).
SORT='sort_by(.kind, (.metadata.namespace // ""), .metadata.name)'
expected() { python3 "$HERE/expected.py" "$R" "$1" "$T/db-plain.yaml" "${@:2}" | jq -S "$SORT"; }
normal() { jq -S ".items | $SORT"; }      # a JSON List
normal_yaml() { python3 "$HERE/normal.py" | jq -S "$SORT"; }
# Python starts slowly on a busy machine: compute each expectation once.
E2=$(expected "$C2" apps)
E2ALL=$(expected "$C2" apps other)
E1=$(expected "$C1" apps)
B64=$(printf 'hunter2-s3cr3t' | base64)
# expect_refused CODE WHAT -- CMD...: exit CODE, nothing on stdout, no plaintext on stderr.
expect_refused() {
    expect_exit "$@"
    expect_eq "$out" "" "$2: stdout is empty"
    expect_not_contains "$err" "hunter2" "$2: no plaintext on stderr"
    expect_not_contains "$err" "$B64" "$2: no base64 plaintext on stderr"
}

# ---- output equals the commit, Secrets unsealed ---------------------------------------------
expect_exit 0 "gate HEAD json" -- gate --key "$T/keys/sealgate.key" --paths apps -o json
expect_eq "$(normal <<<"$out")" "$E2" "json output equals the commit (gpg-signed)"
expect_contains "$err" "signed by Bob <bob@example.com>" "summary names the gpg signer"
expect_eq "$(jq -r .kind <<<"$out")" "List" "-o json writes a v1 List"
expect_exit 0 "gate HEAD yaml" -- gate --key "$T/keys/sealgate.key" --paths apps
expect_eq "$(normal_yaml <<<"$out")" "$E2" "yaml output equals the commit"
expect_contains "$out" "password: $B64" "Secret value unsealed (base64 under data)"
expect_not_contains "$out" "sg1:" "no sealed value left in the output"
expect_not_contains "$out" "sealgate.io/sealed" "sealing label and annotations removed"
expect_not_contains "$out" "replicaCount" "non-Kubernetes YAML skipped"
expect_not_contains "$out" "elsewhere" "--paths limits the folders"
# Install order: the Namespace first, Secrets and ConfigMaps before Deployments.
expect_eq "$(jq -r '.items[0].kind' <<<"$(gate --key "$T/keys/sealgate.key" -o json 2>/dev/null)")" "Namespace" "Namespace comes first"
kinds=$(gate --key "$T/keys/sealgate.key" --paths apps -o json 2>/dev/null | jq -r '[.items[].kind] | join(",")')
expect_eq "$kinds" "Namespace,Secret,ConfigMap,ConfigMap,ConfigMap,Service,Service,Deployment,Deployment" "install order"
# Without --paths: the whole tree.
expect_exit 0 "gate whole tree" -- gate --key "$T/keys/sealgate.key" -o json
expect_eq "$(normal <<<"$out")" "$E2ALL" "whole tree equals the commit"
# The SSH-signed first commit, by --rev, with only the SSH trust file.
expect_exit 0 "gate --rev C1 ssh" -- "$SEALGATE" gate --repo "$R" --rev "$C1" --trust "$T/allowed" --rules "$T/norules" --key "$T/keys/sealgate.key" --paths apps -o json
expect_eq "$(normal <<<"$out")" "$E1" "ssh-signed commit equals its tree"
expect_not_contains "$out" '"name": "late"' "C1 does not hold C2's file"
expect_exit 0 "gate --since C1" -- gate --since "$C1" --key "$T/keys/sealgate.key" --paths apps -o json

# ---- the work tree never leaks in -----------------------------------------------------------
sed -i 's/nginx:1.25.3/nginx:evil/' "$R/apps/web.yaml"
kc configmap uncommitted --from-literal=a=b -n shop >"$R/apps/uncommitted.yaml"
kc configmap staged --from-literal=a=b -n shop >"$R/apps/staged.yaml"
git -C "$R" add apps/staged.yaml
expect_exit 0 "gate with a dirty work tree" -- gate --key "$T/keys/sealgate.key" --paths apps -o json
expect_eq "$(normal <<<"$out")" "$E2" "dirty work tree: output is still the commit"
expect_not_contains "$out" "evil" "edited file not read"
expect_not_contains "$out" "uncommitted" "untracked file not read"
expect_not_contains "$out" "staged" "staged file not read"
git -C "$R" reset -q --hard && git -C "$R" clean -qfd

# ---- --out: one file per object, Secrets 0600 -----------------------------------------------
expect_exit 0 "gate --out" -- gate --key "$T/keys/sealgate.key" --paths apps --out "$T/out"
expect_eq "$out" "" "--out: nothing on stdout"
expect_eq "$(ls "$T/out" | wc -l)" "9" "--out: nine files"
sec=$(ls "$T/out" | grep -- '-secret-shop-db.yaml')
expect_eq "$(stat -c %a "$T/out/$sec")" "600" "--out: the Secret file is 0600"
expect_eq "$(stat -c %a "$T/out/$(ls "$T/out" | grep -- '-deployment-shop-web.yaml')")" "644" "--out: others 0644"
expect_eq "$(ls "$T/out" | head -1)" "0000-namespace-shop.yaml" "--out: numbered in install order"
expect_eq "$(for f in "$T/out"/*.yaml; do echo ---; cat "$f"; done | normal_yaml)" "$E2" "--out files equal the commit"
expect_refused 2 "--out into a non-empty folder" -- gate --key "$T/keys/sealgate.key" --out "$T/out"
mkdir -p "$T/out-j"
expect_exit 0 "gate --out -o json" -- gate --key "$T/keys/sealgate.key" --paths apps -o json --out "$T/out-j"
expect_eq "$(jq -r .kind "$T/out-j"/*-secret-shop-db.json)" "Secret" "--out -o json writes JSON files"

# ---- plaintext never to a terminal ----------------------------------------------------------
script -qec "$SEALGATE gate --repo $R --trust $T/allowed $T/bob.asc --rules $T/norules --key $T/keys/sealgate.key --paths apps; echo rc=\$?" /dev/null >"$T/tty.out" 2>&1 || true
tty_out=$(cat "$T/tty.out")
expect_contains "$tty_out" "refusing to write plaintext Secrets to a terminal" "terminal refused"
expect_contains "$tty_out" "rc=2" "terminal refusal exits 2"
expect_not_contains "$tty_out" "$B64" "terminal got no plaintext"
script -qec "$SEALGATE gate --repo $R --trust $T/allowed $T/bob.asc --rules $T/norules --key $T/keys/sealgate.key --paths apps --force; echo rc=\$?" /dev/null >"$T/tty.out" 2>&1 || true
tty_out=$(cat "$T/tty.out")
expect_contains "$tty_out" "rc=0" "--force writes to a terminal"
expect_contains "$tty_out" "kind: Deployment" "--force output on the terminal"

# ---- failures: stdout empty, exit codes ----------------------------------------------------
expect_refused 2 "sealed Secret without --key" -- gate --paths apps
expect_contains "$err" "Secret 'db' (apps/db.yaml) is sealed: pass --key" "no --key named"
expect_refused 1 "wrong key for the sealed values" -- gate --key "$T/other/sealgate.key" --paths apps
expect_contains "$err" "Secret 'db' (apps/db.yaml)" "wrong key names the Secret"
expect_contains "$err" "nothing written" "wrong key: nothing written"
expect_refused 1 "untrusted: only the SSH trust file for a gpg commit" -- "$SEALGATE" gate --repo "$R" --trust "$T/allowed" --rules "$T/norules" --key "$T/keys/sealgate.key"
expect_contains "$err" "commit $(git -C "$R" rev-parse --short=7 "$C2")" "untrusted names the commit"

# A Secret whose sealed value was copied into another Secret does not unseal there (scope).
cp "$R/apps/db.yaml" "$R/apps/db2.yaml"
sed -i 's/name: db$/name: db2/' "$R/apps/db2.yaml"
git -C "$R" add -A && commit_ssh "copied sealed value"
expect_refused 1 "sealed value copied to another Secret" -- gate --key "$T/keys/sealgate.key"
expect_contains "$err" "Secret 'db2'" "scope failure names the copy"
git -C "$R" rm -q apps/db2.yaml && commit_ssh "drop the copy"

# A sealed value in a Secret without the sealed label would reach the cluster as ciphertext.
sed '/sealgate.io\/sealed: "true"/d' "$R/apps/db.yaml" >"$R/apps/db.yaml.new" && mv "$R/apps/db.yaml.new" "$R/apps/db.yaml"
git -C "$R" add -A && commit_ssh "label dropped"
expect_refused 1 "sealed value without the label" -- gate --key "$T/keys/sealgate.key"
expect_contains "$err" "lacks the label sealgate.io/sealed" "unlabelled sealed value named"
git -C "$R" checkout -q HEAD~1 -- apps/db.yaml && commit_ssh "label back"

expect_exit 0 "back to a good head" -- gate --key "$T/keys/sealgate.key" --paths apps -o json
good=$(git -C "$R" rev-parse HEAD)

# Unsigned commit.
echo "# note" >>"$R/apps/settings.yaml" && git -C "$R" add -A && commit_plain "unsigned"
expect_refused 1 "unsigned HEAD" -- gate --key "$T/keys/sealgate.key"
expect_contains "$err" "unsigned" "unsigned named"
# An unsigned commit inside the --since chain, under a signed head.
echo "# note 2" >>"$R/apps/settings.yaml" && git -C "$R" add -A && commit_ssh "signed on top"
expect_exit 0 "signed head alone passes" -- gate --key "$T/keys/sealgate.key" -o json
expect_refused 1 "unsigned commit in the --since chain" -- gate --since "$good" --key "$T/keys/sealgate.key"
# Untrusted key.
echo "# note 3" >>"$R/apps/settings.yaml" && git -C "$R" add -A && commit_ssh "stranger" stranger
expect_refused 1 "signed by an untrusted key" -- gate --key "$T/keys/sealgate.key"
expect_contains "$err" "signed by unknown SSH key" "untrusted key named"
# A YAML syntax error in the tree: an input error, named with file:line:col.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  namespace: shop\ndata: {a: [1, 2}\n' >"$R/apps/broken.yaml"
git -C "$R" add -A && commit_ssh "broken yaml"
expect_refused 2 "YAML syntax error in the tree" -- gate --key "$T/keys/sealgate.key"
expect_contains "$err" "apps/broken.yaml:6:" "syntax error names file:line"
git -C "$R" rm -q apps/broken.yaml && commit_ssh "fix yaml"
# The same object declared twice.
cp "$R/apps/settings.yaml" "$R/apps/settings-copy.yaml" && git -C "$R" add -A && commit_ssh "dup"
expect_refused 2 "object declared twice" -- gate --key "$T/keys/sealgate.key"
expect_contains "$err" "declared twice" "duplicate named"
git -C "$R" rm -q apps/settings-copy.yaml && commit_ssh "no dup"
expect_exit 0 "good again" -- gate --key "$T/keys/sealgate.key" -o json

# ---- policy: a denial blocks everything, warn mode reports and passes -----------------------
    mkdir -p "$T/rules/gate"
    cat >"$T/rules/gate/images.rules" <<'RULES'
rule pinned "nginx images are pinned to 1.25.3"
  match kind Pod
  deny when some c in pod.allContainers: startsWith(c.image, "nginx") and c.image != "nginx:1.25.3"
  message "container {c.name} runs {c.image}"
RULES
    polgate() { "$SEALGATE" gate --repo "$R" "${TRUST[@]}" --rules "$T/rules" --key "$T/keys/sealgate.key" "$@"; }
    expect_exit 0 "rules pass" -- polgate -o json
    sed -i 's/nginx:1.25.3/nginx:1.27.0/' "$R/apps/web.yaml" && git -C "$R" add -A && commit_ssh "bump"
    expect_refused 1 "policy denial" -- polgate
    expect_contains "$err" "gate/pinned" "denial names the rule"
    expect_contains "$err" "container nginx runs nginx:1.27.0" "denial message"
    expect_exit 0 "warn mode passes" -- polgate --mode warn -o json
    expect_contains "$err" "warn: apps/Deployment 'web'" "warn mode reports on stderr"
    expect_eq "$(jq -r '.items | length' <<<"$out")" "10" "warn mode writes everything"
    expect_refused 2 "rule file syntax error" -- "$SEALGATE" gate --repo "$R" "${TRUST[@]}" --rules "$HERE/gate.sh" --key "$T/keys/sealgate.key"
git -C "$R" checkout -q HEAD~1 -- apps/web.yaml && commit_ssh "unbump"

# The bundled packs, found as `check` finds them (no --rules): pod-security-restricted denies
# the kubectl-made Deployments (no runAsNonRoot, no seccompProfile, ...).
expect_refused 1 "bundled packs: restricted denies" -- "$SEALGATE" gate --repo "$R" "${TRUST[@]}" --key "$T/keys/sealgate.key"
expect_contains "$err" "[pod-security-restricted/runasnonroot]" "restricted pack named"
P=$SEALGATE_SOURCE_DIR/rules
PACKS=(--rules "$P/pod-security-baseline" "$P/images" "$P/secrets")
expect_exit 0 "baseline, images, secrets pass" -- "$SEALGATE" gate --repo "$R" "${TRUST[@]}" "${PACKS[@]}" --key "$T/keys/sealgate.key" -o json
expect_eq "$(normal <<<"$out")" "$E2ALL" "bundled packs: output equals the commit"
# --params: only ghcr.io images allowed; web runs docker.io's nginx.
printf 'images:\n  allowedRegistries: [ghcr.io]\n' >"$T/params.yaml"
expect_refused 1 "--params narrows the registries" -- "$SEALGATE" gate --repo "$R" "${TRUST[@]}" "${PACKS[@]}" --params "$T/params.yaml" --key "$T/keys/sealgate.key"
expect_contains "$err" "[images/allowed-registries]" "registry rule named"
expect_not_contains "$err" "api:2.1.0 from" "the ghcr.io image passes"
# A plaintext Secret committed to git: the secrets pack denies it, and its value stays out of
# stderr.
kc secret generic leaked --from-literal=token=hunter2-leaked -n shop >"$R/apps/leaked.yaml"
git -C "$R" add -A && commit_ssh "plaintext secret"
expect_refused 1 "plaintext Secret in git" -- "$SEALGATE" gate --repo "$R" "${TRUST[@]}" "${PACKS[@]}" --key "$T/keys/sealgate.key"
expect_contains "$err" "Secret 'leaked'" "plaintext Secret named"
expect_contains "$err" "[secrets/" "secrets pack named"
git -C "$R" rm -q apps/leaked.yaml && commit_ssh "drop plaintext"

# --keep-sealed: sealed Secrets pass through as committed, for the cluster's /mutate.
expect_exit 0 "--keep-sealed" -- gate --keep-sealed --paths apps -o json
expect_eq "$(jq -c '.items[] | select(.kind == "Secret") | [.metadata.labels["sealgate.io/sealed"], (.stringData.password | startswith("sg1:"))]' <<<"$out")" '["true",true]' "--keep-sealed keeps the ciphertext"
expect_eq "$(jq -S '.items[] | select(.kind == "Secret")' <<<"$out")" "$(git -C "$R" show HEAD:apps/db.yaml | python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))' | jq -S .)" "--keep-sealed: the Secret as committed"

# ---- usage ----------------------------------------------------------------------------------
expect_refused 2 "no --repo" -- "$SEALGATE" gate --trust "$T/allowed"
expect_refused 2 "no --trust" -- "$SEALGATE" gate --repo "$R"
expect_refused 2 "unknown option" -- gate --frobnicate
expect_refused 2 "bad -o" -- gate -o xml
expect_refused 2 "unknown revision" -- gate --rev nosuchrev --key "$T/keys/sealgate.key"
expect_refused 2 "not a repository" -- "$SEALGATE" gate --repo "$T/keys" "${TRUST[@]}" --rules "$T/norules"
expect_refused 2 "missing trust file" -- "$SEALGATE" gate --repo "$R" --trust "$T/nope" --rules "$T/norules"
expect_exit 0 "--help" -- "$SEALGATE" gate --help
expect_contains "$out" "usage: sealgate gate" "help text"
finish
