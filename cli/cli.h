/* cli.h: the subcommands of the sealgate binary. Each takes the arguments after the verb
 * (argv[0] is the verb) and returns the process exit code: 0 success, 1 a finding (a denial,
 * a failed verification or test), 2 a usage or input error. Only the CLI prints errors. */
#ifndef SEALGATE_CLI_H
#define SEALGATE_CLI_H

#include <stdio.h>

#include "util/util.h"

enum { CLI_OK = 0, CLI_FINDING = 1, CLI_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `sealgate --help` */
} cli_command;

/* Print "sealgate VERB: " and the error (with source line and caret when text is given) to
 * stderr; returns CLI_USAGE. */
int cli_fail(const char *verb, const util_error *err, const char *text, size_t len);
/* Print "sealgate VERB: message" to stderr; returns CLI_USAGE. */
int cli_usage(const char *verb, const char *fmt, ...) UTIL_PRINTF(2, 3);

int cli_check(int argc, char **argv);
int cli_test(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_seal(int argc, char **argv);
int cli_unseal(int argc, char **argv);
int cli_reseal(int argc, char **argv);
int cli_gate(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_version(int argc, char **argv);

#endif
