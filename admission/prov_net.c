/* prov_net.c: a bound on how long a fetch of the config repo may hang (see prov_priv.h). A
 * plain socket stream registered with libgit2 that connects with a deadline and reports each
 * sign of life to the fetching thread's guard, and a watchdog that shuts the socket down when
 * the remote has been silent for the bound: a blackholed or stuck remote costs one bound, not
 * the sync thread. */
#include "admission/prov_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <git2/sys/stream.h>

#include "util/banned.h"

/* The guard of the fetch this thread is making, or NULL. libgit2 makes streams through a
 * process-wide registry with no user payload, and the fetch runs on the calling thread, so a
 * thread-local is the one way the stream can find the guard; it is set only between
 * prov_net__begin and prov_net__end. */
static _Thread_local prov_net__guard *current_guard;

/* libgit2's SSH transport takes the socket out of the stream it made (as git_socket_stream:
 * the git_stream, host, port, then the socket), so the first four fields keep that layout. */
typedef struct net_stream {
    git_stream parent;
    char *host;
    char *port;
    int s;
    prov_net__guard *guard; /* NULL: no bound */
} net_stream;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void prov_net__alive(prov_net__guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->alive = now_ms();
    pthread_mutex_unlock(&g->lock);
}

static bool guard_expired(prov_net__guard *g)
{
    if (!g)
        return false;
    pthread_mutex_lock(&g->lock);
    bool e = g->expired;
    pthread_mutex_unlock(&g->lock);
    return e;
}

static void set_timeout_error(const net_stream *st)
{
    git_error_set(GIT_ERROR_NET, "no answer from %s:%s for %g s (the fetch timeout)", st->host,
                  st->port, st->guard->timeout_ms / 1000.0);
}

/* ---- the stream ------------------------------------------------------------------------- */

/* Connect s to addr within ms milliseconds (-1: no bound): 0, 1 timed out, -1 error (errno). */
static int connect_within(int s, const struct sockaddr *addr, socklen_t len, int ms)
{
    if (connect(s, addr, len) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -1;
    struct pollfd pfd = {.fd = s, .events = POLLOUT};
    int r;
    do
        r = poll(&pfd, 1, ms);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 1;
    if (r < 0)
        return -1;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return 0;
}

static int stream_connect(git_stream *stream)
{
    net_stream *st = (net_stream *)stream;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *info = NULL;
    int gai = getaddrinfo(st->host, st->port, &hints, &info);
    if (gai != 0) {
        git_error_set(GIT_ERROR_NET, "cannot resolve %s: %s", st->host, gai_strerror(gai));
        return -1;
    }
    int s = -1, timed_out = 0, saved = 0;
    for (struct addrinfo *p = info; p && s < 0 && !timed_out; p = p->ai_next) {
        if (guard_expired(st->guard))
            break;
        s = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
        if (s < 0)
            continue;
        int r =
            connect_within(s, p->ai_addr, p->ai_addrlen, st->guard ? st->guard->timeout_ms : -1);
        if (r == 0)
            break;
        saved = errno;
        timed_out = r == 1;
        close(s);
        s = -1;
    }
    freeaddrinfo(info);
    if (s < 0) {
        if (timed_out || guard_expired(st->guard))
            git_error_set(GIT_ERROR_NET, "cannot connect to %s:%s within %g s (the fetch timeout)",
                          st->host, st->port, st->guard->timeout_ms / 1000.0);
        else
            git_error_set(GIT_ERROR_NET, "cannot connect to %s:%s: %s", st->host, st->port,
                          strerror(saved));
        return -1;
    }
    /* Blocking from here on: libgit2, mbedTLS and libssh2 expect it; the watchdog bounds it. */
    int fl = fcntl(s, F_GETFL);
    if (fl < 0 || fcntl(s, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        git_error_set(GIT_ERROR_NET, "cannot set up the socket: %s", strerror(errno));
        close(s);
        return -1;
    }
    st->s = s;
    if (st->guard) {
        pthread_mutex_lock(&st->guard->lock);
        st->guard->fd = s;
        st->guard->alive = now_ms();
        pthread_mutex_unlock(&st->guard->lock);
    }
    return 0;
}

static ssize_t stream_read(git_stream *stream, void *data, size_t len)
{
    net_stream *st = (net_stream *)stream;
    ssize_t n;
    do
        n = recv(st->s, data, len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        prov_net__alive(st->guard);
        return n;
    }
    if (guard_expired(st->guard)) { /* the watchdog cut it: say why, not "early EOF" */
        set_timeout_error(st);
        return -1;
    }
    if (n < 0) {
        git_error_set(GIT_ERROR_NET, "cannot read from %s: %s", st->host, strerror(errno));
        return -1;
    }
    return 0;
}

static ssize_t stream_write(git_stream *stream, const char *data, size_t len, int flags)
{
    net_stream *st = (net_stream *)stream;
    ssize_t n;
    (void)flags;
    do
        n = send(st->s, data, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0) {
        prov_net__alive(st->guard);
        return n;
    }
    if (guard_expired(st->guard))
        set_timeout_error(st);
    else
        git_error_set(GIT_ERROR_NET, "cannot write to %s: %s", st->host, strerror(errno));
    return -1;
}

static int stream_close(git_stream *stream)
{
    net_stream *st = (net_stream *)stream;
    if (st->s < 0)
        return 0;
    /* Taken from the guard first, so the watchdog never shuts a reused descriptor. */
    if (st->guard) {
        pthread_mutex_lock(&st->guard->lock);
        if (st->guard->fd == st->s)
            st->guard->fd = -1;
        pthread_mutex_unlock(&st->guard->lock);
    }
    int rc = close(st->s);
    st->s = -1;
    return rc;
}

static void stream_free(git_stream *stream)
{
    net_stream *st = (net_stream *)stream;
    stream_close(stream);
    free(st->host);
    free(st->port);
    free(st);
}

static int stream_new(git_stream **out, const char *host, const char *port)
{
    net_stream *st = calloc(1, sizeof(*st));
    if (!st || !(st->host = strdup(host)) || !(st->port = strdup(port ? port : ""))) {
        if (st)
            free(st->host);
        free(st);
        git_error_set_oom();
        return -1;
    }
    st->parent.version = GIT_STREAM_VERSION;
    st->parent.connect = stream_connect;
    st->parent.read = stream_read;
    st->parent.write = stream_write;
    st->parent.close = stream_close;
    st->parent.free = stream_free;
    st->s = -1;
    st->guard = current_guard;
    *out = &st->parent;
    return 0;
}

int prov_net__register(util_error *err)
{
    git_stream_registration reg = {.version = GIT_STREAM_VERSION, .init = stream_new};
    if (git_stream_register(GIT_STREAM_STANDARD, &reg) < 0) {
        const git_error *e = git_error_last();
        return util_error_set(err, UTIL_EFAIL, "cannot register the git socket stream: %s",
                              e && e->message ? e->message : "unknown error");
    }
    return 0;
}

/* ---- the watchdog ----------------------------------------------------------------------- */

static void *watchdog(void *arg)
{
    prov_net__guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->done) {
        int64_t due = g->alive + g->timeout_ms, now = now_ms();
        if (!g->expired && now >= due) {
            g->expired = true;
            /* Ends a blocked recv/send/poll on it in any library; the owner still closes it. */
            if (g->fd >= 0)
                shutdown(g->fd, SHUT_RDWR);
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = g->expired ? 1000 : due - now;
        ts.tv_sec += (time_t)(wait / 1000);
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cond, &g->lock, &ts);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int prov_net__begin(prov_net__guard *g, int timeout_ms, util_error *err)
{
    pthread_condattr_t ca;
    memset(g, 0, sizeof(*g));
    g->timeout_ms = timeout_ms > 0 ? timeout_ms : PROV_FETCH_TIMEOUT_MS;
    g->fd = -1;
    g->alive = now_ms();
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&g->watchdog, NULL, watchdog, g);
    if (rc != 0) {
        pthread_cond_destroy(&g->cond);
        pthread_mutex_destroy(&g->lock);
        return util_error_set(err, UTIL_EFAIL, "cannot start the fetch watchdog: %s", strerror(rc));
    }
    current_guard = g;
    return 0;
}

bool prov_net__end(prov_net__guard *g)
{
    current_guard = NULL;
    pthread_mutex_lock(&g->lock);
    g->done = true;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->watchdog, NULL);
    bool expired = g->expired;
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    return expired;
}
