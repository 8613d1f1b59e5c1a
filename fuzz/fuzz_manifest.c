/* fuzz_manifest.c: the manifest loader (util_manifest_parse: YAML streams and JSON into
 * jansson) on arbitrary bytes, and the YAML writer over what it accepted: no crash, no leak. */
#include <stdint.h>
#include <stdlib.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    util_manifest_set set;
    util_error err;
    util_manifest_set_init(&set);
    if (util_manifest_parse(&set, "fuzz.yaml", (const char *)data, size,
                            UTIL_MANIFEST_EXPAND_LISTS | UTIL_MANIFEST_KEEP_EMPTY, &err) == 0) {
        for (size_t i = 0; i < set.count; i++) {
            util_buf out;
            util_buf_init(&out);
            if (util_yaml_dump(&out, set.docs[i].value) == 0) {
                /* What the writer wrote reads back. */
                util_manifest_set again;
                util_manifest_set_init(&again);
                if (util_manifest_parse(&again, "dump.yaml", out.data, out.len, 0, &err) != 0)
                    abort();
                util_manifest_set_release(&again);
            }
            util_buf_release(&out);
        }
    }
    util_manifest_set_release(&set);
    return 0;
}
