/* cmd_check.c: `sealgate check`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_check(int argc, char **argv)
{
    return cli_usage("check", "this build does not include 'check' yet");
}
