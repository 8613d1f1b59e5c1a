/* cmd_test.c: `sealgate test`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_test(int argc, char **argv)
{
    return cli_usage("test", "this build does not include 'test' yet");
}
