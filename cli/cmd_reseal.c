/* cmd_reseal.c: `sealgate reseal`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_reseal(int argc, char **argv)
{
    return cli_usage("reseal", "this build does not include 'reseal' yet");
}
