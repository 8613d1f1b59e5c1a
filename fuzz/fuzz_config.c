/* fuzz_config.c: the server configuration file through the libyaml document loader and the
 * schema walk (types, durations, sizes, params converted to JSON with alias bounds). */
#include <stdint.h>

#include "admission/adm.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    adm_config cfg;
    util_error err;
    adm_config_init(&cfg);
    (void)adm_config_parse(&cfg, "fuzz.yaml", (const char *)data, size, &err);
    adm_config_release(&cfg);
    return 0;
}
