/* cmd_serve.c: `sealgate serve`. Placeholder until its part lands; see docs/. */
#include "cli/cli.h"
#include "util/banned.h"

int cli_serve(int argc, char **argv)
{
    return cli_usage("serve", "this build does not include 'serve' yet");
}
