/* cmd_keygen.c: `sealgate keygen`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_keygen(int argc, char **argv)
{
    return cli_usage("keygen", "this build does not include 'keygen' yet");
}
