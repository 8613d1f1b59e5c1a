# util_path_collect through `sealgate check`: a folder typed with a trailing slash gives clean
# paths ("dir/x.yaml", not "dir//x.yaml") -- this once printed double slashes.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
mkdir -p "$T/m/sub"
kubectl create configmap c --from-literal=a=b --dry-run=client -o yaml > "$T/m/sub/c.yaml"
printf 'kind: [\n' > "$T/m/sub/broken.yaml"
expect_exit 2 "broken manifest in a folder" -- "$SEALGATE" check "$T/m/"
expect_contains "$err" "$T/m/sub/broken.yaml:" "error names the file"
expect_not_contains "$err" "//" "no double slash"
finish
