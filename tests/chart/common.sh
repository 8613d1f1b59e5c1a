# common.sh: sourced by the chart tests after tests/lib.sh. Picks a python3 that has the yaml
# and jsonschema modules (Debian's python3-yaml and python3-jsonschema: `scripts/deps test`).
CHART_TESTS="$SEALGATE_SOURCE_DIR/tests/chart"
PY=
for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import yaml, jsonschema' 2>/dev/null; then
        PY=$py
        break
    fi
done
if [ -z "$PY" ]; then
    echo "FAIL: no python3 with the yaml and jsonschema modules; run scripts/deps test" >&2
    exit 1
fi
# check_suite NAME: run one suite of check_chart.py, counting it as one assertion here and
# showing its own failures.
check_suite() {
    local rc=0
    "$PY" "$CHART_TESTS/check_chart.py" "$1" >"$T/$1.out" 2>&1 || rc=$?
    cat "$T/$1.out"
    if [ "$rc" == 0 ]; then pass; else fail "check_chart.py $1 (exit $rc)"; fi
}
