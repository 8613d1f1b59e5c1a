# tests/chart: the Dockerfile's runtime stage installs every shared library the built binary
# needs (check_image.py), and agrees with the chart. No container engine runs here, so the
# image itself is not built.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/chart/common.sh"
rc=0
"$PY" "$CHART_TESTS/check_image.py" "$SEALGATE" >"$T/image.out" 2>&1 || rc=$?
cat "$T/image.out"
if [ "$rc" == 0 ]; then pass; else fail "check_image.py (exit $rc)"; fi
finish
