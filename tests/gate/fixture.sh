# fixture.sh: the config repo both gate.sh and audit.sh use, made with real tools in $T:
# an SSH key and an OpenPGP key (both trusted), a stranger's SSH key, a sealing key pair, and
# a repo whose first commit is SSH-signed and whose second is gpg-signed.
isolate_git
git config --global gpg.ssh.allowedSignersFile "$T/allowed"

ssh-keygen -q -t ed25519 -N '' -C alice -f "$T/alice"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger"
echo "alice@example.com $(cut -d' ' -f1,2 "$T/alice.pub")" >"$T/allowed"
gpg -q --batch --passphrase '' --quick-gen-key 'Bob <bob@example.com>' ed25519 sign 1y 2>/dev/null
gpg --export --armor bob@example.com >"$T/bob.asc"
"$SEALGATE" keygen --out "$T/keys" >/dev/null 2>&1
"$SEALGATE" keygen --out "$T/other" >/dev/null 2>&1

# An empty rule set: tests that are not about policy must not depend on the bundled packs.
mkdir -p "$T/norules/none" && echo "# no rules" >"$T/norules/none/none.rules"

R=$T/repo
git init -q "$R"
commit_ssh() { git -C "$R" -c gpg.format=ssh -c user.signingkey="$T/${2:-alice}" commit -q -S -m "$1"; }
commit_gpg() { git -C "$R" -c gpg.format=openpgp -c user.signingkey=bob@example.com commit -q -S -m "$1"; }
commit_plain() { git -C "$R" commit -q -m "$1"; }
kc() { kubectl create "$@" --dry-run=client -o yaml; }

mkdir -p "$R/apps" "$R/other"
kubectl create namespace shop --dry-run=client -o yaml >"$R/apps/00-namespace.yaml"
{
    kc deployment web --image=nginx:1.25.3 --port=8080 -n shop
    echo ---
    kc service clusterip web --tcp=80:8080 -n shop
} >"$R/apps/web.yaml"
{
    kc deployment api --image=ghcr.io/acme/api:2.1.0 -n shop
    echo ---
    kc service clusterip api --tcp=80:9000 -n shop
} >"$R/apps/api.yaml"
kc configmap settings --from-literal=LOG_LEVEL=info --from-literal=REPLICAS=3 -n shop >"$R/apps/settings.yaml"
# A List, as `kubectl get -o yaml` writes them: expanded into its items.
kubectl create configmap flags --from-literal=beta=true -n shop --dry-run=client -o json |
    python3 -c 'import json,sys; o=json.load(sys.stdin); print(json.dumps({"apiVersion":"v1","kind":"List","items":[o]}))' >"$R/apps/flags.json"
# A values file that is not a Kubernetes object: skipped.
printf 'replicaCount: 2\nimage: nginx\n' >"$R/apps/values.yaml"
# The plaintext Secret, sealed for git; the plaintext never enters the repo.
kc secret generic db --from-literal=password=hunter2-s3cr3t --from-literal=user=shop -n shop >"$T/db-plain.yaml"
"$SEALGATE" seal --pub "$T/keys/sealgate.pub" -f "$T/db-plain.yaml" >"$R/apps/db.yaml"
kc configmap elsewhere --from-literal=x=y -n lab >"$R/other/elsewhere.yaml"
git -C "$R" add -A
commit_ssh "first: ssh-signed"
C1=$(git -C "$R" rev-parse HEAD)
kc configmap late --from-literal=k=v -n shop >"$R/apps/late.yaml"
git -C "$R" add -A
commit_gpg "second: gpg-signed"
C2=$(git -C "$R" rev-parse HEAD)
TRUST=(--trust "$T/allowed" "$T/bob.asc")
