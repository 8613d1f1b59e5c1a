/* prov_priv.h: internals shared by admission/prov_*.c. Not a public header (prov.h is); only
 * the prov_ sources include it. Cross-file internals carry a double underscore. */
#ifndef SEALGATE_PROV_PRIV_H
#define SEALGATE_PROV_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "admission/prov.h"

/* ---- a bound on a hanging fetch (prov_net.c) --------------------------------------------
 * libgit2 1.5 has no connect or read timeout (GIT_OPT_SET_SERVER_CONNECT_TIMEOUT and
 * GIT_OPT_SET_SERVER_TIMEOUT came in 1.7). sealgate registers its own plain socket stream with
 * libgit2 (git_stream_register; libgit2's TLS stream and its SSH transport both sit on it):
 * connecting waits at most the bound, and a watchdog thread shuts the connection down once
 * nothing has moved for the bound, which ends a read blocked anywhere below libgit2 (mbedTLS,
 * or libssh2, which reads the socket itself). */

typedef struct prov_net__guard {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled when the fetch ends */
    pthread_t watchdog;
    int timeout_ms; /* the bound: connecting, and silence after any sign of life */
    int fd;         /* the connection in use, -1 none; shut down when the bound is hit */
    int64_t alive;  /* monotonic ms of the last sign of life */
    bool done;      /* the fetch has ended: the watchdog leaves */
    bool expired;   /* the bound was hit: the connection is shut, new ones are refused */
} prov_net__guard;

/* Register the stream with libgit2 (after git_libgit2_init; again after a last shutdown). A
 * stream made on a thread with no guard behaves as libgit2's own, with no bound. */
int prov_net__register(util_error *err) UTIL_WUR;
/* Start guarding the fetches this thread makes until prov_net__end: the watchdog starts, the
 * guard (caller-owned, alive until prov_net__end) becomes this thread's. */
int prov_net__begin(prov_net__guard *g, int timeout_ms, util_error *err) UTIL_WUR;
/* A sign of life other than bytes on the socket (libgit2's transfer progress callback). */
void prov_net__alive(prov_net__guard *g);
/* Stop guarding; true when the bound was hit (the fetch was cut). */
bool prov_net__end(prov_net__guard *g);

#endif
