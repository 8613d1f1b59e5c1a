/* pol_k8s.c: the Kubernetes and secrets knowledge behind the built-ins: resource quantities,
 * image references, sealed values and credential formats. Pure functions over bytes; the
 * credential scanner names what it found and never copies it. */
#include "policy/pol_int.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

#include "util/banned.h"

/* ---- quantities ----------------------------------------------------------------------- */

/* A resource quantity as Kubernetes writes them: a signed decimal, then a binary suffix
 * (Ki..Ei), a decimal suffix (n u m k M G T P E) or an exponent (e3, E-2). */
bool pol_k8s__quantity(double *out, const char *s, size_t len)
{
    static const struct {
        const char *sfx;
        double mul;
    } suffixes[] = {
        {"Ki", 1024.0},
        {"Mi", 1048576.0},
        {"Gi", 1073741824.0},
        {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0},
        {"Ei", 1152921504606846976.0},
        {"n", -1e9}, /* negative: divide, which rounds exactly where multiplying does not */
        {"u", -1e6},
        {"m", -1e3},
        {"k", 1e3},
        {"M", 1e6},
        {"G", 1e9},
        {"T", 1e12},
        {"P", 1e15},
        {"E", 1e18},
    };
    size_t i = 0;
    double sign = 1, v = 0, scale = 1;
    bool digits = false;
    if (len == 0 || len > 64)
        return false;
    if (s[i] == '+' || s[i] == '-')
        sign = s[i++] == '-' ? -1 : 1;
    while (i < len && isdigit((unsigned char)s[i])) {
        v = v * 10 + (s[i++] - '0');
        digits = true;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && isdigit((unsigned char)s[i])) {
            scale /= 10;
            v += (s[i++] - '0') * scale;
            digits = true;
        }
    }
    if (!digits)
        return false;
    v *= sign;
    if (i == len) {
        *out = v;
        return true;
    }
    size_t rest = len - i;
    for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
        if (strlen(suffixes[k].sfx) == rest && memcmp(s + i, suffixes[k].sfx, rest) == 0) {
            double m = suffixes[k].mul;
            *out = m < 0 ? v / -m : v * m;
            return true;
        }
    }
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        int esign = 1, e = 0;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            esign = s[j++] == '-' ? -1 : 1;
        if (j == len)
            return false;
        while (j < len && isdigit((unsigned char)s[j])) {
            e = e * 10 + (s[j++] - '0');
            if (e > 400)
                return false;
        }
        if (j != len)
            return false;
        *out = esign < 0 ? v / pow(10, e) : v * pow(10, e);
        return true;
    }
    return false;
}

/* ---- image references ----------------------------------------------------------------- */

static util_slice sl(const char *p, size_t n)
{
    return (util_slice){p, n};
}

/* Parse [registry/]repository[:tag][@digest] as docker does: the first component is a
 * registry when it has a '.' or a ':' or is "localhost"; otherwise docker.io, where one-part
 * names live under "library/". */
bool pol_k8s__image(pol_image_ref *out, const char *s, size_t len)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > 1024)
        return false;
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]) || !isprint((unsigned char)s[i]))
            return false;
    const char *at = memchr(s, '@', len);
    size_t name_len = at ? (size_t)(at - s) : len;
    if (at) {
        out->digest = sl(at + 1, len - name_len - 1);
        if (out->digest.len == 0 || !memchr(out->digest.ptr, ':', out->digest.len))
            return false;
    }
    /* The tag: after the last ':' that comes after the last '/'. */
    size_t last_slash = SIZE_MAX;
    for (size_t i = 0; i < name_len; i++)
        if (s[i] == '/')
            last_slash = i;
    size_t from = last_slash == SIZE_MAX ? 0 : last_slash + 1;
    const char *colon = memchr(s + from, ':', name_len - from);
    size_t repo_end = name_len;
    if (colon) {
        out->tag = sl(colon + 1, name_len - (size_t)(colon - s) - 1);
        repo_end = (size_t)(colon - s);
        if (out->tag.len == 0)
            return false;
    }
    const char *slash = memchr(s, '/', repo_end);
    if (slash) {
        size_t n = (size_t)(slash - s);
        bool reg = memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && !memcmp(s, "localhost", 9));
        if (reg) {
            out->registry = sl(s, n);
            out->repository = sl(slash + 1, repo_end - n - 1);
        }
    }
    if (!out->registry.ptr) {
        out->registry = sl("docker.io", 9);
        out->default_registry = true;
        out->repository = sl(s, repo_end);
    }
    if (out->repository.len == 0 || out->registry.len == 0)
        return false;
    return true;
}

/* ---- base64 and sealed values --------------------------------------------------------- */

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

long pol_k8s__base64_decode(unsigned char *out, const char *s, size_t len)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    while (len > 0 && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)n;
}

#define SEALED_PREFIX "sg1:"

bool pol_k8s__is_sealed(const char *s, size_t len)
{
    if (len >= 4 && memcmp(s, SEALED_PREFIX, 4) == 0)
        return true;
    /* base64 of a sealed value, as the apiserver stores stringData under data: decoding the
     * first 8 characters gives the first 6 bytes. */
    if (len >= 8) {
        unsigned char head[8];
        if (pol_k8s__base64_decode(head, s, 8) == 6 && memcmp(head, SEALED_PREFIX, 4) == 0)
            return true;
    }
    return false;
}

/* ---- credentials ---------------------------------------------------------------------- */

static bool is_alnum(char c)
{
    return isalnum((unsigned char)c);
}

static bool is_tokchar(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Count characters from p that satisfy pred, at most max. */
static size_t run(const char *p, const char *end, bool (*pred)(char), size_t max)
{
    size_t n = 0;
    while (p + n < end && n < max && pred(p[n]))
        n++;
    return n;
}

static bool upper_or_digit(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Does the token starting at p begin at a word boundary? */
static bool boundary_before(const char *s, const char *p)
{
    return p == s || !is_alnum(p[-1]);
}

static const char *scan_known(const char *s, size_t len)
{
    const char *end = s + len;
    for (const char *p = s; p < end; p++) {
        size_t left = (size_t)(end - p);
        switch (*p) {
        case '-':
            if (left >= 11 && memcmp(p, "-----BEGIN ", 11) == 0) {
                const char *eol = memchr(p + 11, '-', left - 11);
                if (eol && (size_t)(eol - p) < 64) {
                    const char *hit = NULL;
                    for (const char *q = p + 11; q + 11 <= eol; q++)
                        if (memcmp(q, "PRIVATE KEY", 11) == 0)
                            hit = q;
                    if (hit)
                        return "private-key";
                }
            }
            break;
        case 'A':
            if (left >= 20 && (memcmp(p, "AKIA", 4) == 0 || memcmp(p, "ASIA", 4) == 0) &&
                boundary_before(s, p) && run(p + 4, end, upper_or_digit, 17) == 16)
                return "aws-access-key-id";
            if (left >= 39 && memcmp(p, "AIza", 4) == 0 && boundary_before(s, p) &&
                run(p + 4, end, is_tokchar, 36) == 35)
                return "google-api-key";
            break;
        case 'g':
            if (left >= 40 && p[1] == 'h' && p[2] && strchr("pousr", p[2]) && p[3] == '_' &&
                boundary_before(s, p) && run(p + 4, end, is_alnum, 37) >= 36)
                return "github-token";
            if (left >= 33 && memcmp(p, "github_pat_", 11) == 0 &&
                run(p + 11, end, is_tokchar, 100) >= 22)
                return "github-token";
            if (left >= 26 && memcmp(p, "glpat-", 6) == 0 && run(p + 6, end, is_tokchar, 100) >= 20)
                return "gitlab-token";
            break;
        case 'x':
            if (left >= 15 && p[1] == 'o' && p[2] == 'x' && p[3] && strchr("abposr", p[3]) &&
                p[4] == '-' && boundary_before(s, p) && run(p + 5, end, is_tokchar, 100) >= 10)
                return "slack-token";
            break;
        case 's':
        case 'r':
            if (left >= 32 && memcmp(p + 1, "k_live_", 7) == 0 && boundary_before(s, p) &&
                run(p + 8, end, is_alnum, 100) >= 24)
                return "stripe-key";
            break;
        case 'e':
            if (left >= 20 && memcmp(p, "eyJ", 3) == 0 && boundary_before(s, p)) {
                size_t h = run(p, end, is_tokchar, 4096);
                if (p + h < end && p[h] == '.' && h >= 10) {
                    const char *q = p + h + 1;
                    size_t b = run(q, end, is_tokchar, 65536);
                    if (b >= 10 && q + b < end && q[b] == '.' && memcmp(q, "eyJ", 3) == 0)
                        return "jwt";
                }
            }
            break;
        default:
            break;
        }
    }
    return NULL;
}

double pol_k8s__entropy(const char *s, size_t len)
{
    size_t counts[256] = {0};
    double h = 0;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        counts[(unsigned char)s[i]]++;
    for (int i = 0; i < 256; i++) {
        if (!counts[i])
            continue;
        double p = (double)counts[i] / (double)len;
        h -= p * log2(p);
    }
    return h;
}

bool pol_k8s__secret_like(const char *key, size_t len)
{
    static const char *const words[] = {"password", "passwd",     "secret",     "token",
                                        "apikey",   "accesskey",  "privatekey", "credential",
                                        "authkey",  "passphrase", "pwd",        "clientkey"};
    char norm[128];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof(norm) - 1; i++) {
        char ch = key[i];
        if (ch == '-' || ch == '_' || ch == '.')
            continue;
        norm[n++] = (char)tolower((unsigned char)ch);
    }
    norm[n] = '\0';
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(norm, words[i]))
            return true;
    return false;
}

const char *pol_k8s__credential(const char *s, size_t len)
{
    return scan_known(s, len);
}

/* A value that looks machine-made: long and varied, not a reference or a sealed value. */
bool pol_k8s__high_entropy(const char *s, size_t len)
{
    int classes = 0;
    bool lo = false, up = false, dg = false, sym = false;
    if (len < 8 || pol_k8s__is_sealed(s, len))
        return false;
    if (memchr(s, ' ', len) || (len >= 2 && s[0] == '$' && (s[1] == '{' || s[1] == '(')))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        lo |= islower(ch) != 0;
        up |= isupper(ch) != 0;
        dg |= isdigit(ch) != 0;
        sym |= ispunct(ch) != 0;
    }
    classes = lo + up + dg + sym;
    double h = pol_k8s__entropy(s, len);
    return (len >= 16 && h >= 3.5 && classes >= 2) || (len >= 8 && h >= 2.8 && classes >= 3);
}
