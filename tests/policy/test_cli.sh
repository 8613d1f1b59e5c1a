#!/usr/bin/env bash
# sealgate test: the data-driven DSL suite passes, and failing cases say what differed.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
cd "$SEALGATE_SOURCE_DIR"

expect_exit 0 "the DSL cases pass" -- "$SEALGATE" test tests/policy/cases
last=$(tail -n 1 <<<"$out")
expect_contains "$last" " passed, 0 failed" "last line of the suite"
n=${last%% passed*}
[ "$n" -ge 150 ] && pass || fail "expected at least 150 cases, ran $n"

expect_exit 1 "failing cases exit 1" -- "$SEALGATE" test tests/policy/failing/failing.test.yaml
expect_eq "$(tail -n 1 <<<"$out")" "1 passed, 4 failed" "tally of the failing file"
expect_contains "$out" "FAIL tests/policy/failing/failing.test.yaml: wrong verdict" "names the case"
expect_contains "$out" "deny: expected [], got [failing/d]" "says which verdict differed"
expect_contains "$out" "deny failing/d -: denied x" "lists the findings"
expect_contains "$out" "message: no finding's message contains \"allowed\"" "message check"
expect_contains "$out" 'error: expected "1:1: something else"' "error check"
expect_contains "$out" '"3:1: expected an expression, found the end of the file"' "actual error"
expect_contains "$out" "unknown key 'expct' in the case" "typo in a case key"

# A test file beside a rule file runs against its pack, with params.yaml and case params.
mkdir -p "$T/pack/shop"
cat >"$T/pack/shop/limits.rules" <<'R'
param maxReplicas = 3
rule replicas "replicas are bounded"
  match kind apps/Deployment
  deny when object.spec.replicas > params.maxReplicas
  message "{object.spec.replicas} replicas, at most {params.maxReplicas}"
R
echo "maxReplicas: 2" >"$T/pack/shop/params.yaml"
kubectl create deployment web --image=nginx:1.25 --replicas=3 --dry-run=client -o json >"$T/pack/shop/web.json"
cat >"$T/pack/shop/limits.test.yaml" <<'R'
- name: params.yaml lowers the bound
  file: web.json
  expect: {deny: [shop/replicas]}
  message: "3 replicas, at most 2"
- name: case params override params.yaml
  file: web.json
  params: {maxReplicas: 5}
  expect: {deny: []}
R
expect_exit 0 "a pack's own tests" -- "$SEALGATE" test "$T/pack"
expect_eq "$(tail -n 1 <<<"$out")" "2 passed, 0 failed" "pack tally"

# Default: the bundled packs' folder, from SEALGATE_RULES_DIR.
SEALGATE_RULES_DIR="$T/pack" expect_exit 0 "default rules folder" -- "$SEALGATE" test
expect_eq "$(tail -n 1 <<<"$out")" "2 passed, 0 failed" "default folder tally"

# A test file that is not YAML.
printf -- '- name: x\n  object: {a: [1, 2}\n' >"$T/bad.test.yaml"
expect_exit 1 "a broken test file fails" -- "$SEALGATE" test "$T/bad.test.yaml"
expect_contains "$out" "bad.test.yaml:2:" "names the line of the YAML error"
finish
