/* seal_bench.c: in-process throughput of seal_value_seal and seal_value_unseal for one value
 * size: `seal_bench SIZE SECONDS` prints "seal MBps OPS CPU-MBps CPU-OPS" and the same for
 * unseal: wall-clock rates, and rates per CPU-second of this process (what one dedicated core
 * gives on a shared machine). bench/sealing/run puts them beside the age CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/seal.h"

static double now_s(void)
{
    return (double)util_now_ns() / 1e9;
}

/* CPU seconds of this process: on a shared machine, what one dedicated core would take. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3 || sodium_init() < 0)
        return 2;
    size_t size = strtoul(argv[1], NULL, 10);
    double secs = strtod(argv[2], NULL);
    uint8_t sk[32];
    randombytes_buf(sk, sizeof(sk));
    seal_keyring *kr;
    seal_pubkey pub;
    util_error err = {0};
    if (seal__keyring_from_raw(&kr, sk, 0, &err) || seal_keyring_newest(&pub, kr, &err))
        return 1;
    uint8_t *plain = malloc(size ? size : 1);
    randombytes_buf(plain, size);
    util_buf sealed, out;
    util_buf_init(&sealed);
    util_buf_init(&out);

    unsigned long n = 0;
    double t0 = now_s(), c0 = cpu_s(), t;
    do {
        sealed.len = 0;
        if (seal_value_seal(&sealed, &pub, SEAL_SCOPE_STRICT, "prod", "db", "password", plain, size,
                            &err))
            return 1;
        n++;
    } while ((t = now_s() - t0) < secs);
    double c = cpu_s() - c0;
    printf("seal %.1f %.0f %.1f %.0f\n", (double)size * n / t / 1e6, n / t,
           (double)size * n / c / 1e6, n / c);

    n = 0;
    t0 = now_s();
    c0 = cpu_s();
    do {
        out.len = 0;
        if (seal_value_unseal(&out, kr, "prod", "db", "password", sealed.data, sealed.len, &err))
            return 1;
        n++;
    } while ((t = now_s() - t0) < secs);
    if (out.len != size || memcmp(out.data, plain, size) != 0)
        return 1;
    c = cpu_s() - c0;
    printf("unseal %.1f %.0f %.1f %.0f\n", (double)size * n / t / 1e6, n / t,
           (double)size * n / c / 1e6, n / c);
    util_buf_release_secret(&out);
    util_buf_release(&sealed);
    free(plain);
    seal_keyring_free(kr);
    return 0;
}
