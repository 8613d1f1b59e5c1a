# scripts/demo-repo: the demo config repo is a real git repo whose commit verifies against the
# trust file it writes, with a sealed Secret that unseals with the key it writes.
source "$SEALGATE_SOURCE_DIR/tests/lib.sh"
demo() { "$SEALGATE_SOURCE_DIR/scripts/demo-repo" "$@"; }

expect_exit 0 "demo-repo runs" -- demo "$T/demo" "$SEALGATE"
eval "$out"
expect_eq "$DEMO_REPO" "$T/demo/repo" "repo path"
expect_eq "$(git -C "$DEMO_REPO" rev-parse HEAD)" "$DEMO_COMMIT" "commit printed"
expect_eq "$(git -C "$DEMO_REPO" status --porcelain)" "" "work tree committed"
expect_exit 0 "sealgate verify accepts the demo commit" -- \
    "$SEALGATE" verify --repo "$DEMO_REPO" --trust "$DEMO_TRUST"
expect_contains "$out" "demo@example.com" "signer named"
expect_exit 0 "git itself verifies it" -- \
    git -C "$DEMO_REPO" -c gpg.ssh.allowedSignersFile="$DEMO_TRUST" verify-commit HEAD
for f in namespace.yaml web.yaml config.yaml kustomization.yaml db-secret.yaml; do
    [ -f "$DEMO_REPO/clusters/demo/$f" ] && pass || fail "clusters/demo/$f missing"
done
secret=$(cat "$DEMO_REPO/clusters/demo/db-secret.yaml")
expect_contains "$secret" "sg1:" "the Secret is sealed in git"
expect_not_contains "$secret" "demo-" "no plaintext password in git"
expect_exit 0 "the sealed Secret unseals with the demo key" -- \
    "$SEALGATE" unseal --key "$DEMO_SEALING_KEY" -f "$DEMO_REPO/clusters/demo/db-secret.yaml"
expect_contains "$out" "password" "unsealed Secret has its items"
expect_contains "$(cat "$DEMO_CONFIG")" "paths: [clusters/demo]" "config names the paths"

# Again: a fresh repo, the same keys (the trust file keeps working).
first_key=$(cat "$DEMO_SIGNING_KEY.pub")
expect_exit 0 "demo-repo runs twice" -- demo "$T/demo" "$SEALGATE"
eval "$out"
expect_eq "$(cat "$DEMO_SIGNING_KEY.pub")" "$first_key" "signing key kept"
expect_eq "$(git -C "$DEMO_REPO" rev-list --count HEAD)" "1" "one commit"

# A commit someone makes without the key is not verified.
echo "# hand edit" >>"$DEMO_REPO/clusters/demo/web.yaml"
git -C "$DEMO_REPO" -c user.name=x -c user.email=x@example.com commit -qam "unsigned edit"
expect_exit 1 "an unsigned commit fails verification" -- \
    "$SEALGATE" verify --repo "$DEMO_REPO" --trust "$DEMO_TRUST"
finish
