# sig_verify.sh: `sealgate verify` against commits signed at test time by real ssh-keygen and
# gpg keys in a temp folder: trusted, untrusted, unsigned, tampered, signature smuggled into the
# message, wrong namespace, validity windows, SHA-1, expired and revoked keys, signing subkeys,
# chains with an unsigned commit, rollback, file:// URLs, signed tags (`git tag -s` with SSH
# ed25519/RSA/ECDSA and OpenPGP RSA/Ed25519 keys) verified by the tag object's own signature.
source "$SEALGATE_SOURCE_DIR/tests/lib.sh"

isolate_git
git config --global gpg.ssh.allowedSignersFile "$T/allowed_all"
TOOL=$SEALGATE_BUILD_DIR/tests/crypto/sig_tool
R=$T/repo
git init -q "$R"
cd "$R"

verify() { "$SEALGATE" verify --repo "$R" "$@"; }
# commit_ssh KEY MSG: an empty commit signed with the SSH key; prints its id.
commit_ssh() {
    git -c gpg.format=ssh -c user.signingkey="$1" commit -q -S --allow-empty -m "$2"
    git rev-parse HEAD
}
commit_gpg() {
    git -c gpg.format=openpgp -c user.signingkey="$1" commit -q -S --allow-empty -m "$2"
    git rev-parse HEAD
}
commit_plain() { git commit -q --allow-empty -m "$1"; git rev-parse HEAD; }
short() { git rev-parse --short=7 "$1"; }

# ---- SSH keys --------------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C ed -f "$T/ed"
ssh-keygen -q -t rsa -b 3072 -N '' -C rsa -f "$T/rsa"
ssh-keygen -q -t ecdsa -b 256 -N '' -C ec256 -f "$T/ec256"
ssh-keygen -q -t ecdsa -b 384 -N '' -C ec384 -f "$T/ec384"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger"
pub() { cut -d' ' -f1,2 "$T/$1.pub"; }
{
    echo "# team keys"
    echo "alice@example.com $(pub ed)"
    echo "rsa@example.com $(pub rsa)"
    echo "ec256@example.com namespaces=\"git,file\" $(pub ec256)"
    echo "ec384@example.com $(pub ec384)"
} >"$T/allowed"
cp "$T/allowed" "$T/allowed_all"
echo "stranger@example.com $(pub stranger)" >>"$T/allowed_all"

for k in ed rsa ec256 ec384; do
    c=$(commit_ssh "$T/$k" "signed by $k")
    expect_exit 0 "ssh $k trusted" -- verify --trust "$T/allowed"
    who=$k && [ "$k" == ed ] && who=alice
    expect_contains "$out" "ok $(git rev-parse --short=12 "$c") ssh $who@example.com" "ssh $k signer"
    fpr=$(ssh-keygen -lf "$T/$k.pub" | cut -d' ' -f2)
    expect_contains "$out" "$fpr" "ssh $k fingerprint as ssh-keygen -l prints it"
    # git agrees that the signature is good (parity).
    git verify-commit "$c" 2>/dev/null && pass || fail "git verify-commit rejects the $k commit"
done

c=$(commit_ssh "$T/stranger" "signed by a stranger")
expect_exit 1 "ssh untrusted" -- verify --trust "$T/allowed"
fpr=$(ssh-keygen -lf "$T/stranger.pub" | cut -d' ' -f2)
expect_contains "$err" "commit $(short "$c"): signed by unknown SSH key $fpr" "untrusted names key"

c=$(commit_plain "not signed")
expect_exit 1 "unsigned" -- verify --trust "$T/allowed"
expect_contains "$err" "commit $(short "$c"): unsigned" "unsigned names commit"

# Tampered: the signed commit's message edited, the old signature kept.
good=$(commit_ssh "$T/ed" "deploy web:1.0.0")
git cat-file commit "$good" | sed 's/web:1.0.0/web:6.6.6/' >"$T/tampered"
bad=$(git hash-object -t commit -w "$T/tampered")
grep -q '^gpgsig ' "$T/tampered" && pass || fail "tampered commit lost its signature header"
expect_exit 1 "tampered" -- verify --rev "$bad" --trust "$T/allowed"
expect_contains "$err" "commit $(short "$bad"): bad signature by alice@example.com" "tampered"
git verify-commit "$bad" 2>/dev/null && fail "git accepts the tampered commit" || pass

# A gpgsig block copied into the *message* of an unsigned commit: git calls it unsigned (%G?
# is N); libgit2's git_commit_extract_signature would find it and verify it.
python3 - "$good" >"$T/smuggled" <<'EOF'
import subprocess, sys
raw = subprocess.run(["git", "cat-file", "commit", sys.argv[1]], capture_output=True, check=True).stdout
head, msg = raw.split(b"\n\n", 1)
lines = head.split(b"\n")
i = next(n for n, l in enumerate(lines) if l.startswith(b"gpgsig "))
j = i + 1
while j < len(lines) and lines[j].startswith(b" "):
    j += 1
sig = lines[i:j]
payload = b"\n".join(lines[:i] + lines[j:]) + b"\n\n" + msg
sys.stdout.buffer.write(payload + b"\n".join(sig) + b"\n")
EOF
smug=$(git hash-object -t commit -w "$T/smuggled")
expect_eq "$(git log -1 --format=%G? "$smug")" "N" "git calls the smuggled commit unsigned"
expect_exit 1 "gpgsig in the message" -- verify --rev "$smug" --trust "$T/allowed"
expect_contains "$err" "commit $(short "$smug"): unsigned" "gpgsig in the message is unsigned"

# Wrong namespace: ssh-keygen -Y sign -n file over the payload of an unsigned commit, grafted
# in as its gpgsig header.
graft() { # graft PAYLOAD_COMMIT SIGFILE -> new commit id
    python3 - "$1" "$2" <<'EOF' >"$T/grafted"
import subprocess, sys
raw = subprocess.run(["git", "cat-file", "commit", sys.argv[1]], capture_output=True, check=True).stdout
sig = open(sys.argv[2], "rb").read().rstrip(b"\n").split(b"\n")
head, msg = raw.split(b"\n\n", 1)
hdr = b"gpgsig " + sig[0] + b"".join(b"\n " + l for l in sig[1:])
sys.stdout.buffer.write(head + b"\n" + hdr + b"\n\n" + msg)
EOF
    git hash-object -t commit -w "$T/grafted"
}
plain=$(commit_plain "payload for grafts")
git cat-file commit "$plain" >"$T/payload"
ssh-keygen -q -Y sign -n file -f "$T/ed" "$T/payload"
ns=$(graft "$plain" "$T/payload.sig")
expect_exit 1 "namespace file" -- verify --rev "$ns" --trust "$T/allowed"
expect_contains "$err" "commit $(short "$ns"): SSH signature by alice@example.com is for namespace 'file', not 'git'" "namespace"
rm -f "$T/payload.sig" && ssh-keygen -q -Y sign -n git -f "$T/ed" "$T/payload"
okg=$(graft "$plain" "$T/payload.sig")
expect_exit 0 "grafted namespace git" -- verify --rev "$okg" --trust "$T/allowed"

# Allowed-signers options: a key limited to namespaces="file", and validity windows.
c=$(commit_ssh "$T/ed" "window")
echo "alice@example.com namespaces=\"file\" $(pub ed)" >"$T/allowed_ns"
expect_exit 1 "namespaces option" -- verify --trust "$T/allowed_ns"
expect_contains "$err" "is not allowed to sign namespace 'git'" "namespaces option"
echo "alice@example.com valid-before=\"20200101\" $(pub ed)" >"$T/allowed_old"
expect_exit 1 "valid-before in the past" -- verify --trust "$T/allowed_old"
expect_contains "$err" "commit $(short "$c"): outside the key's validity window" "window names commit"
expect_contains "$err" "is after valid-before 2020-01-01" "window names the bound"
expect_contains "$err" "outside the key's validity window" "window reason"
echo "alice@example.com valid-after=\"20990101Z\" $(pub ed)" >"$T/allowed_future"
expect_exit 1 "valid-after in the future" -- verify --trust "$T/allowed_future"
now=$(date +%s)
echo "alice@example.com valid-before=\"$(date -u -d @$((now + 3600)) +%Y%m%d%H%M%SZ)\" $(pub ed)" >"$T/allowed_1h"
expect_exit 0 "valid for another hour" -- verify --trust "$T/allowed_1h"
# Backdating: first seen after valid-before fails although the committer time is inside.
expect_exit 1 "first seen after valid-before" -- verify --trust "$T/allowed_1h" --first-seen $((now + 7200))
expect_contains "$err" "outside the key's validity window" "first_seen judged"

# ---- chains (--since) ------------------------------------------------------------------------
base=$(commit_ssh "$T/ed" "chain base")
c1=$(commit_ssh "$T/rsa" "chain 1")
git checkout -q -b side
s1=$(commit_ssh "$T/ec384" "side 1")
git checkout -q main
c2=$(commit_ssh "$T/ec256" "chain 2")
git -c gpg.format=ssh -c user.signingkey="$T/ed" merge -q -S --no-edit side
merge=$(git rev-parse HEAD)
expect_exit 0 "signed chain with a merge" -- verify --since "$base" --trust "$T/allowed"
expect_contains "$out" "4 commits verified" "chain counts every parent's commits"
git checkout -q side
s2=$(commit_plain "unsigned on the side")
git checkout -q main
git -c gpg.format=ssh -c user.signingkey="$T/ed" merge -q -S --no-edit side
c3=$(commit_ssh "$T/ed" "chain 3")
expect_exit 0 "head alone is signed" -- verify --trust "$T/allowed"
expect_exit 1 "chain with an unsigned commit" -- verify --since "$base" --trust "$T/allowed"
expect_contains "$err" "commit $(short "$s2") (5 of 7 after $(short "$base"), on the way to $(short "$c3")): unsigned" "chain names the unsigned commit, its place and the tip"
expect_eq "$(grep -c "commit $(short "$s2")" <<<"$err")" "1" "the refused commit is named once"
expect_not_contains "$err" "unsigned (unsigned)" "the reason is said once"
expect_contains "$err" "1 of 7 commits refused" "chain tally"
# --since REV itself: REV is verified, not an empty range.
expect_exit 0 "--since the tip itself" -- verify --since "$c3" --trust "$T/allowed"
expect_contains "$out" "1 commit verified" "--since the tip verifies the tip"
expect_exit 1 "--since an unsigned tip itself" -- verify --rev "$s2" --since "$s2" --trust "$T/allowed"
expect_contains "$err" "commit $(short "$s2"): unsigned" "an unsigned tip with --since itself is refused"
expect_exit 1 "rollback" -- verify --rev "$base" --since "$c3" --trust "$T/allowed"
expect_contains "$err" "does not descend from" "rollback refused"

# file:// URL: fetched into a temp folder.
expect_exit 0 "file:// URL" -- "$SEALGATE" verify --repo "file://$R" --trust "$T/allowed"
expect_contains "$out" "ok $(git rev-parse --short=12 HEAD)" "file:// verifies the remote HEAD"

# A git:// remote that accepts the connection and then says nothing: the fetch gives up after
# --timeout instead of hanging, and says why.
mute_port=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$mute_port" &
mute=$!
defer "kill $mute 2>/dev/null"
for i in $(seq 1 50); do python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$mute_port" 2>/dev/null && break; sleep 0.1; done
t0=$(date +%s%N)
expect_exit 2 "a mute remote" -- "$SEALGATE" verify --repo "git://127.0.0.1:$mute_port/config.git" --timeout 1s --trust "$T/allowed"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
expect_contains "$err" "no answer for 1 s (the fetch timeout)" "the mute remote's error names the timeout"
expect_eq "$([ "$elapsed_ms" -lt 20000 ] && echo yes)" "yes" "the fetch gave up well before the default 30 s ($elapsed_ms ms)"
expect_exit 2 "a bad --timeout" -- "$SEALGATE" verify --repo . --timeout soon --trust "$T/allowed"
expect_contains "$err" "--timeout: 'soon' is not a duration" "a bad --timeout is named"

# Input errors: exit 2 with file:line.
printf 'alice@example.com ssh-ed25519 AAAA\nbob@example.com cert-authority %s\n' "$(pub ed)" >"$T/bad_allowed"
expect_exit 2 "bad allowed signers" -- verify --trust "$T/bad_allowed"
expect_contains "$err" "$T/bad_allowed:1:1:" "bad base64 names the line"
printf 'bob@example.com cert-authority %s\n' "$(pub ed)" >"$T/ca_allowed"
expect_exit 2 "cert-authority" -- verify --trust "$T/ca_allowed"
expect_contains "$err" "'cert-authority' is not supported" "cert-authority refused"
expect_exit 2 "missing trust" -- verify --trust "$T/nope"
expect_exit 2 "no --trust" -- verify
expect_exit 2 "bad rev" -- verify --rev nope --trust "$T/allowed"

# ---- OpenPGP ---------------------------------------------------------------------------------
gen() { gpg -q --batch --passphrase '' --quick-gen-key "$@" 2>/dev/null; }
fpr_of() { gpg --with-colons -k "$1" | awk -F: '/^fpr/ {print $10; exit}'; }
gen 'Bob <bob@example.com>' ed25519 sign 1y
gen 'Carol <carol@example.com>' rsa3072 sign 1y
gen 'Dave <dave@example.com>' nistp256 sign 1y
gen 'Pat <pat@example.com>' nistp384 sign 1y
gen 'Erin <erin@example.com>' ed25519 cert 1y
erin=$(fpr_of erin@example.com)
gpg -q --batch --passphrase '' --quick-add-key "$erin" ed25519 sign 1y 2>/dev/null
erin_sub=$(gpg --with-colons -k "$erin" | awk -F: '/^fpr/ {f=$10} END {print f}')
gen 'Frank <frank@example.com>' ed25519 sign 1y
for k in bob carol dave pat erin; do gpg --export --armor "$k@example.com" >"$T/$k.asc"; done
cat "$T/bob.asc" "$T/carol.asc" "$T/dave.asc" "$T/pat.asc" "$T/erin.asc" >"$T/team.asc"

for k in bob carol dave pat; do
    c=$(commit_gpg "$k@example.com" "signed by $k")
    expect_exit 0 "openpgp $k" -- verify --trust "$T/team.asc"
    expect_contains "$out" "openpgp ${k^} <$k@example.com> $(fpr_of "$k@example.com")" "openpgp $k signer"
done
c=$(commit_gpg "$erin_sub!" "signed by erin's subkey")
expect_exit 0 "openpgp signing subkey" -- verify --trust "$T/team.asc"
expect_contains "$out" "Erin <erin@example.com> $erin" "subkey reports the primary"
expect_exit 0 "ssh and openpgp trust together" -- verify --trust "$T/allowed" "$T/team.asc"

c=$(commit_gpg frank@example.com "signed by frank")
expect_exit 1 "openpgp untrusted" -- verify --trust "$T/team.asc"
expect_contains "$err" "commit $(short "$c"): signed by unknown OpenPGP key $(fpr_of frank@example.com)" "openpgp untrusted"

git cat-file commit "$c" | sed 's/signed by frank/signed by mallory/' >"$T/tampered_pgp"
gpg --export --armor frank@example.com >"$T/frank.asc"
bad=$(git hash-object -t commit -w "$T/tampered_pgp")
expect_exit 1 "openpgp tampered" -- verify --rev "$bad" --trust "$T/frank.asc"
expect_contains "$err" "bad signature by Frank <frank@example.com>" "openpgp tampered"

# SHA-1: gpg told to use it through a gpg.program wrapper.
printf '#!/bin/sh\nexec gpg --digest-algo SHA1 "$@"\n' >"$T/gpg-sha1" && chmod +x "$T/gpg-sha1"
git -c gpg.program="$T/gpg-sha1" -c user.signingkey=bob@example.com commit -q -S --allow-empty -m sha1
c=$(git rev-parse HEAD)
gpg --list-packets <(git cat-file commit "$c" | sed -n '/^gpgsig /,/END PGP/p' | sed 's/^gpgsig //; s/^ //') 2>/dev/null | grep -q 'digest algo 2' && pass || fail "gpg did not make a SHA-1 signature"
expect_exit 1 "SHA-1 refused" -- verify --trust "$T/team.asc"
expect_contains "$err" "commit $(short "$c"): SHA-1 signature by Bob <bob@example.com> refused" "SHA-1"

# Expired key: made and used in 2020 (gpg's faked clock, a backdated commit), expired 2021.
printf '#!/bin/sh\nexec gpg --faked-system-time 20200601T120000 "$@"\n' >"$T/gpg-2020" && chmod +x "$T/gpg-2020"
gpg -q --batch --passphrase '' --faked-system-time 20200101T000000 --quick-gen-key 'Olga <olga@example.com>' ed25519 sign 1y 2>/dev/null
gpg --export --armor olga@example.com >"$T/olga.asc"
GIT_COMMITTER_DATE='2020-06-01T12:00:00Z' GIT_AUTHOR_DATE='2020-06-01T12:00:00Z' \
    git -c gpg.program="$T/gpg-2020" -c user.signingkey=olga@example.com commit -q -S --allow-empty -m backdated
c=$(git rev-parse HEAD)
expect_exit 1 "expired key" -- verify --trust "$T/olga.asc"
expect_contains "$err" "commit $(short "$c"): key $(fpr_of olga@example.com) of Olga <olga@example.com> expired at 2020-12-" "expired"
expect_exit 0 "expired key, first seen while valid" -- verify --trust "$T/olga.asc" --first-seen "$(date -u -d 2020-06-02 +%s)"

# Revoked key: the revocation certificate gpg made at key creation, imported.
gen 'Rita <rita@example.com>' ed25519 sign 1y
rita=$(fpr_of rita@example.com)
c=$(commit_gpg rita@example.com "signed by rita")
gpg --export --armor rita@example.com >"$T/rita.asc"
expect_exit 0 "rita before revocation" -- verify --trust "$T/rita.asc"
sed 's/^:-----BEGIN/-----BEGIN/' "$GNUPGHOME/openpgp-revocs.d/$rita.rev" | gpg -q --batch --import 2>/dev/null
gpg --export --armor rita@example.com >"$T/rita-revoked.asc"
expect_exit 1 "revoked key" -- verify --trust "$T/rita-revoked.asc"
expect_contains "$err" "commit $(short "$c"): key $rita of Rita <rita@example.com> is revoked" "revoked"

# Armour corrupted: a flipped base64 character fails the CRC24 (input error, file:line).
awk 'NR==5 {c=substr($0,10,1); r=(c=="A")?"B":"A"; $0=substr($0,1,9) r substr($0,11)} {print}' "$T/bob.asc" >"$T/bob-bad.asc"
expect_exit 2 "corrupted armour" -- verify --trust "$T/bob-bad.asc"
expect_contains "$err" "bob-bad.asc:1:1:" "corrupted armour names the block"

# ---- signed tags: `sealgate verify --rev TAG` verifies the tag object's own signature ----------
# Real `git tag -s` under SSH (ed25519, RSA, ECDSA P-256) and OpenPGP (RSA 3072, Ed25519).
git checkout -q main
tagged=$(commit_plain "an unsigned commit, vouched for by signed tags")
tag_ssh() { git -c gpg.format=ssh -c user.signingkey="$T/$1" tag -s "$2" -m "release $2"; }
tag_gpg() { git -c gpg.format=openpgp -c user.signingkey="$1" tag -s "$2" -m "release $2"; }
tag_ssh ed v1-ed && tag_ssh rsa v1-rsa && tag_ssh ec256 v1-ec256
tag_gpg carol@example.com v1-carol && tag_gpg bob@example.com v1-bob
for t in v1-ed v1-rsa v1-ec256; do
    git verify-tag "$t" 2>/dev/null && pass || fail "git verify-tag rejects $t"
    expect_exit 0 "ssh signed tag $t" -- verify --rev "$t" --trust "$T/allowed"
    expect_contains "$out" "ok tag $t $(git rev-parse "$t" | cut -c1-12) ssh" "$t: the tag object is what was verified"
    expect_contains "$out" "tag $t $(git rev-parse "$t" | cut -c1-12) verified: its signature vouches for commit $(git rev-parse --short=12 "$tagged")" "$t: summary names tag and commit"
done
expect_contains "$(verify --rev v1-rsa --trust "$T/allowed")" "rsa@example.com $(ssh-keygen -lf "$T/rsa.pub" | cut -d' ' -f2)" "RSA tag signer"
expect_contains "$(verify --rev v1-ec256 --trust "$T/allowed")" "ec256@example.com $(ssh-keygen -lf "$T/ec256.pub" | cut -d' ' -f2)" "ECDSA P-256 tag signer"
for k in carol bob; do
    expect_exit 0 "openpgp signed tag v1-$k" -- verify --rev "v1-$k" --trust "$T/team.asc"
    expect_contains "$out" "ok tag v1-$k $(git rev-parse "v1-$k" | cut -c1-12) openpgp ${k^} <$k@example.com> $(fpr_of "$k@example.com")" "openpgp tag v1-$k signer"
done
# The commit under the tag is unsigned: --rev TAG^{commit} verifies the commit and refuses it.
expect_exit 1 "the tagged commit itself" -- verify --rev 'v1-ed^{commit}' --trust "$T/allowed"
expect_contains "$err" "commit $(short "$tagged"): unsigned" "peeled commit verified as a commit"
# Signed by a key the trust file does not hold.
expect_exit 1 "tag signed by an untrusted key" -- verify --rev v1-carol --trust "$T/allowed"
expect_contains "$err" "tag v1-carol ($(git rev-parse --short=7 v1-carol)): signed by unknown OpenPGP key $(fpr_of carol@example.com)" "untrusted tag named once with its key"
# A tag served under another name: refs/tags/v9 pointing at the v1-ed tag object.
git update-ref refs/tags/v9 "$(git rev-parse v1-ed)"
expect_exit 1 "tag under another name" -- verify --rev v9 --trust "$T/allowed"
expect_contains "$err" "tag v9 ($(git rev-parse --short=7 v1-ed)): names itself 'v1-ed', not 'v9'" "tag name confusion"
# The tag object by id: no name to check, the signature still is.
expect_exit 0 "tag by object id" -- verify --rev "$(git rev-parse v1-ed)" --trust "$T/allowed"
expect_contains "$out" "ok tag $(git rev-parse v1-ed | cut -c1-12) ssh alice@example.com" "tag by id"
# Tampered: the tag message edited, the signature kept.
git cat-file tag v1-ed | sed 's/release v1-ed/release v6.6.6/' >"$T/tampered_tag"
evil=$(git hash-object -t tag -w "$T/tampered_tag")
git update-ref refs/tags/v1-ed-evil "$evil"
expect_exit 1 "tampered tag" -- verify --rev "$evil" --trust "$T/allowed"
expect_contains "$err" "tag $(git rev-parse --short=7 "$evil"): bad signature by alice@example.com" "tampered tag"
git verify-tag "$evil" 2>/dev/null && fail "git accepts the tampered tag" || pass
# An annotated tag that is not signed: refused, with the way to verify the commit instead.
git tag -a v3 -m "unsigned"
expect_exit 1 "unsigned annotated tag" -- verify --rev v3 --trust "$T/allowed"
expect_contains "$err" "tag v3 ($(git rev-parse --short=7 v3)): unsigned" "unsigned tag"
expect_contains "$err" "--rev 'v3^{commit}'" "unsigned tag: the hint"
# A lightweight tag is just a name for a commit: the commit is verified.
git tag light "$c3"
expect_exit 0 "lightweight tag" -- verify --rev light --trust "$T/allowed"
expect_contains "$out" "ok $(git rev-parse --short=12 "$c3") ssh" "lightweight tag: the commit"
# A signed tag with --since: the tag and every commit after since.
git checkout -q -b tagchain "$c3"
t1=$(commit_ssh "$T/ed" "after c3")
tag_ssh rsa v4
expect_exit 0 "signed tag and its chain" -- verify --rev v4 --since "$c3" --trust "$T/allowed"
expect_contains "$out" "tag v4 and 1 commit verified" "tag plus chain"
t2=$(commit_plain "unsigned after v4")
tag_ssh ec256 v5
expect_exit 1 "signed tag over an unsigned chain" -- verify --rev v5 --since "$c3" --trust "$T/allowed"
expect_contains "$out" "ok tag v5" "the tag itself passed"
expect_contains "$err" "commit $(short "$t2") (2 of 2 after $(short "$c3")): unsigned" "the chain under the tag is refused"
git checkout -q main

# sig_verify_tag directly (the test tool): the name check, and an unsigned tag.
tag=$(git rev-parse v1-ed)
expect_exit 0 "sig_verify_tag" -- "$TOOL" tag "$R" "$tag" v1-ed "$T/allowed"
expect_exit 1 "sig_verify_tag under another name" -- "$TOOL" tag "$R" "$tag" v2 "$T/allowed"
expect_contains "$err" "names itself 'v1-ed', not 'v2'" "tag name confusion (API)"
expect_exit 1 "sig_verify_tag unsigned" -- "$TOOL" tag "$R" "$(git rev-parse v3)" v3 "$T/team.asc"
expect_contains "$err" "unsigned" "unsigned tag (API)"

finish
