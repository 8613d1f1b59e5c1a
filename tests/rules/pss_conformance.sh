# pss_conformance.sh: the Kubernetes project's own Pod Security Standards fixtures
# (../shared/conformance/pss, policy version v1.37) against the bundled packs. Every
# <level>/pass/*.yaml must draw no denial from rules/pod-security-<level>; every
# <level>/fail/<check><N>.yaml at least one denial whose rule id is pod-security-<level>/<check>.
# Each fixture is also wrapped as a Deployment and as a CronJob pod template, which must get
# the same verdict, with the finding's path inside the template.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
PSS="$SHARED/conformance/pss"
RULES="$SEALGATE_SOURCE_DIR/rules"
FINDINGS="$SEALGATE_SOURCE_DIR/tests/rules/findings.py"
[ -d "$PSS/baseline/pass" ] || { echo "FAIL: no fixtures at $PSS"; exit 1; }

# wrap KIND FIXTURE OUT: the fixture's metadata and spec as the pod template of KIND.
wrap() {
    local kind=$1 src=$2 dst=$3 body
    case "$kind" in
    Deployment)
        body=$(sed -e '/^apiVersion:/d' -e '/^kind:/d' -e 's/^/    /' "$src")
        printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wrapped}\nspec:\n  selector: {matchLabels: {app: wrapped}}\n  template:\n%s\n' "$body" >"$dst"
        ;;
    CronJob)
        body=$(sed -e '/^apiVersion:/d' -e '/^kind:/d' -e 's/^/        /' "$src")
        printf 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: wrapped}\nspec:\n  schedule: "0 * * * *"\n  jobTemplate:\n    spec:\n      template:\n%s\n' "$body" >"$dst"
        ;;
    esac
}

# verdict LEVEL FILE WANT STEM WHAT [PATHPREFIX]: run the pack on FILE and compare.
verdict() {
    local level=$1 file=$2 want=$3 stem=$4 what=$5 prefix=${6:-}
    local rc=0 out denies
    out=$("$SEALGATE" check --rules "$RULES/pod-security-$level" -o json "$file" 2>"$T/err") || rc=$?
    if [ "$rc" -ge 2 ]; then
        fail "$what: sealgate check exited $rc: $(head -c 400 "$T/err")"
        return
    fi
    denies=$(printf '%s' "$out" | python3 "$FINDINGS" | awk '$1 == "deny"') || {
        fail "$what: unreadable JSON output"
        return
    }
    if [ "$want" == pass ]; then
        if [ "$rc" == 0 ] && [ -z "$denies" ]; then pass; else
            fail "$what: expected no denial, got exit $rc: $(echo "$denies" | tr '\n' ';')"
        fi
        return
    fi
    local id="pod-security-$level/$stem"
    local hit
    hit=$(echo "$denies" | awk -v id="$id" '$2 == id')
    if [ "$rc" != 1 ] || [ -z "$hit" ]; then
        fail "$what: expected a denial from $id, got exit $rc: $(echo "$denies" | tr '\n' ';')"
    elif [ -n "$prefix" ] && ! echo "$hit" | awk -v p="$prefix" 'index($3, p) == 1 || $3 == "-" { ok = 1 } END { exit !ok }'; then
        fail "$what: the finding's path is not inside the template ($prefix): $hit"
    else
        pass
    fi
}

total=0
for level in baseline restricted; do
    for want in pass fail; do
        for f in "$PSS/$level/$want"/*.yaml; do
            name=$(basename "$f" .yaml)
            stem=$(echo "$name" | sed -E 's/[0-9]+$//')
            total=$((total + 1))
            verdict "$level" "$f" "$want" "$stem" "$level/$want/$name.yaml"
            wrap Deployment "$f" "$T/deploy.yaml"
            verdict "$level" "$T/deploy.yaml" "$want" "$stem" "$level/$want/$name.yaml as a Deployment" "spec.template.spec"
            wrap CronJob "$f" "$T/cron.yaml"
            verdict "$level" "$T/cron.yaml" "$want" "$stem" "$level/$want/$name.yaml as a CronJob" "spec.jobTemplate.spec.template.spec"
        done
    done
done
echo "fixtures: $total (each as a Pod, a Deployment and a CronJob)"
finish
