/* fuzz_json.c: util_json_decode against jansson on arbitrary bytes. The wire decoder must read
 * every text exactly as jansson does: refuse what it refuses, and return an equal value for
 * the rest, whichever of its decoders answered. */
#include <stdint.h>
#include <stdlib.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    util_error err;
    json_t *ours = NULL;
    json_t *ref = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
    int rc = util_json_decode(&ours, text, size, 1000, &err);
    if (ref == NULL && rc == 0)
        abort(); /* accepted what jansson refuses */
    if (ref != NULL && (rc != 0 || !json_equal(ours, ref)))
        abort(); /* refused, or read otherwise, what jansson reads */
    json_decref(ours);
    json_decref(ref);
    return 0;
}
