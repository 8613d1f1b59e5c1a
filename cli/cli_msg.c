/* cli_msg.c: how every verb reports an error. Compiled into both the binary and the module
 * (cli/net.h), so that each side has its own copy and the module imports nothing from the
 * binary. */
#include <stdarg.h>

#include "cli/cli.h"
#include "util/banned.h"

int cli_fail(const char *verb, const util_error *err, const char *text, size_t len)
{
    fprintf(stderr, "sealgate %s: ", verb);
    util_error_print(stderr, err, text, len);
    return CLI_USAGE;
}

int cli_usage(const char *verb, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sealgate %s: ", verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_USAGE;
}
