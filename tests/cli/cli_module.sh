# cli_module.sh: the binary and its module sealgate-net.so (cli/net.h). The binary links no
# libgit2, libmicrohttpd or GnuTLS (readelf); the module exports one symbol; a module verb runs
# through it (a real SSH-signed commit verified); the installed layout (bin/ + lib/sealgate/,
# through a symlink) finds it; a binary alone, a module that does not load and a module of
# another build are each refused with the verb, the paths and the reason, and the light verbs
# still work without it.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
# Under bench/valgrind/run $SEALGATE is a wrapper script; the ELF files are beside the real one.
BIN=${SEALGATE_REAL:-$SEALGATE}
MOD=$(dirname "$BIN")/sealgate-net.so
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }

# ---- what each ELF file links and exports ----------------------------------------------------
bin_needed=$(needed "$BIN")
for lib in libgit2 libmicrohttpd libgnutls libssh2 libcurl; do
    expect_not_contains "$bin_needed" "$lib" "the binary links no $lib"
done
for lib in libsodium libcrypto libyaml libjansson libcjson; do
    expect_contains "$bin_needed" "$lib" "the binary links $lib"
done
mod_needed=$(needed "$MOD")
for lib in libgit2 libmicrohttpd libgnutls; do
    expect_contains "$mod_needed" "$lib" "the module links $lib"
done
exported=$(readelf --dyn-syms -W "$MOD" | awk '$7 != "UND" && $5 == "GLOBAL" {print $8}' | tr '\n' ' ')
expect_eq "$exported" "sealgate_net_entry " "the module exports its entry only"

# ---- version and a module verb through the build tree's module -------------------------------
expect_exit 0 "version" -- "$SEALGATE" version
expect_contains "$out" "module      $MOD" "version names the module it loaded"
expect_contains "$out" "libgit2" "version lists the module's libgit2"
expect_contains "$out" "microhttpd" "version lists the module's libmicrohttpd"
build_id=$(sed -n 's/^  build id *//p' <<<"$out")
expect_contains "$build_id" "+" "version prints the build id"

isolate_git
ssh-keygen -q -t ed25519 -N '' -C ci -f "$T/ed"
echo "alice@example.com $(cut -d' ' -f1,2 "$T/ed.pub")" >"$T/allowed"
git init -q "$T/repo"
git -C "$T/repo" -c gpg.format=ssh -c user.signingkey="$T/ed" commit -q -S --allow-empty -m signed
expect_exit 0 "verify a signed commit (a module verb)" -- \
    "$SEALGATE" verify --repo "$T/repo" --trust "$T/allowed"
expect_contains "$out" "ssh alice@example.com" "verify names the signer"
git -C "$T/repo" commit -q --allow-empty -m unsigned
expect_exit 1 "verify an unsigned commit (a module verb)" -- \
    "$SEALGATE" verify --repo "$T/repo" --trust "$T/allowed"
expect_contains "$err" "$(git -C "$T/repo" rev-parse --short=7 HEAD)" "the refusal names the commit"

# ---- the installed layout, reached through a symlink ------------------------------------------
mkdir -p "$T/usr/bin" "$T/usr/lib/sealgate" "$T/links"
cp "$BIN" "$T/usr/bin/sealgate"
cp "$MOD" "$T/usr/lib/sealgate/sealgate-net.so"
ln -s "$T/usr/bin/sealgate" "$T/links/sealgate"
expect_exit 0 "installed layout: version" -- "$T/links/sealgate" version
expect_contains "$out" "module      $T/usr/bin/../lib/sealgate/sealgate-net.so" \
    "installed layout: the module in lib/sealgate, found through the symlink's target"
expect_exit 1 "installed layout: verify" -- \
    "$T/links/sealgate" verify --repo "$T/repo" --trust "$T/allowed"

# ---- the binary alone: the light verbs work, the module verbs say what is missing -------------
mkdir "$T/alone"
cp "$BIN" "$T/alone/sealgate"
expect_exit 2 "alone: verify" -- "$T/alone/sealgate" verify --repo "$T/repo" --trust "$T/allowed"
expect_contains "$err" "sealgate verify: this verb lives in the module sealgate-net.so" \
    "alone: the error names the verb and the module"
expect_contains "$err" "$T/alone/sealgate-net.so: No such file" "alone: names the first place"
expect_contains "$err" "$T/alone/../lib/sealgate/sealgate-net.so: No such file" \
    "alone: names the installed place"
for verb in serve gate audit; do
    expect_exit 2 "alone: $verb" -- "$T/alone/sealgate" $verb --help
    expect_contains "$err" "sealgate $verb: this verb lives in the module" "alone: $verb refused"
done
expect_exit 0 "alone: version" -- "$T/alone/sealgate" version
expect_contains "$out" "sealgate-net.so not loaded" "alone: version says the module is missing"
expect_not_contains "$out" "libgit2" "alone: version lists no libgit2"
expect_exit 0 "alone: keygen" -- "$T/alone/sealgate" keygen --out "$T/keys"
printf 'hunter2' >"$T/plain"
expect_exit 0 "alone: seal" -- "$T/alone/sealgate" seal --pub "$T/keys/sealgate.pub" --raw \
    --namespace prod --name db --key password -f "$T/plain"
printf '%s' "$out" >"$T/sealed"
expect_exit 0 "alone: unseal" -- "$T/alone/sealgate" unseal --key "$T/keys/sealgate.key" --raw \
    --namespace prod --name db --item password -f "$T/sealed"
expect_eq "$out" "hunter2" "alone: the round trip"

# ---- a module that is there but does not load: an error, not a reason to look further --------
mkdir -p "$T/broken/bin" "$T/broken/lib/sealgate"
cp "$BIN" "$T/broken/bin/sealgate"
cp "$MOD" "$T/broken/lib/sealgate/sealgate-net.so"
head -c 4096 /dev/urandom >"$T/broken/bin/sealgate-net.so"
expect_exit 2 "not a module" -- "$T/broken/bin/sealgate" verify --repo "$T/repo" --trust "$T/allowed"
expect_contains "$err" "$T/broken/bin/sealgate-net.so: " "not a module: named"
expect_contains "$err" "invalid ELF header" "not a module: dlerror's reason"
expect_not_contains "$err" "lib/sealgate" "not a module: the installed place is not tried"

# ---- a module of another build -----------------------------------------------------------------
mkdir "$T/other"
cp "$BIN" "$T/other/sealgate"
python3 - "$MOD" "$T/other/sealgate-net.so" "$build_id" <<'PY'
import sys
src, dst, bid = sys.argv[1], sys.argv[2], sys.argv[3].encode()
data = open(src, "rb").read()
assert data.count(bid) == 1, "the build id appears once in the module"
head, hexid = bid.split(b"+")
other = bytes(b"0123456789abcdef"[(b"0123456789abcdef".index(c) + 1) % 16] for c in hexid)
open(dst, "wb").write(data.replace(bid, head + b"+" + other))
PY
expect_exit 2 "other build: verify" -- "$T/other/sealgate" verify --repo "$T/repo" --trust "$T/allowed"
expect_contains "$err" "built from other sources" "other build: refused"
expect_contains "$err" "this binary $build_id" "other build: both ids named"
expect_exit 0 "other build: version" -- "$T/other/sealgate" version
expect_contains "$out" "built from other sources" "other build: version says why"
finish
