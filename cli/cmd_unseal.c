/* cmd_unseal.c: `sealgate unseal`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_unseal(int argc, char **argv)
{
    return cli_usage("unseal", "this build does not include 'unseal' yet");
}
