/* sig_ssh.c: SSH signatures (OpenSSH PROTOCOL.sshsig) and git's allowed-signers trust format
 * (ssh-keygen(1) "ALLOWED SIGNERS"). Keys: ssh-ed25519 (libsodium), ssh-rsa with
 * rsa-sha2-256/512 and ecdsa-sha2-nistp256/384/521 (OpenSSL). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/sig_priv.h"
#include "util/banned.h"

#define SSHSIG_MAGIC     "SSHSIG"
#define SSHSIG_NAMESPACE "git"

/* ---- keys --------------------------------------------------------------------------------- */

static bool is_cert_type(sig_rd t)
{
    static const char suffix[] = "-cert-v01@openssh.com";
    size_t n = sizeof(suffix) - 1;
    return !t.bad && t.len >= n && memcmp(t.p + t.len - n, suffix, n) == 0;
}

int sig_ssh__parse_key(sig_pubkey *k, const unsigned char *blob, size_t len, util_error *err)
{
    sig_rd r = sig_rd_make(blob, len);
    sig_rd type = sig_rd__sshstr(&r);

    memset(k, 0, sizeof(*k));
    if (type.bad)
        return util_error_set(err, UTIL_ESYNTAX, "malformed SSH public key");
    if (sig_rd__eq(type, "ssh-ed25519")) {
        sig_rd pk = sig_rd__sshstr(&r);
        if (pk.bad || pk.len != 32 || r.len != 0)
            return util_error_set(err, UTIL_ESYNTAX, "malformed ssh-ed25519 public key");
        memcpy(k->ed, pk.p, 32);
        k->alg = SIG_ALG_ED25519;
        return 0;
    }
    if (sig_rd__eq(type, "ssh-rsa")) {
        sig_rd e = sig_rd__sshstr(&r), n = sig_rd__sshstr(&r);
        if (e.bad || n.bad || r.len != 0)
            return util_error_set(err, UTIL_ESYNTAX, "malformed ssh-rsa public key");
        if (sig_pubkey__rsa(k, n.p, n.len, e.p, e.len) != 0)
            return util_error_set(err, SIG_EUNSUPPORTED,
                                  "unusable ssh-rsa public key (under 2048 bits or invalid)");
        return 0;
    }
    static const struct {
        const char *type, *curve;
        unsigned bits;
    } curves[] = {
        {"ecdsa-sha2-nistp256", "nistp256", 256},
        {"ecdsa-sha2-nistp384", "nistp384", 384},
        {"ecdsa-sha2-nistp521", "nistp521", 521},
    };
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (!sig_rd__eq(type, curves[i].type))
            continue;
        sig_rd curve = sig_rd__sshstr(&r), q = sig_rd__sshstr(&r);
        if (curve.bad || q.bad || r.len != 0 || !sig_rd__eq(curve, curves[i].curve) ||
            sig_pubkey__ec(k, curves[i].bits, q.p, q.len) != 0)
            return util_error_set(err, UTIL_ESYNTAX, "malformed %s public key", curves[i].type);
        return 0;
    }
    if (is_cert_type(type))
        return util_error_set(err, SIG_EUNSUPPORTED,
                              "SSH certificates are not supported; trust the key itself");
    return util_error_set(err, SIG_EUNSUPPORTED, "SSH key type '%.*s' is not supported",
                          (int)(type.len > 60 ? 60 : type.len), (const char *)type.p);
}

void sig_ssh__fingerprint(char out[64], const unsigned char *blob, size_t len)
{
    unsigned char h[32];
    crypto_hash_sha256(h, blob, len);
    memcpy(out, "SHA256:", 7);
    sodium_bin2base64(out + 7, 64 - 7, h, sizeof(h), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

/* ---- allowed signers ---------------------------------------------------------------------- */

typedef struct line_cursor {
    const char *p, *end;
} line_cursor;

static void skip_ws(line_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* A whitespace-delimited token; double quotes group (and are kept). */
static util_slice next_token(line_cursor *c)
{
    skip_ws(c);
    const char *s = c->p;
    bool quoted = false;
    while (c->p < c->end && (quoted || (*c->p != ' ' && *c->p != '\t'))) {
        if (*c->p == '"')
            quoted = !quoted;
        c->p++;
    }
    return (util_slice){s, (size_t)(c->p - s)};
}

static bool is_key_type(util_slice t)
{
    static const char *const types[] = {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-dss",
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (util_slice_eq_cstr(t, types[i]))
            return true;
    return t.len > 21 && memcmp(t.ptr + t.len - 21, "-cert-v01@openssh.com", 21) == 0;
}

/* "YYYYMMDD[Z]" or "YYYYMMDDHHMM[SS][Z]", local time unless Z (ssh-keygen's
 * parse_absolute_time). */
static int parse_ssh_time(int64_t *out, const char *s, size_t n)
{
    bool utc = n > 0 && (s[n - 1] == 'Z' || s[n - 1] == 'z');
    if (utc)
        n--;
    if (n != 8 && n != 12 && n != 14)
        return -1;
    int v[7] = {0};
    static const int width[] = {4, 2, 2, 2, 2, 2};
    size_t off = 0;
    for (int i = 0; i < 6 && off < n; i++) {
        for (int j = 0; j < width[i]; j++, off++) {
            if (!isdigit((unsigned char)s[off]))
                return -1;
            v[i] = v[i] * 10 + (s[off] - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return -1;
    struct tm tm = {.tm_year = v[0] - 1900,
                    .tm_mon = v[1] - 1,
                    .tm_mday = v[2],
                    .tm_hour = v[3],
                    .tm_min = v[4],
                    .tm_sec = v[5],
                    .tm_isdst = -1};
    time_t t = utc ? timegm(&tm) : mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (int64_t)t;
    return 0;
}

static char *dup_slice(util_slice s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
    }
    return p;
}

static void ssh_key_release(sig_ssh_key *k)
{
    free(k->principals);
    free(k->namespaces);
    free(k->blob);
    sig_pubkey__release(&k->key);
    memset(k, 0, sizeof(*k));
}

/* Options: comma-separated, values in double quotes (commas inside quotes belong to them). */
static int parse_options(sig_ssh_key *k, util_slice opts, util_error *err)
{
    if (opts.len == 0) /* also when opts.ptr is NULL: no arithmetic on it */
        return 0;
    const char *p = opts.ptr, *end = opts.ptr + opts.len;
    while (p < end) {
        const char *s = p;
        bool quoted = false;
        while (p < end && (quoted || *p != ',')) {
            if (*p == '"')
                quoted = !quoted;
            p++;
        }
        util_slice opt = {s, (size_t)(p - s)};
        if (p < end)
            p++;
        const char *eq = memchr(opt.ptr, '=', opt.len);
        util_slice name = {opt.ptr, eq ? (size_t)(eq - opt.ptr) : opt.len};
        util_slice val = {eq ? eq + 1 : "", eq ? opt.len - name.len - 1 : 0};
        if (val.len >= 2 && val.ptr[0] == '"' && val.ptr[val.len - 1] == '"') {
            val.ptr++;
            val.len -= 2;
        } else if (memchr(val.ptr, '"', val.len)) {
            return util_error_set(err, UTIL_ESYNTAX, "unbalanced quote in option '%.*s'",
                                  (int)(name.len > 40 ? 40 : name.len), name.ptr);
        }
        char lname[32];
        if (name.len == 0 || name.len >= sizeof(lname))
            return util_error_set(err, UTIL_ESYNTAX, "empty or overlong option name");
        for (size_t i = 0; i < name.len; i++)
            lname[i] = (char)tolower((unsigned char)name.ptr[i]);
        lname[name.len] = '\0';
        if (strcmp(lname, "cert-authority") == 0)
            return util_error_set(err, SIG_EUNSUPPORTED,
                                  "'cert-authority' is not supported: list the signers' keys");
        if (!eq)
            return util_error_set(err, UTIL_ESYNTAX, "option '%s' needs a value", lname);
        if (strcmp(lname, "namespaces") == 0) {
            if (k->namespaces)
                return util_error_set(err, UTIL_ESYNTAX, "option 'namespaces' given twice");
            if (!(k->namespaces = dup_slice(val)))
                return util_error_set(err, UTIL_ENOMEM, "out of memory");
        } else if (strcmp(lname, "valid-after") == 0 || strcmp(lname, "valid-before") == 0) {
            bool after = lname[6] == 'a';
            int64_t *t = after ? &k->valid_after : &k->valid_before;
            if (*t != (after ? INT64_MIN : INT64_MAX))
                return util_error_set(err, UTIL_ESYNTAX, "option '%s' given twice", lname);
            if (parse_ssh_time(t, val.ptr, val.len) != 0)
                return util_error_set(err, UTIL_ESYNTAX,
                                      "option '%s': '%.*s' is not YYYYMMDD[HHMM[SS]][Z]", lname,
                                      (int)(val.len > 40 ? 40 : val.len), val.ptr);
        } else {
            return util_error_set(err, UTIL_ESYNTAX, "unknown option '%s'", lname);
        }
    }
    if (k->valid_after != INT64_MIN && k->valid_before != INT64_MAX &&
        k->valid_before <= k->valid_after)
        return util_error_set(err, UTIL_ESYNTAX, "valid-before is not after valid-after");
    return 0;
}

static int trust_push_ssh(sig_trust *trust, sig_ssh_key *k)
{
    if (trust->nssh == trust->capssh) {
        size_t cap = trust->capssh ? 2 * trust->capssh : 8;
        sig_ssh_key *n = realloc(trust->ssh, cap * sizeof(*n));
        if (!n)
            return UTIL_ENOMEM;
        trust->ssh = n;
        trust->capssh = cap;
    }
    trust->ssh[trust->nssh++] = *k;
    return 0;
}

static int parse_allowed_line(sig_ssh_key *k, util_slice line, util_error *err)
{
    line_cursor c = {line.ptr, line.ptr + line.len};
    util_slice principals = next_token(&c);
    util_slice tok = next_token(&c), opts = {NULL, 0};

    k->valid_after = INT64_MIN;
    k->valid_before = INT64_MAX;
    if (tok.len == 0)
        return util_error_set(err, UTIL_ESYNTAX,
                              "expected options or a key type after the "
                              "principals");
    if (!is_key_type(tok)) {
        opts = tok;
        tok = next_token(&c);
    }
    util_slice b64 = next_token(&c);
    if (!is_key_type(tok))
        return util_error_set(err, UTIL_ESYNTAX, "expected a key type, got '%.*s'",
                              (int)(tok.len > 40 ? 40 : tok.len), tok.ptr ? tok.ptr : "");
    if (b64.len == 0)
        return util_error_set(err, UTIL_ESYNTAX, "missing base64 key after '%.*s'", (int)tok.len,
                              tok.ptr);
    if (principals.len >= 2 && principals.ptr[0] == '"' &&
        principals.ptr[principals.len - 1] == '"') {
        principals.ptr++;
        principals.len -= 2;
    }
    if (principals.len == 0)
        return util_error_set(err, UTIL_ESYNTAX, "empty principals");
    if (!(k->principals = dup_slice(principals)))
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    int rc = parse_options(k, opts, err);
    if (rc != 0)
        return rc;
    k->blob = malloc(b64.len);
    if (!k->blob)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (sodium_base642bin(k->blob, b64.len, b64.ptr, b64.len, NULL, &k->blob_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return util_error_set(err, UTIL_ESYNTAX, "key is not valid base64");
    /* The key type written before the key must be the one inside it. */
    sig_rd r = sig_rd_make(k->blob, k->blob_len);
    sig_rd inner = sig_rd__sshstr(&r);
    if (inner.bad || inner.len != tok.len || memcmp(inner.p, tok.ptr, tok.len) != 0)
        return util_error_set(err, UTIL_ESYNTAX, "key is not of type '%.*s'", (int)tok.len,
                              tok.ptr);
    rc = sig_ssh__parse_key(&k->key, k->blob, k->blob_len, err);
    if (rc != 0)
        return rc;
    sig_ssh__fingerprint(k->fpr, k->blob, k->blob_len);
    return 0;
}

int sig_ssh__parse_allowed(sig_trust *trust, const char *source, const char *text, size_t len,
                           util_error *err)
{
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        util_slice line = {p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
        p = nl ? nl + 1 : end;
        lineno++;
        while (line.len > 0 && (line.ptr[line.len - 1] == '\r' || line.ptr[line.len - 1] == ' ' ||
                                line.ptr[line.len - 1] == '\t'))
            line.len--;
        while (line.len > 0 && (line.ptr[0] == ' ' || line.ptr[0] == '\t')) {
            line.ptr++;
            line.len--;
        }
        if (line.len == 0 || line.ptr[0] == '#')
            continue;
        sig_ssh_key k;
        memset(&k, 0, sizeof(k));
        int rc = parse_allowed_line(&k, line, err);
        if (rc == 0 && trust_push_ssh(trust, &k) != 0)
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        if (rc != 0) {
            ssh_key_release(&k);
            if (err) {
                err->source = source;
                err->line = lineno;
                err->col = 1;
            }
            return rc;
        }
    }
    return 0;
}

void sig_ssh_key__release(sig_ssh_key *k)
{
    ssh_key_release(k);
}

/* ---- signatures --------------------------------------------------------------------------- */

void sig_sshsig__release(sig_sshsig *s)
{
    free(s->blob);
    memset(s, 0, sizeof(*s));
}

int sig_ssh__parse_sig(sig_sshsig *out, const char *text, size_t len, util_error *err)
{
    static const char begin[] = "-----BEGIN SSH SIGNATURE-----";
    static const char end_mark[] = "-----END SSH SIGNATURE-----";
    const char *p = text, *end = text + len;

    memset(out, 0, sizeof(*out));
    if (len < sizeof(begin) - 1 || memcmp(p, begin, sizeof(begin) - 1) != 0)
        return util_error_set(err, SIG_EBADSIG, "not an SSH signature");
    p += sizeof(begin) - 1;
    const char *body = p, *stop = NULL;
    for (const char *q = p; q + sizeof(end_mark) - 1 <= end; q++) {
        if (*q == '-' && memcmp(q, end_mark, sizeof(end_mark) - 1) == 0 &&
            (q == body || q[-1] == '\n')) {
            stop = q;
            break;
        }
    }
    if (!stop)
        return util_error_set(err, SIG_EBADSIG, "SSH signature without its END line");
    size_t b64len = (size_t)(stop - body);
    out->blob = malloc(b64len + 1);
    if (!out->blob)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (sodium_base642bin(out->blob, b64len + 1, body, b64len, " \t\r\n", &out->blob_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        sig_sshsig__release(out);
        return util_error_set(err, SIG_EBADSIG, "SSH signature is not valid base64");
    }
    sig_rd r = sig_rd_make(out->blob, out->blob_len);
    sig_rd magic = sig_rd__take(&r, 6);
    uint32_t version = sig_rd__u32(&r);
    out->pubkey = sig_rd__sshstr(&r);
    out->ns = sig_rd__sshstr(&r);
    out->reserved = sig_rd__sshstr(&r);
    out->hashalg = sig_rd__sshstr(&r);
    out->sig = sig_rd__sshstr(&r);
    if (r.bad || magic.bad || memcmp(magic.p, SSHSIG_MAGIC, 6) != 0 || r.len != 0) {
        sig_sshsig__release(out);
        return util_error_set(err, SIG_EBADSIG, "malformed SSH signature blob");
    }
    if (version != 1) {
        sig_sshsig__release(out);
        return util_error_set(err, SIG_EUNSUPPORTED, "SSH signature version %u", version);
    }
    return 0;
}

/* Verify the key's signature blob over the SSHSIG signed data. */
static int verify_sig_blob(const sig_pubkey *k, sig_rd key_type, sig_rd blob,
                           const unsigned char *data, size_t len, util_error *err)
{
    sig_rd type = sig_rd__sshstr(&blob), sig = sig_rd__sshstr(&blob);
    if (type.bad || sig.bad || blob.len != 0)
        return util_error_set(err, SIG_EBADSIG, "malformed SSH signature");
    if (k->alg == SIG_ALG_ED25519) {
        if (!sig_rd__eq(type, "ssh-ed25519"))
            return util_error_set(err, SIG_EBADSIG, "signature type does not match the key");
        return sig_pubkey__verify(k, NULL, false, data, len, sig.p, sig.len, NULL, 0, NULL, 0);
    }
    if (k->alg == SIG_ALG_RSA) {
        const EVP_MD *md = sig_rd__eq(type, "rsa-sha2-512")   ? EVP_sha512()
                           : sig_rd__eq(type, "rsa-sha2-256") ? EVP_sha256()
                                                              : NULL;
        if (sig_rd__eq(type, "ssh-rsa"))
            return util_error_set(err, SIG_EWEAKHASH,
                                  "ssh-rsa (SHA-1) signature refused: sign with rsa-sha2-512");
        if (!md)
            return util_error_set(err, SIG_EBADSIG, "signature type does not match the key");
        return sig_pubkey__verify(k, md, false, data, len, sig.p, sig.len, NULL, 0, NULL, 0);
    }
    if (k->alg == SIG_ALG_ECDSA) {
        if (type.len != key_type.len || memcmp(type.p, key_type.p, type.len) != 0)
            return util_error_set(err, SIG_EBADSIG, "signature type does not match the key");
        sig_rd rs = sig, r = sig_rd__sshstr(&rs), s = sig_rd__sshstr(&rs);
        if (r.bad || s.bad || rs.len != 0)
            return util_error_set(err, SIG_EBADSIG, "malformed ECDSA signature");
        const EVP_MD *md = k->curve_bits == 256   ? EVP_sha256()
                           : k->curve_bits == 384 ? EVP_sha384()
                                                  : EVP_sha512();
        return sig_pubkey__verify(k, md, false, data, len, NULL, 0, r.p, r.len, s.p, s.len);
    }
    return util_error_set(err, SIG_EUNSUPPORTED, "unsupported key");
}

static int put_sshstr(util_buf *b, const void *p, size_t n)
{
    unsigned char l[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    return util_buf_append(b, l, 4) < 0 || util_buf_append(b, p, n) < 0 ? -1 : 0;
}

/* Does the allowed-signers pattern list (e.g. "git,file" or "*,!file") admit ns? */
static bool namespace_allowed(const char *list, const char *ns)
{
    bool yes = false;
    const char *p = list;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char pat[128];
        if (n < sizeof(pat)) {
            bool neg = n > 0 && p[0] == '!';
            memcpy(pat, p + neg, n - neg);
            pat[n - neg] = '\0';
            if (util_glob_match(pat, ns)) {
                if (neg)
                    return false;
                yes = true;
            }
        }
        p += n + (c ? 1 : 0);
    }
    return yes;
}

/* The key's allowed-signers options against the namespace and the times. */
static int check_line(const sig_ssh_key *k, const sig_when *when, util_error *err)
{
    char a[32], t[32];
    if (k->namespaces && !namespace_allowed(k->namespaces, SSHSIG_NAMESPACE))
        return util_error_set(err, SIG_ENAMESPACE,
                              "key of %s (%s) is not allowed to sign namespace 'git' "
                              "(namespaces=\"%s\")",
                              k->principals, k->fpr, k->namespaces);
    int64_t bad = sig_when__outside(when, 0, k->valid_after, 0);
    bool after = bad != 0;
    if (!bad && k->valid_before != INT64_MAX)
        bad = sig_when__outside(when, 0, INT64_MIN, k->valid_before);
    if (bad) {
        /* The reason first: err->msg is bounded and principals can be long. */
        sig_fmt_time(t, bad);
        sig_fmt_time(a, after ? k->valid_after : k->valid_before);
        return util_error_set(err, SIG_EWINDOW,
                              "outside the key's validity window: %s is %s %s %s (%s by %s)", t,
                              after ? "before" : "after", after ? "valid-after" : "valid-before", a,
                              k->fpr, k->principals);
    }
    return 0;
}

int sig_ssh__verify(sig_signer *out, const sig_trust *trust, const void *payload, size_t len,
                    const char *text, size_t text_len, const sig_when *when, util_error *err)
{
    sig_sshsig s;
    util_buf signed_data;
    unsigned char h[64];
    char fpr[64];
    int rc = sig_ssh__parse_sig(&s, text, text_len, err);
    if (rc != 0)
        return rc;
    util_buf_init(&signed_data);
    out->kind = SIG_SSH;
    sig_ssh__fingerprint(fpr, s.pubkey.p, s.pubkey.len);
    snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", fpr);
    snprintf(out->key, sizeof(out->key), "%s", fpr);

    sig_rd kr = s.pubkey;
    sig_rd key_type = sig_rd__sshstr(&kr);
    if (is_cert_type(key_type)) {
        rc = util_error_set(err, SIG_EUNSUPPORTED,
                            "signed with an SSH certificate, which "
                            "sealgate does not verify");
        goto out;
    }
    const sig_ssh_key *first = NULL;
    for (size_t i = 0; trust && i < trust->nssh; i++) {
        const sig_ssh_key *k = &trust->ssh[i];
        if (k->blob_len == s.pubkey.len && memcmp(k->blob, s.pubkey.p, k->blob_len) == 0) {
            first = k;
            break;
        }
    }
    if (!first) {
        rc = util_error_set(err, SIG_EUNTRUSTED, "signed by unknown SSH key %s (%.*s)", fpr,
                            (int)(key_type.len > 40 ? 40 : key_type.len),
                            key_type.bad ? "?" : (const char *)key_type.p);
        goto out;
    }
    snprintf(out->signer, sizeof(out->signer), "%s", first->principals);
    if (!sig_rd__eq(s.ns, SSHSIG_NAMESPACE)) {
        rc = util_error_set(err, SIG_ENAMESPACE,
                            "SSH signature by %s is for namespace '%.*s', not 'git'",
                            first->principals, (int)(s.ns.len > 40 ? 40 : s.ns.len), s.ns.p);
        goto out;
    }
    size_t hlen;
    if (sig_rd__eq(s.hashalg, "sha512")) {
        crypto_hash_sha512(h, payload, len);
        hlen = 64;
    } else if (sig_rd__eq(s.hashalg, "sha256")) {
        crypto_hash_sha256(h, payload, len);
        hlen = 32;
    } else {
        rc = util_error_set(err, SIG_EWEAKHASH, "SSH signature hash '%.*s' refused",
                            (int)(s.hashalg.len > 20 ? 20 : s.hashalg.len), s.hashalg.p);
        goto out;
    }
    if (util_buf_append(&signed_data, SSHSIG_MAGIC, 6) < 0 ||
        put_sshstr(&signed_data, s.ns.p, s.ns.len) != 0 ||
        put_sshstr(&signed_data, s.reserved.p, s.reserved.len) != 0 ||
        put_sshstr(&signed_data, s.hashalg.p, s.hashalg.len) != 0 ||
        put_sshstr(&signed_data, h, hlen) != 0) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto out;
    }
    util_error sub;
    util_error_clear(&sub);
    rc = verify_sig_blob(&first->key, key_type, s.sig, (const unsigned char *)signed_data.data,
                         signed_data.len, &sub);
    if (rc != 0) {
        if (rc == -1 || rc == SIG_EBADSIG)
            rc = util_error_set(err, SIG_EBADSIG, "bad signature by %s (%s)%s%s", first->principals,
                                fpr, sub.msg[0] ? ": " : "", sub.msg);
        else
            rc = util_error_set(err, rc, "%s", sub.msg);
        goto out;
    }
    /* The same key may be listed on several lines (other principals, windows): the first
     * line whose options admit the signature decides; else the first line's refusal. */
    rc = -1;
    for (size_t i = 0; i < trust->nssh && rc != 0; i++) {
        const sig_ssh_key *k = &trust->ssh[i];
        if (k->blob_len != s.pubkey.len || memcmp(k->blob, s.pubkey.p, k->blob_len) != 0)
            continue;
        util_error e2;
        util_error_clear(&e2);
        int r2 = check_line(k, when, k == first ? err : &e2);
        if (r2 == 0) {
            snprintf(out->signer, sizeof(out->signer), "%s", k->principals);
            rc = 0;
        } else if (k == first) {
            rc = r2;
        }
    }
    if (rc == 0)
        util_error_clear(err);
out:
    sodium_memzero(h, sizeof(h));
    util_buf_release(&signed_data);
    sig_sshsig__release(&s);
    return rc;
}
