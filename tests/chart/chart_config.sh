# tests/chart: the config the chart renders. check_chart.py compares the default values' config
# with charts/sealgate/tests/config.default.yaml and keeps every value set's config within the
# contract's keys.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/chart/common.sh"
mkdir -p "$T/configs"
CHART_CONFIG_OUT="$T/configs" check_suite config
finish
