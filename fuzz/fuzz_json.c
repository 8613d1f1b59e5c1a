/* fuzz_json.c: util_json_decode against jansson on arbitrary bytes. The wire decoder must read
 * every text exactly as jansson does: refuse what it refuses, and return an equal value for
 * the rest, whichever of its decoders answered. Half the inputs decode inside a JSON scope (the
 * server's arena), with a budget small enough that the fuzzer meets it: a text refused for it
 * is the only difference from jansson allowed. */
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
    util_json_scope scope;
    bool scoped = size % 2 == 0;
    if (scoped)
        util_json_scope_begin(&scope, size, 64 * 1024);
    int rc = util_json_decode(&ours, text, size, 1000, &err);
    bool over = scoped && rc == UTIL_ENOMEM; /* refused for the budget, before decoding */
    if (over && ours != NULL)
        abort();
    if (ref == NULL && rc == 0)
        abort(); /* accepted what jansson refuses */
    if (ref != NULL && !over && (rc != 0 || !json_equal(ours, ref)))
        abort(); /* refused, or read otherwise, what jansson reads */
    if (!scoped)
        json_decref(ours);
    else
        util_json_scope_end(&scope);
    json_decref(ref);
    return 0;
}
