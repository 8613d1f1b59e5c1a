# lib.sh: shared helpers for shell tests. Source it first; it sets `set -euo pipefail`, makes
# a temp folder $T removed on exit, and gives assertions that print what differed.
set -euo pipefail
: "${SEALGATE:?run under ctest, or set SEALGATE to the binary}"
: "${SEALGATE_SOURCE_DIR:?}"
# Third-party leaks (libgit2 1.5 on fetch) are suppressed, ours are not: tests/lsan.supp.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$SEALGATE_SOURCE_DIR/tests/lsan.supp"
SHARED="$SEALGATE_SOURCE_DIR/../shared"
FIXTURES="$SHARED/fixtures"
T=$(mktemp -d "${TMPDIR:-/tmp}/sealgate-test.XXXXXX")
_cleanups=()
on_exit() { local c; for c in "${_cleanups[@]}"; do eval "$c" || true; done; rm -rf "$T"; }
trap on_exit EXIT
defer() { _cleanups+=("$1"); }

fails=0
passes=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
pass() { passes=$((passes + 1)); }
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { if [ "$1" == "$2" ]; then pass; else fail "$3: got '$1', expected '$2'"; fi; }
# expect_contains HAYSTACK NEEDLE WHAT
expect_contains() { if [[ "$1" == *"$2"* ]]; then pass; else fail "$3: '$2' not in: $1"; fi; }
expect_not_contains() { if [[ "$1" != *"$2"* ]]; then pass; else fail "$3: '$2' unexpectedly in: $1"; fi; }
# isolate_git: real git and gpg, kept from the user's settings: HOME, GNUPGHOME and git's
# global config under $T, Alice as author and committer, branch main; the gpg-agent the test
# starts is stopped with it.
isolate_git() {
    export HOME=$T GNUPGHOME=$T/gnupg GIT_CONFIG_NOSYSTEM=1
    export GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com
    export GIT_COMMITTER_NAME=Alice GIT_COMMITTER_EMAIL=alice@example.com
    mkdir -m 700 "$GNUPGHOME"
    defer "gpgconf --kill all >/dev/null 2>&1"
    git config --global init.defaultBranch main
}
# expect_metric_min METRICS 'name{labels}' MIN WHAT: a Prometheus sample is at least MIN. A
# counter a watcher and a signal may both bump is checked this way, not for an exact value.
expect_metric_min() {
    local v
    v=$(awk -v n="$2" '$1 == n {print $2}' <<<"$1")
    if [ -n "$v" ] && awk -v v="$v" -v m="$3" 'BEGIN { exit !(v >= m) }'; then pass
    else fail "$4: $2 is '${v:-absent}', expected at least $3"; fi
}
# expect_exit CODE WHAT -- CMD...: run CMD, capture stdout in $out and stderr in $err.
expect_exit() {
    local want=$1 what=$2; shift 3
    local rc=0
    "$@" >"$T/.out" 2>"$T/.err" || rc=$?
    out=$(cat "$T/.out"); err=$(cat "$T/.err")
    if [ "$rc" == "$want" ]; then pass; else fail "$what: exit $rc, expected $want; stderr: $err"; fi
}
# A free TCP port on loopback. The distribution's python, when there is one, starts in a tenth
# of the time of a version-manager shim.
free_port() { "$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Finish: print the tally, exit non-zero on any failure.
finish() { echo "$passes passed, $fails failed"; [ "$fails" == 0 ]; }
