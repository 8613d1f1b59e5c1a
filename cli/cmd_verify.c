/* cmd_verify.c: `sealgate verify`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_verify(int argc, char **argv)
{
    return cli_usage("verify", "this build does not include 'verify' yet");
}
