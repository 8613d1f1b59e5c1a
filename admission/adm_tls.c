/* adm_tls.c: the server's certificate and key. Loaded into refcounted GnuTLS pairs that the
 * handshake callback hands out, swapped when the files change (cert-manager rotates them in
 * place), and made self-signed with OpenSSL for the embedded default. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admission/adm.h"
#include "util/banned.h"

/* A chain longer than this is not a serving certificate. */
#define TLS_MAX_CHAIN 16
/* PEM files of a certificate chain or key. */
#define TLS_MAX_FILE (1u * 1024 * 1024)

struct adm__cred {
    atomic_int refs;
    gnutls_pcert_st pcerts[TLS_MAX_CHAIN];
    unsigned count;
    gnutls_privkey_t key;
};

/* What a file looked like when loaded; a change in any field means reload. */
typedef struct tls_stamp {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} tls_stamp;

struct adm__tls {
    pthread_mutex_t lock; /* guards cur */
    adm__cred *cur;       /* the pair new handshakes get; one reference held here */
    char *cert_path, *key_path;
    char *state_dir; /* set when the pair is self-signed */
    tls_stamp cert_stamp, key_stamp;
};

static void cred_free(adm__cred *c)
{
    for (unsigned i = 0; i < c->count; i++)
        gnutls_pcert_deinit(&c->pcerts[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    free(c);
}

void adm__cred_release(adm__cred *cred)
{
    if (cred != NULL && atomic_fetch_sub(&cred->refs, 1) == 1)
        cred_free(cred);
}

void adm__cred_get(adm__cred *cred, void **pcerts, unsigned *count, void **privkey)
{
    *pcerts = cred->pcerts;
    *count = cred->count;
    *privkey = cred->key;
}

static int stamp_get(tls_stamp *out, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->size = st.st_size;
    out->mtime = st.st_mtim;
    return 0;
}

static bool stamp_eq(const tls_stamp *a, const tls_stamp *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Load the pair at the paths into a new credential with one reference. */
static int cred_load(adm__cred **out, const char *cert_path, const char *key_path, util_error *err)
{
    util_buf cert, key;
    util_buf_init(&cert);
    util_buf_init(&key);
    int rc = util_file_read(&cert, cert_path, TLS_MAX_FILE, err);
    if (rc == 0)
        rc = util_file_read(&key, key_path, TLS_MAX_FILE, err);
    if (rc < 0)
        goto out_free_bufs;
    adm__cred *c = calloc(1, sizeof *c);
    if (c == NULL) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto out_free_bufs;
    }
    atomic_init(&c->refs, 1);
    gnutls_datum_t d = {(unsigned char *)cert.data, (unsigned)cert.len};
    c->count = TLS_MAX_CHAIN;
    int g = gnutls_pcert_list_import_x509_raw(c->pcerts, &c->count, &d, GNUTLS_X509_FMT_PEM, 0);
    if (g < 0) {
        c->count = 0;
        rc = util_error_set(err, UTIL_EINVALID, "cannot load certificate '%s': %s", cert_path,
                            gnutls_strerror(g));
        goto out_free_cred;
    }
    d = (gnutls_datum_t){(unsigned char *)key.data, (unsigned)key.len};
    if ((g = gnutls_privkey_init(&c->key)) < 0 ||
        (g = gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        rc = util_error_set(err, UTIL_EINVALID, "cannot load key '%s': %s", key_path,
                            gnutls_strerror(g));
        goto out_free_cred;
    }
    /* A key that does not belong to the certificate fails every handshake: refuse it here. */
    gnutls_pubkey_t certkey = c->pcerts[0].pubkey;
    gnutls_datum_t probe = {(unsigned char *)"sealgate", 8}, sig = {NULL, 0};
    gnutls_sign_algorithm_t algo =
        gnutls_pk_to_sign(gnutls_pubkey_get_pk_algorithm(certkey, NULL), GNUTLS_DIG_SHA256);
    g = gnutls_privkey_sign_data2(c->key, algo, 0, &probe, &sig);
    if (g >= 0)
        g = gnutls_pubkey_verify_data2(certkey, algo, 0, &probe, &sig);
    gnutls_free(sig.data);
    if (g < 0) {
        rc = util_error_set(err, UTIL_EINVALID, "key '%s' does not match certificate '%s'",
                            key_path, cert_path);
        goto out_free_cred;
    }
    *out = c;
    goto out_free_bufs;

out_free_cred:
    cred_free(c);
out_free_bufs:
    util_buf_release(&cert);
    util_buf_release_secret(&key);
    return rc;
}

/* ---- self-signed pair ------------------------------------------------------------------ */

static int ssl_fail(util_error *err, const char *what)
{
    return util_error_set(err, UTIL_EFAIL, "cannot make the self-signed certificate: %s", what);
}

static int selfsigned_cert(X509 **out, EVP_PKEY *pkey, util_error *err)
{
    X509 *x = X509_new();
    if (x == NULL)
        return ssl_fail(err, "out of memory");
    unsigned char serial[16];
    FILE *ur = fopen("/dev/urandom", "rb");
    if (ur == NULL || fread(serial, 1, sizeof serial, ur) != sizeof serial) {
        if (ur)
            fclose(ur);
        X509_free(x);
        return ssl_fail(err, "cannot read /dev/urandom");
    }
    fclose(ur);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    X509V3_CTX ctx;
    X509_EXTENSION *san = NULL, *bc = NULL;
    int ok = bn != NULL && X509_set_version(x, 2) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) && X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    ok = ok &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (unsigned char *)"sealgate", -1, -1,
                                    0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (unsigned char *)"localhost", -1, -1,
                                    0) &&
         X509_set_issuer_name(x, name);
    if (ok) {
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        san = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:FALSE");
        ok = san && bc && X509_add_ext(x, san, -1) && X509_add_ext(x, bc, -1) &&
             X509_sign(x, pkey, EVP_sha256()) > 0;
    }
    X509_EXTENSION_free(san);
    X509_EXTENSION_free(bc);
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return ssl_fail(err, "OpenSSL refused the certificate");
    }
    *out = x;
    return 0;
}

/* PEM text of an OpenSSL object written by fn into out. */
static int pem_to_buf(util_buf *out, BIO *bio)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    return n < 0 ? UTIL_EFAIL : util_buf_append(out, data, (size_t)n);
}

int adm__selfsigned_write(const char *cert_path, const char *key_path, util_error *err)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    if (pkey == NULL)
        return ssl_fail(err, "cannot generate an EC P-256 key");
    X509 *x = NULL;
    int rc = selfsigned_cert(&x, pkey, err);
    if (rc < 0)
        goto out_free_key;
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    util_buf kpem, cpem;
    util_buf_init(&kpem);
    util_buf_init(&cpem);
    if (kb == NULL || cb == NULL ||
        !PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cb, x) || pem_to_buf(&kpem, kb) < 0 || pem_to_buf(&cpem, cb) < 0) {
        rc = ssl_fail(err, "cannot encode PEM");
        goto out_free_bios;
    }
    if ((rc = util_file_write(key_path, kpem.data, kpem.len, 0600, err)) < 0 ||
        (rc = util_file_write(cert_path, cpem.data, cpem.len, 0644, err)) < 0)
        goto out_free_bios;

out_free_bios:
    util_buf_release_secret(&kpem);
    util_buf_release(&cpem);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(x);
out_free_key:
    EVP_PKEY_free(pkey);
    return rc;
}

/* The default state folder: $XDG_STATE_HOME/sealgate, else ./.state. */
static char *state_dir_default(void)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    util_buf b;
    util_buf_init(&b);
    if ((xdg && xdg[0] ? util_buf_printf(&b, "%s/sealgate", xdg) : util_buf_puts(&b, ".state")) < 0)
        return NULL;
    return util_buf_steal(&b, NULL);
}

int adm__mkdir_p(const char *path, util_error *err)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return util_error_set(err, UTIL_EINVALID, "state folder path too long");
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return util_error_set(err, UTIL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return util_error_set(err, UTIL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    return 0;
}

static char *path_join(const char *dir, const char *name)
{
    util_buf b;
    util_buf_init(&b);
    if (util_buf_printf(&b, "%s/%s", dir, name) < 0)
        return NULL;
    return util_buf_steal(&b, NULL);
}

/* Point tls at the self-signed pair in the state folder, making it when missing or when it
 * does not load (expired pairs are replaced by the loader's caller on the next start). */
static int tls_selfsigned_prepare(adm__tls *tls, const adm_config *cfg, util_error *err)
{
    tls->state_dir = cfg->state_dir ? strdup(cfg->state_dir) : state_dir_default();
    if (tls->state_dir == NULL)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    int rc = adm__mkdir_p(tls->state_dir, err);
    if (rc < 0)
        return rc;
    tls->cert_path = path_join(tls->state_dir, "tls.crt");
    tls->key_path = path_join(tls->state_dir, "tls.key");
    if (tls->cert_path == NULL || tls->key_path == NULL)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    struct stat st;
    if (stat(tls->cert_path, &st) == 0 && stat(tls->key_path, &st) == 0)
        return 0;
    return adm__selfsigned_write(tls->cert_path, tls->key_path, err);
}

int adm__tls_new(adm__tls **out, const adm_config *cfg, util_error *err)
{
    adm__tls *tls = calloc(1, sizeof *tls);
    if (tls == NULL)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    pthread_mutex_init(&tls->lock, NULL);
    int rc;
    if (cfg->tls_cert != NULL) {
        tls->cert_path = strdup(cfg->tls_cert);
        tls->key_path = strdup(cfg->tls_key);
        rc =
            tls->cert_path && tls->key_path ? 0 : util_error_set(err, UTIL_ENOMEM, "out of memory");
    } else {
        rc = tls_selfsigned_prepare(tls, cfg, err);
    }
    if (rc == 0 && (stamp_get(&tls->cert_stamp, tls->cert_path) < 0 ||
                    stamp_get(&tls->key_stamp, tls->key_path) < 0))
        rc = util_error_set(err, UTIL_EIO, "cannot read '%s' or '%s': %s", tls->cert_path,
                            tls->key_path, strerror(errno));
    if (rc == 0)
        rc = cred_load(&tls->cur, tls->cert_path, tls->key_path, err);
    if (rc < 0) {
        adm__tls_free(tls);
        return rc;
    }
    *out = tls;
    return 0;
}

void adm__tls_free(adm__tls *tls)
{
    if (tls == NULL)
        return;
    adm__cred_release(tls->cur);
    pthread_mutex_destroy(&tls->lock);
    free(tls->cert_path);
    free(tls->key_path);
    free(tls->state_dir);
    free(tls);
}

int adm__tls_poll(adm__tls *tls, util_error *err)
{
    tls_stamp c, k;
    if (stamp_get(&c, tls->cert_path) < 0 || stamp_get(&k, tls->key_path) < 0)
        return 0; /* mid-rotation (a symlink swap): look again on the next poll */
    if (stamp_eq(&c, &tls->cert_stamp) && stamp_eq(&k, &tls->key_stamp))
        return 0;
    adm__cred *fresh = NULL;
    int rc = cred_load(&fresh, tls->cert_path, tls->key_path, err);
    /* Remember the stamps either way: a broken pair is reported once, not every second. */
    tls->cert_stamp = c;
    tls->key_stamp = k;
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&tls->lock);
    adm__cred *old = tls->cur;
    tls->cur = fresh;
    pthread_mutex_unlock(&tls->lock);
    adm__cred_release(old);
    return 1;
}

adm__cred *adm__tls_acquire(adm__tls *tls)
{
    pthread_mutex_lock(&tls->lock);
    adm__cred *c = tls->cur;
    atomic_fetch_add(&c->refs, 1);
    pthread_mutex_unlock(&tls->lock);
    return c;
}

const char *adm__tls_cert_path(const adm__tls *tls)
{
    return tls->cert_path;
}

const char *adm__tls_state_dir(const adm__tls *tls)
{
    return tls->state_dir;
}
