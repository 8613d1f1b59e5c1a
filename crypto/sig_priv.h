/* sig_priv.h: internals shared by the sig_*.c files (not a public header: only crypto/sig_*.c,
 * their tests and fuzzers include it). */
#ifndef SEALGATE_SIG_PRIV_H
#define SEALGATE_SIG_PRIV_H

#include "crypto/sig.h"

struct sig_trust {
    int placeholder;
};

#endif
