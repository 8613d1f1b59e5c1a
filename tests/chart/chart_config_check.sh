# tests/chart: the config the chart renders loads in the real server. `sealgate serve --config
# FILE --check` parses and validates a config and exits 0 (valid) or 2; the fixture
# (charts/sealgate/tests/config.default.yaml) and the config of every ci/*.yaml value set must
# pass, and broken variants of the fixture must not.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/chart/common.sh"
FIXTURE="$SEALGATE_SOURCE_DIR/charts/sealgate/tests/config.default.yaml"

expect_exit 0 "the default values' config loads" -- "$SEALGATE" serve --config "$FIXTURE" --check
expect_contains "$out" "valid" "--check says valid"

mkdir -p "$T/configs"
expect_exit 0 "render every value set's config" -- \
    env CHART_CONFIG_OUT="$T/configs" "$PY" "$CHART_TESTS/check_chart.py" config
n=0
for cfg in "$T"/configs/*.config.yaml; do
    n=$((n + 1))
    expect_exit 0 "$(basename "$cfg") loads" -- "$SEALGATE" serve --config "$cfg" --check
done
[ "$n" -ge 4 ] && pass || fail "only $n rendered configs"

# The check must be able to fail: a wrong value and an unknown key, each named.
sed 's/^logLevel: info$/logLevel: loud/' "$FIXTURE" >"$T/bad-level.yaml"
expect_exit 2 "a bad logLevel is refused" -- "$SEALGATE" serve --config "$T/bad-level.yaml" --check
expect_contains "$err" "logLevel" "the error names logLevel"
sed 's/^limits:$/limitz:/' "$FIXTURE" >"$T/bad-key.yaml"
expect_exit 2 "an unknown key is refused" -- "$SEALGATE" serve --config "$T/bad-key.yaml" --check
expect_contains "$err" "limitz" "the error names the key"
finish
