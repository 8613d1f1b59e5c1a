/* cmd_seal.c: `sealgate seal`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_seal(int argc, char **argv)
{
    return cli_usage("seal", "this build does not include 'seal' yet");
}
