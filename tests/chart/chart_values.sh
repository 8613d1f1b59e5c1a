# tests/chart: the values checks of check_chart.py (see its docstring).
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/chart/common.sh"
check_suite values
finish
