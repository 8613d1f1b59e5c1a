/* net.h: the contract between the sealgate binary and its module sealgate-net.so, which holds
 * the verbs that need libgit2 or libmicrohttpd (serve, verify, gate, audit). Those libraries
 * and what they load (GnuTLS, libssh2, krb5, nettle, gmp, ...) cost every process milliseconds
 * of dynamic linking; in a module that the binary dlopen()s only for those verbs, they stay out
 * of the sealing verbs and `check` (docs/operations.md, "Installed files"). Both sides include
 * this header; the module is built from the same sources as the binary or it is refused.
 *
 * Each side links its own copy of the static libraries (util_, seal_, pol_), hidden from the
 * other. The binary does nothing with them before it hands a verb to the module, so in a
 * module verb only the module's copy has state: util_json's allocator hooks, installed into
 * jansson and cJSON (process-wide), are the module's. Keep it so: a module verb must not run
 * after the binary has used util_json. */
#ifndef SEALGATE_CLI_NET_H
#define SEALGATE_CLI_NET_H

#include <limits.h>
#include <stdio.h>

/* The module's file name, and where the binary looks for it, relative to the folder of the
 * running executable (/proc/self/exe): beside it (a build tree), then the installed layout. */
#define CLI_NET_MODULE "sealgate-net.so"
#define CLI_NET_PLACES                                                                             \
    {                                                                                              \
        "", "../lib/sealgate/"                                                                     \
    }
#define CLI_NET_NPLACES 2
/* The one symbol the module exports (everything else is hidden by its version script). */
#define CLI_NET_SYMBOL "sealgate_net_entry"

/* What the module exports under CLI_NET_SYMBOL. build_id is first and stays first in every
 * version of this struct: the binary reads it, and nothing else, until it knows that the
 * module was built from the same sources and configuration as itself. */
typedef struct cli_net_entry {
    const char *build_id; /* the module's CLI_BUILD_ID (cli_build_id.h) */
    /* Run a module verb: argv[0] is the verb (as for the cli_<verb> functions of cli.h);
     * returns the exit code. */
    int (*run)(int argc, char **argv);
    /* Print the `sealgate version` lines of the libraries only the module links. */
    void (*versions)(FILE *out);
} cli_net_entry;

/* Defined by the module (cli/net_module.c). */
extern const cli_net_entry sealgate_net_entry;

/* The binary's side (cli/net_load.c). */
typedef struct cli_net_place {
    char path[PATH_MAX]; /* the module's path at this place */
    char why[512];       /* why it was not loaded from here; "" when it was */
} cli_net_place;

typedef struct cli_net {
    const cli_net_entry *entry; /* the loaded module's entry, or NULL */
    cli_net_place tried[CLI_NET_NPLACES];
    size_t ntried; /* places tried, in order; when loaded, the last one is the module's */
} cli_net;

/* Load the module: the first place where the file exists is the one used (a module that is
 * there but does not load, or comes from another build, is an error, not a reason to look
 * further). Returns 0 (net->entry set) or -1 (net->tried says why). The module is never
 * unloaded: the libraries it started keep state until exit, and valgrind and LeakSanitizer
 * must still see its symbols then. */
int cli_net_open(cli_net *net);
/* This binary's build id (CLI_BUILD_ID): version, configuration and a hash of the sources. */
const char *cli_net_build_id(void);
/* Print why the module could not be loaded, for VERB (NULL: for `version`), to out. */
void cli_net_explain(const cli_net *net, const char *verb, FILE *out);
/* The binary's entry for a module verb (argv[0] the verb): load the module, run the verb.
 * Without a usable module: the paths tried and why on stderr, exit code 2. */
int cli_net_run(int argc, char **argv);

#endif
