/* adm_server.c: the HTTPS server. One thread accepts connections and hands each to the least
 * busy of the workers, each a libmicrohttpd daemon (GnuTLS backend) with its own thread, two
 * per core; each request's body is bounded as it arrives, decoded, answered by adm__admit and
 * freed at once with its arena. The main thread waits for signals and polls the certificate, rule
 * and sealing key files, swapping any of them without stopping the server. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "admission/adm.h"
#include "crypto/seal.h"
#include "util/limits.h"
#include "util/banned.h"

/* TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy (Mozilla "intermediate"). */
#define SRV_TLS_PRIORITIES                                                                         \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"            \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:+GROUP-X25519:"  \
    "+GROUP-SECP256R1:+GROUP-SECP384R1:%SERVER_PRECEDENCE"
/* How often the main thread looks at the certificate, rule and key files. */
#define SRV_POLL_MS 500
/* SIGTERM waits this long for in-flight requests before it stops anyway. */
#define SRV_DRAIN_MS 25000
/* Per-request arena block: most AdmissionReviews evaluate within one. */
#define SRV_ARENA_BLOCK (32u * 1024)
/* The body of a refused request (over limits.body, or a wrong path, method or Content-Type)
 * is read and dropped before the refusal is sent: answering while the client still sends
 * makes the kernel reset the connection, and the reset swallows the answer (nginx's lingering
 * close, docs/configuration.md "Limits"). The dropping is bounded: up to this many times
 * limits.body (and at least SRV_DISCARD_MIN) in all, for at most SRV_DISCARD_MS; past either
 * the connection is closed without an answer. A Content-Length over the cap is answered at
 * once. */
#define SRV_DISCARD_FACTOR 4
#define SRV_DISCARD_MIN    (8u * 1024 * 1024)
#define SRV_DISCARD_MS     2000
/* The client CA bundle file. */
#define SRV_MAX_CA_FILE (4u * 1024 * 1024)
/* libmicrohttpd's per-connection buffer, which holds a request's headers and which it zeroes
 * whole between requests (32 KiB by default, 2% of the webhook's CPU). The apiserver's headers
 * take well under 1 KiB; bodies are handed over in pieces, whatever their size. */
#define SRV_CONNECTION_MEMORY (16u * 1024)
/* At most this many cores count towards the default number of workers: the apiserver keeps
 * tens of connections, not hundreds, and on a big node most workers would idle. */
#define SRV_CORES_MAX 16

/* A worker: one libmicrohttpd daemon and its polling thread, fed by the acceptor. */
typedef struct srv_worker {
    adm_server *srv;
    struct MHD_Daemon *daemon;
    atomic_int connections; /* open, as counted from the hand-over to the close */
} srv_worker;

struct adm_server {
    const adm_config *cfg;
    srv_worker *workers;
    unsigned nworkers; /* started */
    int listen_fd;     /* -1: closed */
    pthread_t acceptor;
    bool accepting;             /* the acceptor thread runs */
    atomic_bool stop_accepting; /* tells it to return */
    adm__tls *tls;
    adm__rules *rules;
    adm__prov *prov; /* NULL: provenance off */
    adm__metrics *metrics;
    adm__engine engine; /* engine.keys is set per request */
    adm__keys *keys;
    util_buf client_ca; /* PEM bundle when tls.clientCA is set */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    unsigned port;
    unsigned threads;
    atomic_int inflight;  /* requests received and not yet answered */
    atomic_int fresh;     /* connections accepted that have not begun a request yet */
    atomic_bool draining; /* SIGTERM seen: answers close their connections */
    pthread_mutex_t state_lock;
    char tls_error[512]; /* last failed certificate reload, "" when fine */
    char mhd_error[256]; /* last message of libmicrohttpd, for start failures */
};

/* Per connection: the certificate pair its handshake was given. */
typedef struct srv_conn {
    adm_server *srv;
    adm__cred *cred;
    bool fresh; /* accepted, no request begun yet: the drain waits for it */
} srv_conn;

enum srv_route { R_NONE, R_VALIDATE, R_MUTATE, R_HEALTHZ, R_READYZ, R_METRICS };

/* Per request. */
typedef struct srv_req {
    enum srv_route route;
    int refused; /* the refusal's status (413 over limits.body, 404, 405, 415), answered
                    once the body is dropped; 0: not refused */
    util_buf body;
    size_t received;     /* body bytes so far */
    uint64_t discard_t0; /* when dropping began */
    uint64_t t0;
} srv_req;

/* ---- TLS hooks ------------------------------------------------------------------------- */

/* GnuTLS asks for the server certificate during each handshake: hand out the current pair and
 * keep a reference on the connection, so a reload never frees a pair a session still uses.
 * libmicrohttpd sets the session's pointer to its connection; our connection context holds
 * the server (the callback type carries no closure). */
static int srv_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                             const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                             gnutls_pcert_st **pcert, unsigned int *pcert_length,
                             gnutls_privkey_t *privkey)
{
    struct MHD_Connection *conn = gnutls_session_get_ptr(session);
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    srv_conn *sc = ci ? ci->socket_context : NULL;
    if (sc == NULL)
        return -1;
    if (sc->cred == NULL)
        sc->cred = adm__tls_acquire(sc->srv->tls);
    void *certs, *key;
    adm__cred_get(sc->cred, &certs, pcert_length, &key);
    *pcert = certs;
    *privkey = key;
    return 0;
}

static void srv_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                  enum MHD_ConnectionNotificationCode toe)
{
    srv_worker *w = cls;
    adm_server *srv = w->srv;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        srv_conn *sc = calloc(1, sizeof *sc);
        if (sc != NULL) {
            sc->srv = srv;
            sc->fresh = true;
            atomic_fetch_add(&srv->fresh, 1);
        }
        *socket_context = sc;
        if (srv->client_ca.len > 0) {
            /* libmicrohttpd only *requests* a client certificate; require and verify it in
             * the handshake so a client without one never gets to send a byte. */
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
            if (ci != NULL) {
                gnutls_certificate_server_set_request(ci->tls_session, GNUTLS_CERT_REQUIRE);
                gnutls_session_set_verify_cert(ci->tls_session, NULL, 0);
            }
        }
        return;
    }
    atomic_fetch_sub(&w->connections, 1);
    srv_conn *sc = *socket_context;
    if (sc != NULL) {
        if (sc->fresh)
            atomic_fetch_sub(&srv->fresh, 1);
        adm__cred_release(sc->cred);
        free(sc);
        *socket_context = NULL;
    }
}

/* libmicrohttpd's own messages (handshake failures, limits) go to the debug log; the last one
 * is kept to explain a failed start. */
static void srv_mhd_logger(void *cls, const char *fmt, va_list ap) UTIL_PRINTF(2, 0);
static void srv_mhd_logger(void *cls, const char *fmt, va_list ap)
{
    adm_server *srv = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    pthread_mutex_lock(&srv->state_lock);
    snprintf(srv->mhd_error, sizeof srv->mhd_error, "%s", msg);
    pthread_mutex_unlock(&srv->state_lock);
    adm__log(srv->cfg->log_level, ADM_LOG_DEBUG, NULL, "libmicrohttpd: %s", msg);
}

/* ---- answers --------------------------------------------------------------------------- */

/* libmicrohttpd lets go of an answer's text here. Wiped: a /mutate answer carries the values
 * it unsealed. */
static void srv_body_free(void *cls)
{
    util_buf *held = cls;
    util_buf_release_secret(held);
    free(held);
}

/* Send body (taken) with status and Content-Type type. */
static enum MHD_Result srv_send(adm_server *srv, struct MHD_Connection *conn, unsigned status,
                                const char *type, util_buf *body)
{
    util_buf *held = malloc(sizeof *held);
    if (held == NULL) {
        util_buf_release_secret(body);
        return MHD_NO;
    }
    *held = *body;
    util_buf_init(body);
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
        held->len, held->data ? held->data : (char *)"", srv_body_free, held);
    if (resp == NULL) {
        srv_body_free(held);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (atomic_load(&srv->draining))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static const char *srv_reason(unsigned status)
{
    switch (status) {
    case 400:
        return "BadRequest";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 413:
        return "RequestEntityTooLarge";
    case 415:
        return "UnsupportedMediaType";
    default:
        return "InternalError";
    }
}

/* An error answer: a metav1.Status, as the apiserver's own errors read. */
/* Send doc's text and a newline; takes doc (NULL: out of memory, the connection is dropped). */
static enum MHD_Result srv_send_json(adm_server *srv, struct MHD_Connection *conn, unsigned status,
                                     json_t *doc, size_t flags)
{
    util_buf body;
    util_buf_init(&body);
    int rc = doc ? util_json_dump(&body, doc, flags) : UTIL_ENOMEM;
    json_decref(doc);
    if (rc < 0 || util_buf_puts(&body, "\n") < 0) {
        util_buf_release(&body);
        return MHD_NO;
    }
    return srv_send(srv, conn, status, "application/json", &body);
}

static enum MHD_Result srv_send_error(adm_server *srv, struct MHD_Connection *conn, unsigned status,
                                      const char *msg)
{
    json_t *st = json_pack("{s:s, s:s, s:s, s:s%, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                           "status", "Failure", "message", msg, strlen(msg), "reason",
                           srv_reason(status), "code", (int)status);
    return srv_send_json(srv, conn, status, st, JSON_COMPACT);
}

/* ---- endpoints ------------------------------------------------------------------------- */

static enum MHD_Result srv_readyz(adm_server *srv, struct MHD_Connection *conn)
{
    json_t *rules = adm__rules_status(srv->rules);
    pthread_mutex_lock(&srv->state_lock);
    json_t *tls = json_pack("{s:b, s:s}", "loaded", true, "cert", adm__tls_cert_path(srv->tls));
    if (tls != NULL && srv->tls_error[0] != '\0')
        json_object_set_new(tls, "error", json_string(srv->tls_error));
    pthread_mutex_unlock(&srv->state_lock);
    json_t *prov = adm__prov_status(srv->prov);
    /* Ready once a rule set is in force and, with provenance on, a commit is accepted. */
    bool ready = json_object_get(rules, "error") == NULL ||
                 json_integer_value(json_object_get(rules, "loaded")) > 0;
    if (srv->prov != NULL && !json_is_true(json_object_get(prov, "ready")))
        ready = false;
    /* A failed key reload leaves the old keys serving: shown, but still ready. */
    json_t *doc =
        json_pack("{s:s, s:{s:b, s:s}, s:o*, s:o*, s:o*, s:o*}", "status",
                  ready ? "ready" : "not ready", "config", "loaded", true, "source",
                  srv->cfg->source ? srv->cfg->source : "embedded default", "tls", tls, "rules",
                  rules, "sealing", adm__keys_status(srv->keys), "provenance", prov);
    return srv_send_json(srv, conn, ready ? 200 : 503, doc, JSON_INDENT(2));
}

/* Open connections per worker: how evenly the acceptor spreads them. */
static int srv_metrics_workers(adm_server *srv, util_buf *out)
{
    int rc = util_buf_puts(out, "# HELP sealgate_worker_connections Open connections per worker "
                                "thread.\n# TYPE sealgate_worker_connections gauge\n");
    for (unsigned i = 0; i < srv->nworkers && rc == 0; i++)
        rc = util_buf_printf(out, "sealgate_worker_connections{worker=\"%u\"} %d\n", i,
                             atomic_load(&srv->workers[i].connections));
    return rc;
}

static enum MHD_Result srv_metrics(adm_server *srv, struct MHD_Connection *conn)
{
    util_buf body;
    util_buf_init(&body);
    if (adm__metrics_render(srv->metrics, &body) < 0 || srv_metrics_workers(srv, &body) < 0 ||
        adm__prov_metrics(srv->prov, &body) < 0) {
        util_buf_release(&body);
        return MHD_NO;
    }
    return srv_send(srv, conn, 200, "text/plain; version=0.0.4; charset=utf-8", &body);
}

static void srv_log_error(adm_server *srv, const char *endpoint, const adm_request *req,
                          unsigned status, const char *msg)
{
    adm__log(srv->cfg->log_level, status >= 500 ? ADM_LOG_ERROR : ADM_LOG_WARN,
             json_pack("{s:s, s:s, s:i}", "endpoint", endpoint, "uid",
                       req && req->uid ? req->uid : "", "status", (int)status),
             "%s", msg);
}

/* /validate and /mutate once the whole body is in. */
static enum MHD_Result srv_admit(adm_server *srv, struct MHD_Connection *conn, srv_req *r)
{
    bool mutate = r->route == R_MUTATE;
    int ep = mutate ? ADM__EP_MUTATE : ADM__EP_VALIDATE;
    const char *epname = mutate ? "mutate" : "validate";
    util_error err;
    util_error_clear(&err);
    adm_request req;
    util_json_scope scope; /* every JSON value of this request lives and dies in it */
    size_t budget = srv->cfg->limits.body * LIMIT_JSON_MEMORY_FACTOR;
    util_json_scope_begin(&scope, r->body.len,
                          budget > LIMIT_JSON_MEMORY_MIN ? budget : LIMIT_JSON_MEMORY_MIN);
    if (adm_request_decode(&req, r->body.data ? r->body.data : "", r->body.len,
                           srv->cfg->limits.depth, &err) < 0) {
        srv_log_error(srv, epname, NULL, 400, err.msg);
        adm__metrics_request(srv->metrics, ep, NULL, ADM__V_ERROR, util_now_ns() - r->t0);
        util_json_scope_end(&scope);
        return srv_send_error(srv, conn, 400, err.msg);
    }
    util_arena arena;
    util_arena_init(&arena, SRV_ARENA_BLOCK);
    adm_response res;
    enum MHD_Result out = MHD_NO;
    /* /mutate unseals with the keyring in force when it starts, held to the end: a key
     * reload meanwhile frees the old keyring only once this reference goes. */
    adm__engine eng = srv->engine;
    eng.keys = mutate ? adm__keys_acquire(srv->keys) : NULL;
    int verdict = adm_response_init(&res, req.uid);
    if (verdict == 0)
        verdict = adm__admit(&eng, mutate, &req, &res, &arena, &err);
    seal_keyring_free(eng.keys);
    util_buf body;
    util_buf_init(&body);
    if (verdict >= 0 && adm_response_render(&body, &res, mutate) < 0)
        verdict = util_error_set(&err, UTIL_ENOMEM, "cannot render the answer");
    if (verdict < 0) {
        srv_log_error(srv, epname, &req, 500, err.msg);
        adm__metrics_request(srv->metrics, ep, req.operation, ADM__V_ERROR, util_now_ns() - r->t0);
        out = srv_send_error(srv, conn, 500, err.msg);
        util_buf_release(&body);
    } else {
        adm__metrics_request(srv->metrics, ep, req.operation, verdict, util_now_ns() - r->t0);
        out = srv_send(srv, conn, 200, "application/json", &body);
    }
    adm_response_release(&res);
    util_arena_release(&arena);
    adm_request_release(&req);
    util_json_scope_end(&scope);
    return out;
}

/* How many body bytes in all a request over limits.body may send before the connection is
 * closed instead of answered. */
static size_t srv_discard_cap(const adm_server *srv)
{
    size_t limit = srv->cfg->limits.body;
    size_t cap = limit <= SIZE_MAX / SRV_DISCARD_FACTOR ? limit * SRV_DISCARD_FACTOR : SIZE_MAX;
    return cap > SRV_DISCARD_MIN ? cap : SRV_DISCARD_MIN;
}

/* The request's Content-Length, 0 when it has none (a chunked body is bounded as it comes). */
static unsigned long long srv_content_length(struct MHD_Connection *conn)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return cl ? strtoull(cl, NULL, 10) : 0;
}

static enum srv_route srv_route_of(const char *url)
{
    static const struct {
        const char *path;
        enum srv_route route;
    } routes[] = {{"/validate", R_VALIDATE},
                  {"/mutate", R_MUTATE},
                  {"/healthz", R_HEALTHZ},
                  {"/readyz", R_READYZ},
                  {"/metrics", R_METRICS}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(url, routes[i].path) == 0)
            return routes[i].route;
    return R_NONE;
}

static bool srv_is_json(const char *type)
{
    static const char want[] = "application/json";
    if (type == NULL || strncasecmp(type, want, sizeof want - 1) != 0)
        return false;
    char next = type[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* First sight of a request: route it and refuse what can be refused before its body. */
static int srv_first_look(adm_server *srv, struct MHD_Connection *conn, srv_req *r, const char *url,
                          const char *method)
{
    r->route = srv_route_of(url);
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (r->route == R_NONE)
        return 404;
    if (r->route == R_VALIDATE || r->route == R_MUTATE) {
        if (!post)
            return 405;
        if (!srv_is_json(
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
            return 415;
        unsigned long long len = srv_content_length(conn);
        if (len > srv->cfg->limits.body)
            return 413;
        /* one buffer, not grown piece by piece */
        return util_buf_reserve(&r->body, (size_t)len) < 0 ? 500 : 0;
    }
    return get ? 0 : 405;
}

/* Answer a refusal before the body? Only when no body will come: the client waits for
 * "100 Continue" (and will not send without it), or the body is over the cap (it is not
 * waited for). Otherwise the body is dropped first (SRV_DISCARD_*). */
static bool srv_refuse_now(adm_server *srv, struct MHD_Connection *conn, int status)
{
    if (status == 500)
        return true;
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) != NULL)
        return true;
    return srv_content_length(conn) > srv_discard_cap(srv);
}

static enum MHD_Result srv_send_early(adm_server *srv, struct MHD_Connection *conn, srv_req *r,
                                      int status)
{
    char msg[160];
    switch (status) {
    case 404:
        snprintf(msg, sizeof msg,
                 "no such endpoint (use /validate, /mutate, /healthz, /readyz, "
                 "/metrics)");
        break;
    case 405:
        snprintf(msg, sizeof msg, "method not allowed (POST /validate and /mutate, GET others)");
        break;
    case 415:
        snprintf(msg, sizeof msg, "Content-Type must be application/json");
        break;
    case 500:
        snprintf(msg, sizeof msg, "no memory for the request body");
        break;
    default:
        snprintf(msg, sizeof msg, "request body over %zu bytes (limits.body)",
                 srv->cfg->limits.body);
        break;
    }
    if (r->route == R_VALIDATE || r->route == R_MUTATE) {
        srv_log_error(srv, r->route == R_MUTATE ? "mutate" : "validate", NULL, (unsigned)status,
                      msg);
        adm__metrics_request(srv->metrics, r->route == R_MUTATE ? ADM__EP_MUTATE : ADM__EP_VALIDATE,
                             NULL, ADM__V_ERROR, util_now_ns() - r->t0);
    }
    return srv_send_error(srv, conn, (unsigned)status, msg);
}

/* A connection's first request has begun: from now on the request count covers it. */
static void srv_conn_begin(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    srv_conn *sc = ci ? ci->socket_context : NULL;
    if (sc != NULL && sc->fresh) {
        sc->fresh = false;
        atomic_fetch_sub(&sc->srv->fresh, 1);
    }
}

/* Keep dropping a refused request's body? Past the cap or the time bound the connection is
 * closed (libmicrohttpd cannot queue an answer while a body arrives), logged and counted. */
static bool srv_discard_more(adm_server *srv, srv_req *r)
{
    uint64_t ms = (util_now_ns() - r->discard_t0) / 1000000;
    size_t cap = srv_discard_cap(srv);
    if (r->received <= cap && ms <= SRV_DISCARD_MS)
        return true;
    char what[64], msg[240];
    if (r->refused == 413)
        snprintf(what, sizeof what, "over %zu bytes (limits.body)", srv->cfg->limits.body);
    else
        snprintf(what, sizeof what, "of a request refused with %d", r->refused);
    snprintf(msg, sizeof msg,
             "request body %s still arriving after %zu bytes and %llu ms: connection closed", what,
             r->received, (unsigned long long)ms);
    if (r->route == R_VALIDATE || r->route == R_MUTATE) {
        bool mutate = r->route == R_MUTATE;
        srv_log_error(srv, mutate ? "mutate" : "validate", NULL, (unsigned)r->refused, msg);
        adm__metrics_request(srv->metrics, mutate ? ADM__EP_MUTATE : ADM__EP_VALIDATE, NULL,
                             ADM__V_ERROR, util_now_ns() - r->t0);
    }
    return false;
}

/* From now on the request's body is dropped, and status answers it. */
static void srv_refuse_later(srv_req *r, int status)
{
    r->refused = status;
    r->discard_t0 = util_now_ns();
    util_buf_release_secret(&r->body);
}

static enum MHD_Result srv_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **req_cls)
{
    adm_server *srv = cls;
    srv_req *r = *req_cls;
    if (r == NULL) {
        if ((r = calloc(1, sizeof *r)) == NULL)
            return MHD_NO;
        util_buf_init(&r->body);
        r->t0 = util_now_ns();
        *req_cls = r;
        atomic_fetch_add(&srv->inflight, 1);
        srv_conn_begin(conn);
        int status = srv_first_look(srv, conn, r, url, method);
        if (status != 0 && srv_refuse_now(srv, conn, status))
            return srv_send_early(srv, conn, r, status);
        if (status != 0)
            srv_refuse_later(r, status);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->received = r->received <= SIZE_MAX - n ? r->received + n : SIZE_MAX;
        /* A body without Content-Length (chunked) is bounded here. */
        if (!r->refused && r->received <= srv->cfg->limits.body)
            return util_buf_append_secret(&r->body, upload_data, n) < 0 ? MHD_NO : MHD_YES;
        if (!r->refused)
            srv_refuse_later(r, 413);
        return srv_discard_more(srv, r) ? MHD_YES : MHD_NO;
    }
    if (r->refused)
        return srv_send_early(srv, conn, r, r->refused);
    r->t0 = util_now_ns();
    switch (r->route) {
    case R_HEALTHZ: {
        util_buf body;
        util_buf_init(&body);
        if (util_buf_puts(&body, "ok\n") < 0)
            return MHD_NO;
        return srv_send(srv, conn, 200, "text/plain", &body);
    }
    case R_READYZ:
        return srv_readyz(srv, conn);
    case R_METRICS:
        return srv_metrics(srv, conn);
    default:
        return srv_admit(srv, conn, r);
    }
}

static void srv_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                          enum MHD_RequestTerminationCode toe)
{
    adm_server *srv = cls;
    srv_req *r = *req_cls;
    if (r == NULL)
        return;
    util_buf_release_secret(&r->body); /* an UPDATE's oldObject holds a Secret's values */
    free(r);
    *req_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int srv_resolve(adm_server *srv, const char *listen, util_error *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
        return util_error_set(err, UTIL_EINVALID, "listen address '%s' is not HOST:PORT", listen);
    size_t hl = (size_t)(colon - listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [::1]:8443 */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
    if (g != 0)
        return util_error_set(err, UTIL_EINVALID, "cannot resolve listen address '%s': %s", listen,
                              gai_strerror(g));
    memcpy(&srv->addr, ai->ai_addr, ai->ai_addrlen);
    srv->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* The cores this process may use: the CPUs it may run on, within its cgroup's CPU quota
 * (cgroup v2 cpu.max, which a Kubernetes CPU limit sets). A pod sees all of its node's CPUs
 * otherwise. */
static unsigned srv_cores(void)
{
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    util_buf max;
    util_error err;
    util_buf_init(&max);
    unsigned long quota, period;
    if (util_file_read(&max, "/sys/fs/cgroup/cpu.max", 256, &err) == 0 &&
        sscanf(max.data ? max.data : "", "%lu %lu", &quota, &period) == 2 && period > 0) {
        unsigned long allowed = (quota + period - 1) / period; /* "max 100000" does not scan */
        if (allowed >= 1 && allowed < (unsigned long)n)
            n = (long)allowed;
    }
    util_buf_release(&max);
    return n < SRV_CORES_MAX ? (unsigned)n : SRV_CORES_MAX;
}

int adm_server_new(adm_server **out, const adm_config *cfg, util_error *err)
{
    /* Before the worker, sync and reload threads exist: the JSON libraries' hooks are globals. */
    util_json_init();
    adm_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    srv->cfg = cfg;
    srv->listen_fd = -1;
    pthread_mutex_init(&srv->state_lock, NULL);
    util_buf_init(&srv->client_ca);
    /* Two workers per core: a worker whose clients are all between requests leaves its core
     * idle, and with 16 connections on 2 cores, 4 workers answered 17% more reviews than 2,
     * with half the p99 (bench/webhook). */
    srv->threads = cfg->limits.threads ? cfg->limits.threads : 2 * srv_cores();
    if (srv->threads > cfg->limits.connections) /* a worker per connection at most */
        srv->threads = cfg->limits.connections;
    int rc = srv_resolve(srv, cfg->listen ? cfg->listen : "127.0.0.1:8443", err);
    if (rc == 0 && (srv->metrics = adm__metrics_new()) == NULL)
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (rc == 0)
        rc = adm__tls_new(&srv->tls, cfg, err);
    if (rc == 0 && cfg->tls_client_ca != NULL)
        rc = util_file_read(&srv->client_ca, cfg->tls_client_ca, SRV_MAX_CA_FILE, err);
    if (rc == 0)
        rc = adm__keys_new(&srv->keys, cfg, srv->metrics, err);
    if (rc == 0)
        rc = adm__prov_new(&srv->prov, cfg, srv->keys, err);
    if (rc == 0)
        rc = adm__rules_new(&srv->rules, cfg, srv->metrics, err);
    if (rc < 0) {
        adm_server_free(srv);
        return rc;
    }
    srv->engine =
        (adm__engine){srv->rules, srv->prov, NULL, cfg->mode, srv->metrics, cfg->log_level};
    *out = srv;
    return 0;
}

/* ---- accepting ----------------------------------------------------------------------- */

/* The listening socket. SO_REUSEADDR lets a restart bind at once over connections still in
 * TIME_WAIT; not SO_REUSEPORT, which would let a second server share the port unnoticed. */
static int srv_listen(adm_server *srv, util_error *err)
{
    const char *at = srv->cfg->listen ? srv->cfg->listen : "127.0.0.1:8443";
    int one = 1;
    int fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&srv->addr, srv->addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return util_error_set(err, UTIL_EIO, "cannot serve on %s: %s", at, strerror(e));
    }
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &len) == 0)
        srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                      : ((struct sockaddr_in *)&bound)->sin_port);
    srv->listen_fd = fd;
    return 0;
}

/* The worker with the fewest open connections, a rotation breaking ties. Left to themselves,
 * libmicrohttpd's threads accept in bursts: one of two once took all 16 connections of a
 * client while the other idled, and the run lost a fifth of its throughput. */
static srv_worker *srv_pick(adm_server *srv, unsigned *turn)
{
    srv_worker *best = &srv->workers[*turn % srv->nworkers];
    int least = INT_MAX;
    for (unsigned k = 0; k < srv->nworkers; k++) {
        srv_worker *w = &srv->workers[(*turn + k) % srv->nworkers];
        int open = atomic_load(&w->connections);
        if (open < least) {
            least = open;
            best = w;
        }
    }
    (*turn)++;
    return best;
}

static void *srv_accept_loop(void *arg)
{
    adm_server *srv = arg;
    unsigned turn = 0;
    while (!atomic_load(&srv->stop_accepting)) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd =
            accept4(srv->listen_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            int e = errno;
            if (e == EBADF || e == EINVAL)
                break; /* the socket was shut down: srv_stop_accepting */
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                adm__log(srv->cfg->log_level, ADM_LOG_WARN,
                         json_pack("{s:s}", "error", strerror(e)),
                         "cannot accept a connection; retrying");
                struct timespec ts = {0, 50 * 1000000L};
                nanosleep(&ts, NULL);
            }
            continue; /* EINTR, ECONNABORTED and the like: the next one */
        }
        srv_worker *w = srv_pick(srv, &turn);
        atomic_fetch_add(&w->connections, 1);
        if (MHD_add_connection(w->daemon, fd, (struct sockaddr *)&peer, len) != MHD_YES)
            atomic_fetch_sub(&w->connections, 1); /* refused (at its limit): closed by it */
    }
    return NULL;
}

/* Close the listening socket; shutdown() first, which wakes the acceptor out of accept(). */
static void srv_stop_accepting(adm_server *srv)
{
    if (srv->listen_fd < 0)
        return;
    atomic_store(&srv->stop_accepting, true);
    shutdown(srv->listen_fd, SHUT_RDWR);
    if (srv->accepting)
        pthread_join(srv->acceptor, NULL);
    srv->accepting = false;
    close(srv->listen_fd);
    srv->listen_fd = -1;
}

/* ---- workers --------------------------------------------------------------------------- */

static int srv_worker_start(adm_server *srv, srv_worker *w, unsigned connection_limit,
                            util_error *err)
{
    const adm_config *cfg = srv->cfg;
    struct MHD_OptionItem opts[16];
    size_t n = 0;
#define OPT(o, v, p) (opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)})
    OPT(MHD_OPTION_CONNECTION_LIMIT, connection_limit, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_CONNECTION_MEMORY, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, (cfg->limits.timeout_ms + 999) / 1000, NULL);
    OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, SRV_TLS_PRIORITIES);
    OPT(MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)srv_cert_callback);
    OPT(MHD_OPTION_NOTIFY_CONNECTION, srv_notify_connection, w);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, srv_completed, srv);
    OPT(MHD_OPTION_EXTERNAL_LOGGER, srv_mhd_logger, srv);
    if (srv->client_ca.len > 0)
        OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->client_ca.data);
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    /* Turbo: read and write before asking epoll, which on keep-alive connections that carry
     * one review after another saves a wait per request (12% of the CPU per request). */
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_TURBO | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
    w->srv = srv;
    w->daemon = MHD_start_daemon(flags, 0, NULL, NULL, srv_handler, srv, MHD_OPTION_ARRAY, opts,
                                 MHD_OPTION_END);
    if (w->daemon == NULL)
        return util_error_set(err, UTIL_EIO, "cannot start a worker: %s",
                              srv->mhd_error[0] ? srv->mhd_error : strerror(errno));
    return 0;
}

static void srv_workers_stop(adm_server *srv)
{
    for (unsigned i = 0; i < srv->nworkers; i++)
        MHD_stop_daemon(srv->workers[i].daemon);
    srv->nworkers = 0;
}

int adm_server_start(adm_server *srv, util_error *err)
{
    const adm_config *cfg = srv->cfg;
    int rc = srv_listen(srv, err);
    if (rc < 0)
        return rc;
    srv->workers = calloc(srv->threads, sizeof *srv->workers);
    if (srv->workers == NULL)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    /* limits.connections in all, split as evenly as it goes; the acceptor fills the workers
     * evenly, so one refuses only when all are full. */
    unsigned share = cfg->limits.connections / srv->threads;
    unsigned extra = cfg->limits.connections % srv->threads;
    for (unsigned i = 0; i < srv->threads; i++) {
        if ((rc = srv_worker_start(srv, &srv->workers[i], share + (i < extra), err)) < 0)
            return rc;
        srv->nworkers++;
    }
    if ((rc = pthread_create(&srv->acceptor, NULL, srv_accept_loop, srv)) != 0)
        return util_error_set(err, UTIL_EFAIL, "cannot start the acceptor: %s", strerror(rc));
    srv->accepting = true;
    if (adm__prov_start(srv->prov, err) < 0)
        return err->code;
    json_t *rules = adm__rules_status(srv->rules);
    adm__log(cfg->log_level, ADM_LOG_INFO,
             json_pack("{s:s, s:i, s:i, s:s, s:o*, s:s, s:s*}", "listen",
                       cfg->listen ? cfg->listen : "127.0.0.1:8443", "port", (int)srv->port,
                       "threads", (int)srv->threads, "mode", adm_mode_name(cfg->mode), "rules",
                       rules, "cert", adm__tls_cert_path(srv->tls), "stateDir",
                       adm__tls_state_dir(srv->tls)),
             "serving");
    return 0;
}

int adm_signals_block(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : UTIL_EFAIL;
}

static void srv_poll_tls(adm_server *srv)
{
    util_error err;
    util_error_clear(&err);
    int rc = adm__tls_poll(srv->tls, &err);
    if (rc == 0)
        return;
    adm__metrics_tls_reload(srv->metrics, rc > 0);
    pthread_mutex_lock(&srv->state_lock);
    if (rc > 0)
        srv->tls_error[0] = '\0';
    else
        snprintf(srv->tls_error, sizeof srv->tls_error, "%s", err.msg);
    pthread_mutex_unlock(&srv->state_lock);
    if (rc > 0)
        adm__log(srv->cfg->log_level, ADM_LOG_INFO,
                 json_pack("{s:s}", "cert", adm__tls_cert_path(srv->tls)), "certificate reloaded");
    else
        adm__log(srv->cfg->log_level, ADM_LOG_ERROR, json_pack("{s:s}", "error", err.msg),
                 "certificate reload failed; the previous one stays in use");
}

static void srv_poll_rules(adm_server *srv, bool force)
{
    util_error err;
    util_error_clear(&err);
    int rc = adm__rules_reload(srv->rules, force, &err);
    if (rc < 0) {
        char where[400];
        util_error_format(&err, where, sizeof where);
        adm__log(srv->cfg->log_level, ADM_LOG_ERROR, json_pack("{s:s}", "error", where),
                 "rule reload failed; the previous rule set stays in force");
    }
}

static void srv_poll_keys(adm_server *srv, bool force)
{
    util_error err;
    util_error_clear(&err);
    int rc = adm__keys_reload(srv->keys, force, &err);
    if (rc == 0)
        return;
    json_t *st = adm__keys_status(srv->keys); /* key ids and count; never key bytes */
    if (rc > 0) {
        adm__log(srv->cfg->log_level, ADM_LOG_INFO,
                 json_pack("{s:O*, s:O*}", "keys", json_object_get(st, "count"), "keyIds",
                           json_object_get(st, "keyIds")),
                 "sealing keys reloaded");
    } else {
        char where[400];
        util_error_format(&err, where, sizeof where);
        adm__log(srv->cfg->log_level, ADM_LOG_ERROR, json_pack("{s:s}", "error", where),
                 "sealing key reload failed; the previous keys stay in force");
    }
    json_decref(st);
}

/* Stop taking connections, let the requests in flight finish, then stop. Connections accepted
 * whose first request has not arrived yet count as in flight (their request is on its way);
 * idle keep-alive connections do not. */
static void srv_drain(adm_server *srv)
{
    atomic_store(&srv->draining, true);
    srv_stop_accepting(srv);
    uint64_t t0 = util_now_ns();
    while ((atomic_load(&srv->inflight) > 0 || atomic_load(&srv->fresh) > 0) &&
           util_now_ns() - t0 < SRV_DRAIN_MS * 1000000ull) {
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&srv->inflight);
    srv_workers_stop(srv);
    adm__log(srv->cfg->log_level, left ? ADM_LOG_WARN : ADM_LOG_INFO,
             json_pack("{s:i}", "abandoned", left), "stopped");
}

int adm_server_run(adm_server *srv)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        struct timespec ts = {0, SRV_POLL_MS * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            adm__log(srv->cfg->log_level, ADM_LOG_INFO,
                     json_pack("{s:i}", "inflight", atomic_load(&srv->inflight)), "%s: draining",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        srv_poll_tls(srv);
        srv_poll_rules(srv, sig == SIGHUP);
        srv_poll_keys(srv, sig == SIGHUP);
    }
    srv_drain(srv);
    return 0;
}

void adm_server_free(adm_server *srv)
{
    if (srv == NULL)
        return;
    srv_stop_accepting(srv);
    srv_workers_stop(srv);
    free(srv->workers);
    adm__prov_free(srv->prov);
    adm__rules_free(srv->rules);
    adm__keys_free(srv->keys);
    adm__tls_free(srv->tls);
    adm__metrics_free(srv->metrics);
    util_buf_release(&srv->client_ca);
    pthread_mutex_destroy(&srv->state_lock);
    free(srv);
}

unsigned adm_server_port(const adm_server *srv)
{
    return srv->port;
}

const char *adm_server_state_dir(const adm_server *srv)
{
    return adm__tls_state_dir(srv->tls);
}
