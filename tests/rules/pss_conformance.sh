# pss_conformance.sh: the Kubernetes project's own Pod Security Standards fixtures
# (../shared/conformance/pss, policy version v1.37) against the bundled packs. Every
# <level>/pass/*.yaml must draw no denial from rules/pod-security-<level>; every
# <level>/fail/<check><N>.yaml at least one denial whose rule id is pod-security-<level>/<check>.
# Each fixture is also wrapped as a Deployment and as a CronJob pod template, which must get
# the same verdict, with the finding's path inside the template. One `sealgate check -o json`
# runs per level, verdict and shape, over a folder of fixtures; pss_fixtures.py matches the
# findings to the files.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
# Debian's interpreter when it is there: a pyenv shim on PATH costs seconds per call under load.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
PSS="$SHARED/conformance/pss"
RULES="$SEALGATE_SOURCE_DIR/rules"
HELPER="$SEALGATE_SOURCE_DIR/tests/rules/pss_fixtures.py"
[ -d "$PSS/baseline/pass" ] || { echo "FAIL: no fixtures at $PSS"; exit 1; }

declare -A agree=()
for level in baseline restricted; do
    for want in pass fail; do
        for shape in Pod Deployment CronJob; do
            dir="$T/$level/$want/$shape"
            "$PY" "$HELPER" wrap "$shape" "$PSS/$level/$want" "$dir"
            rc=0
            "$SEALGATE" check --rules "$RULES/pod-security-$level" -o json "$dir" >"$T/out.json" 2>"$T/err" || rc=$?
            if [ "$rc" -ge 2 ]; then
                fail "$level/$want as ${shape}s: sealgate check exited $rc: $(head -c 600 "$T/err")"
                continue
            fi
            # exit 1 exactly when some fixture is denied: never for pass/, always for fail/
            expect_eq "$rc" "$([ "$want" == pass ] && echo 0 || echo 1)" "$level/$want as ${shape}s: exit code"
            while read -r verdict key rest; do
                if [ "$verdict" == ok ]; then
                    pass
                    agree[$key]=${agree[$key]:-1}
                else
                    fail "$rest"
                    agree[$key]=0
                fi
            done < <("$PY" "$HELPER" verdicts "$level" "$want" "$shape" "$dir" <"$T/out.json")
        done
    done
done
n=0
for key in "${!agree[@]}"; do
    [ "$key" == "${key%\*}" ] || continue
    n=$((n + agree[$key]))
done
total=$(ls "$PSS"/*/*/*.yaml | wc -l)
echo "PSS conformance: $n of $total fixtures agree (each as a Pod, a Deployment and a CronJob)"
expect_eq "$n" "$total" "fixtures that agree"
finish
