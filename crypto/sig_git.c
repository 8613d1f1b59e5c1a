/* sig_git.c: signed git objects. Commits and tags are read raw from the object database and
 * their signature split off by a header-only parser (git's own rules: commit.c
 * parse_buffer_signed_by_header, gpg-interface.c parse_signed_buffer), then verified by the
 * SSH or OpenPGP verifier the signature's armour names. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sig_priv.h"
#include "util/banned.h"

void sig_split__init(sig_split *s)
{
    memset(s, 0, sizeof(*s));
    util_buf_init(&s->payload);
    util_buf_init(&s->sigbuf);
}

void sig_split__release(sig_split *s)
{
    util_buf_release(&s->payload);
    util_buf_release(&s->sigbuf);
    sig_split__init(s);
}

static bool starts_with(const char *p, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && memcmp(p, lit, n) == 0;
}

/* The time in an ident line "Name <mail> 1700000000 +0100": the first number after the last
 * '>'. 0 when there is none. */
static int64_t ident_time(const char *p, size_t len)
{
    const char *gt = NULL;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '>')
            gt = p + i;
    if (!gt)
        return 0;
    const char *q = gt + 1, *end = p + len;
    while (q < end && *q == ' ')
        q++;
    int64_t t = 0;
    int digits = 0;
    while (q < end && *q >= '0' && *q <= '9' && digits < 18) {
        t = t * 10 + (*q - '0');
        q++;
        digits++;
    }
    return digits ? t : 0;
}

/* Length of the line at p (without its '\n'), and whether a '\n' ends it. */
static size_t line_len(const char *p, const char *end, bool *nl)
{
    const char *e = memchr(p, '\n', (size_t)(end - p));
    *nl = e != NULL;
    return e ? (size_t)(e - p) : (size_t)(end - p);
}

int sig_split__commit(sig_split *out, const char *obj, size_t len, util_error *err)
{
    const char *p = obj, *end = obj + len;
    const char *sig_hdr = NULL; /* which header the signature came from */
    bool in_sig = false;        /* continuation lines belong to a signature header */

    while (p < end) {
        bool nl;
        size_t n = line_len(p, end, &nl);
        size_t full = n + (nl ? 1 : 0);
        if (n == 0) /* the empty line: headers end, the message is copied verbatim */
            break;
        if (p[0] == ' ') {
            if (in_sig) {
                /* A continuation of a signature header: one leading SP removed. */
                if (util_buf_append(&out->sigbuf, p + 1, n - 1) < 0 ||
                    util_buf_append(&out->sigbuf, "\n", 1) < 0)
                    return util_error_set(err, UTIL_ENOMEM, "out of memory");
                p += full;
                continue;
            }
        } else {
            in_sig = false;
            const char *name = starts_with(p, n, "gpgsig ")          ? "gpgsig"
                               : starts_with(p, n, "gpgsig-sha256 ") ? "gpgsig-sha256"
                                                                     : NULL;
            if (name) {
                /* git drops both algorithms' headers from the payload and verifies the one of
                 * the repository's object format; libgit2 1.5 reads SHA-1 repositories only,
                 * so `gpgsig` wins and a second header of the same name is refused. */
                if (sig_hdr && strcmp(sig_hdr, name) == 0)
                    return util_error_set(err, SIG_EBADSIG, "more than one '%s' header", name);
                bool use = !sig_hdr || strcmp(name, "gpgsig") == 0;
                size_t skip = strlen(name) + 1;
                if (use) {
                    sig_hdr = name;
                    out->sigbuf.len = 0;
                    if (util_buf_append(&out->sigbuf, p + skip, n - skip) < 0 ||
                        util_buf_append(&out->sigbuf, "\n", 1) < 0)
                        return util_error_set(err, UTIL_ENOMEM, "out of memory");
                    in_sig = true;
                } else {
                    in_sig = false;
                }
                p += full;
                /* Drop the unused header's continuation lines from the payload too. */
                if (!use)
                    while (p < end && p[0] == ' ') {
                        size_t m = line_len(p, end, &nl);
                        p += m + (nl ? 1 : 0);
                    }
                continue;
            }
            if (starts_with(p, n, "committer "))
                out->time = ident_time(p, n);
        }
        if (util_buf_append(&out->payload, p, full) < 0)
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
        p += full;
    }
    if (util_buf_append(&out->payload, p, (size_t)(end - p)) < 0)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    out->sig = sig_hdr ? out->sigbuf.data : NULL;
    return 0;
}

static const char *const armour_starts[] = {
    "-----BEGIN PGP SIGNATURE-----",
    "-----BEGIN PGP MESSAGE-----",
    "-----BEGIN SSH SIGNATURE-----",
    "-----BEGIN SIGNED MESSAGE-----",
};

static bool is_armour_start(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof(armour_starts) / sizeof(armour_starts[0]); i++)
        if (starts_with(p, n, armour_starts[i]))
            return true;
    return false;
}

int sig_split__tag(sig_split *out, const char *obj, size_t len, util_error *err)
{
    const char *p = obj, *end = obj + len, *body = NULL, *sig = NULL;

    /* Headers: tagger time and tag name. */
    while (p < end) {
        bool nl;
        size_t n = line_len(p, end, &nl);
        if (n == 0) {
            body = p + (nl ? 1 : 0);
            break;
        }
        if (starts_with(p, n, "tagger "))
            out->time = ident_time(p, n);
        else if (starts_with(p, n, "tag "))
            out->tagname = (util_slice){p + 4, n - 4};
        p += n + (nl ? 1 : 0);
    }
    /* The signature starts at the last line of the message that opens an armour. */
    for (p = body; p && p < end;) {
        bool nl;
        size_t n = line_len(p, end, &nl);
        if (is_armour_start(p, n))
            sig = p;
        p += n + (nl ? 1 : 0);
    }
    if (!sig)
        sig = end;
    if (util_buf_append(&out->payload, obj, (size_t)(sig - obj)) < 0 ||
        util_buf_append(&out->sigbuf, sig, (size_t)(end - sig)) < 0)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    out->sig = sig < end ? out->sigbuf.data : NULL;
    return 0;
}

int sig_verify_buffer(sig_signer *out, const sig_trust *trust, const void *payload,
                      size_t payload_len, const char *signature, size_t sig_len,
                      const sig_when *when, const char *what, util_error *err)
{
    sig_signer scratch;
    int rc;

    if (!out)
        out = &scratch;
    memset(out, 0, sizeof(*out));
    if (when)
        out->signed_at = when->signed_at;
    /* Leading blank lines are tolerated; the armour line decides the verifier. */
    if (!signature)
        sig_len = 0;
    while (sig_len > 0 && (signature[0] == '\n' || signature[0] == '\r' || signature[0] == ' ')) {
        signature++;
        sig_len--;
    }
    if (sig_len == 0)
        rc = util_error_set(err, SIG_EUNSIGNED, "unsigned");
    else if (starts_with(signature, sig_len, "-----BEGIN SSH SIGNATURE-----"))
        rc = sig_ssh__verify(out, trust, payload, payload_len, signature, sig_len, when, err);
    else if (starts_with(signature, sig_len, "-----BEGIN PGP SIGNATURE-----"))
        rc = sig_pgp__verify(out, trust, payload, payload_len, signature, sig_len, when, err);
    else if (starts_with(signature, sig_len, "-----BEGIN SIGNED MESSAGE-----"))
        rc = util_error_set(err, SIG_EUNSUPPORTED,
                            "X.509 (gpgsm, gitsign) signatures are not "
                            "supported; sign with SSH or OpenPGP");
    else
        rc = util_error_set(err, SIG_EBADSIG,
                            "signature is neither an SSH nor an OpenPGP "
                            "signature");
    if (rc != 0 && what)
        util_error_prefix(err, "%s", what);
    return rc;
}

/* Read the raw object id of the given type. */
static int read_object(git_odb_object **out, git_repository *repo, const git_oid *id,
                       git_object_t type, const char *what, util_error *err)
{
    git_odb *odb = NULL;
    int rc = git_repository_odb(&odb, repo);
    if (rc == 0)
        rc = git_odb_read(out, odb, id);
    git_odb_free(odb);
    if (rc != 0) {
        const git_error *ge = git_error_last();
        return util_error_set(err, UTIL_ENOTFOUND, "%s: cannot read object: %s", what,
                              ge && ge->message ? ge->message : "unknown error");
    }
    git_object_t got = git_odb_object_type(*out);
    if (got != type) {
        git_odb_object_free(*out);
        *out = NULL;
        return util_error_set(err, UTIL_EINVALID, "%s: is a %s, not a %s", what,
                              git_object_type2string(got), git_object_type2string(type));
    }
    return 0;
}

int sig_git__verify(sig_signer *out, const sig_trust *trust, git_repository *repo,
                    const git_oid *id, git_object_t type, const char *name, const char *what,
                    int64_t first_seen, util_error *err)
{
    char shortid[GIT_OID_HEXSZ + 1], own[320];
    git_odb_object *obj = NULL;
    sig_split split;
    sig_signer scratch;
    int rc;

    if (!out)
        out = &scratch;
    memset(out, 0, sizeof(*out));
    if (!what) {
        git_oid_tostr(shortid, 8, id);
        if (type == GIT_OBJECT_TAG && name)
            snprintf(own, sizeof(own), "tag %.200s (%s)", name, shortid);
        else
            snprintf(own, sizeof(own), "%s %s", type == GIT_OBJECT_TAG ? "tag" : "commit", shortid);
        what = own;
    }
    rc = read_object(&obj, repo, id, type, what, err);
    if (rc != 0)
        return rc;
    sig_split__init(&split);
    const char *data = git_odb_object_data(obj);
    size_t len = git_odb_object_size(obj);
    rc = type == GIT_OBJECT_TAG ? sig_split__tag(&split, data, len, err)
                                : sig_split__commit(&split, data, len, err);
    if (rc != 0) {
        util_error_prefix(err, "%s", what);
        goto out;
    }
    if (name && !util_slice_eq_cstr(split.tagname, name)) {
        rc = util_error_set(err, SIG_ETAGNAME, "%s: names itself '%.*s', not '%s'", what,
                            (int)(split.tagname.len > 100 ? 100 : split.tagname.len),
                            split.tagname.ptr ? split.tagname.ptr : "", name);
        goto out;
    }
    if (!split.sig) {
        out->signed_at = split.time;
        rc = util_error_set(err, SIG_EUNSIGNED, "%s: unsigned", what);
        goto out;
    }
    sig_when when = {split.time, first_seen};
    rc = sig_verify_buffer(out, trust, split.payload.data, split.payload.len, split.sig,
                           split.sigbuf.len, &when, what, err);
out:
    sig_split__release(&split);
    git_odb_object_free(obj);
    return rc;
}

int sig_verify_commit(sig_signer *out, const sig_trust *trust, git_repository *repo,
                      const git_oid *commit, int64_t first_seen, util_error *err)
{
    return sig_git__verify(out, trust, repo, commit, GIT_OBJECT_COMMIT, NULL, NULL, first_seen,
                           err);
}

int sig_verify_tag(sig_signer *out, const sig_trust *trust, git_repository *repo,
                   const git_oid *tag, const char *name, int64_t first_seen, util_error *err)
{
    return sig_git__verify(out, trust, repo, tag, GIT_OBJECT_TAG, name, NULL, first_seen, err);
}
