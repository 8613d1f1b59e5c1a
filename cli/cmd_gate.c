/* cmd_gate.c: `sealgate gate`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_gate(int argc, char **argv)
{
    return cli_usage("gate", "this build does not include 'gate' yet");
}
