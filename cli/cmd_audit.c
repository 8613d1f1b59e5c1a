/* cmd_audit.c: `sealgate audit`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_audit(int argc, char **argv)
{
    return cli_usage("audit", "this build does not include 'audit' yet");
}
