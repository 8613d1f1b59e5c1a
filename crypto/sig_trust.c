/* sig_trust.c: trust files. A file is told by its content: ASCII-armoured (or binary) OpenPGP
 * public keys, else git's allowed-signers lines. The set is immutable once loaded. */
#include <stdlib.h>
#include <string.h>

#include "crypto/sig_priv.h"
#include "util/limits.h"
#include "util/banned.h"

#define PGP_KEY_KIND "PGP PUBLIC KEY BLOCK"

static sig_trust *trust_new(void)
{
    return calloc(1, sizeof(sig_trust));
}

void sig_trust_free(sig_trust *trust)
{
    if (!trust)
        return;
    for (size_t i = 0; i < trust->nssh; i++)
        sig_ssh_key__release(&trust->ssh[i]);
    free(trust->ssh);
    for (size_t i = 0; i < trust->npgp; i++)
        sig_pgp_cert__release(&trust->pgp[i]);
    free(trust->pgp);
    free(trust);
}

size_t sig_trust_count(const sig_trust *trust)
{
    return trust ? trust->nssh + trust->npgp : 0;
}

static const char *find_cstr(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* Every armoured key block in text, in order. */
static int add_armoured(sig_trust *trust, const char *source, const char *text, size_t len,
                        util_error *err)
{
    const char *p = text, *end = text + len;
    const char *b;
    while ((b = find_cstr(p, (size_t)(end - p), "-----BEGIN " PGP_KEY_KIND "-----")) != NULL) {
        unsigned char *bin = NULL;
        size_t bin_len = 0, used = 0;
        int rc = sig_pgp__dearmor(&bin, &bin_len, b, (size_t)(end - b), PGP_KEY_KIND, &used, err);
        if (rc == 0)
            rc = sig_pgp__parse_keys(trust, bin, bin_len, err);
        free(bin);
        if (rc != 0) {
            if (err) {
                unsigned line, col;
                util_linecol(text, len, (size_t)(b - text), &line, &col);
                err->source = source;
                err->line = line;
                err->col = col;
            }
            return rc;
        }
        p = b + used;
    }
    return 0;
}

static int add_text(sig_trust *trust, const char *source, const char *text, size_t len,
                    util_error *err)
{
    int rc;
    size_t before = sig_trust_count(trust);
    if (len > 0 && ((unsigned char)text[0] & 0x80)) {
        rc = sig_pgp__parse_keys(trust, (const unsigned char *)text, len, err);
        if (rc != 0 && err)
            err->source = source;
    } else if (find_cstr(text, len, "-----BEGIN " PGP_KEY_KIND "-----")) {
        rc = add_armoured(trust, source, text, len, err);
    } else if (find_cstr(text, len, "-----BEGIN ")) {
        rc = util_error_at(err, UTIL_EINVALID, source, 0, 0,
                           "armoured data that is not an OpenPGP public key block (a secret "
                           "key or a signature?)");
    } else {
        rc = sig_ssh__parse_allowed(trust, source, text, len, err);
    }
    if (rc == 0 && sig_trust_count(trust) == before)
        rc = util_error_at(err, UTIL_EINVALID, source, 0, 0, "no keys in the trust file");
    return rc;
}

int sig_trust_parse(sig_trust **out, const char *source, const char *text, size_t len,
                    util_error *err)
{
    sig_trust *t = trust_new();
    *out = NULL;
    if (!t)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    int rc = add_text(t, source, text, len, err);
    if (rc != 0) {
        sig_trust_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int sig_trust_load(sig_trust **out, const char *const *files, size_t n, util_error *err)
{
    sig_trust *t = trust_new();
    util_buf buf;
    int rc = 0;

    *out = NULL;
    if (!t)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (n == 0) {
        sig_trust_free(t);
        return util_error_set(err, UTIL_EINVALID, "no trust files given");
    }
    util_buf_init(&buf);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = util_file_read(&buf, files[i], LIMIT_TRUST_FILE, err);
        if (rc == 0)
            rc = add_text(t, files[i], buf.data, buf.len, err);
    }
    util_buf_release(&buf);
    if (rc != 0) {
        sig_trust_free(t);
        return rc;
    }
    *out = t;
    return 0;
}
