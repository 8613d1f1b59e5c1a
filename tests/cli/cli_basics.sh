# The dispatcher: help, version, unknown verbs.
. "$SEALGATE_SOURCE_DIR/tests/lib.sh"
expect_exit 0 "version" -- "$SEALGATE" version
expect_contains "$out" "libsodium" "version lists the linked libraries"
expect_exit 2 "unknown verb" -- "$SEALGATE" frobnicate
expect_contains "$err" "unknown command 'frobnicate'" "unknown verb is named"
expect_exit 2 "no verb" -- "$SEALGATE"
expect_exit 0 "help" -- "$SEALGATE" --help
expect_contains "$out" "version" "help lists the verbs"
finish
