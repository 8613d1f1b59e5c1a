# tests/chart: the render checks of check_chart.py (see its docstring).
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
. "$SEALGATE_SOURCE_DIR/tests/chart/common.sh"
check_suite render
finish
