/* fuzz_sealed_secret.c: the sealed-Secret reader: arbitrary YAML/JSON documents through
 * digest, unseal, reseal, mutate patch and seal. None may crash or leak; a successful unseal
 * of what seal produced must give the same items back. The fuzz key's private bytes are all
 * 0x11 (fuzz/corpus/sealed_secret/ holds Secrets sealed to it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "util/banned.h"

static seal_keyring *fuzz_kr; /* made once: sodium_malloc + mprotect per input is slow */
static seal_pubkey fuzz_pub;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t sk[32];
    util_error err = {0};
    memset(sk, 0x11, sizeof(sk));
    if (seal__keyring_from_raw(&fuzz_kr, sk, 0, &err) ||
        seal_keyring_newest(&fuzz_pub, fuzz_kr, &err))
        abort();
    return 0;
}

static void fuzz_one(const json_t *doc)
{
    util_error err = {0};
    char digest[SEAL_DIGEST_STR_SIZE];
    json_t *out = NULL, *back = NULL;
    (void)seal_secret_is_sealed(doc);
    (void)seal_secret_digest(digest, doc, &err);
    if (seal_secret_unseal(&out, doc, fuzz_kr, "fuzz", &err) == 0)
        seal_json_free_secret(out);
    out = NULL;
    if (seal_secret_mutate_patch(&out, doc, fuzz_kr, &err) == 0)
        seal_json_free_secret(out);
    out = NULL;
    if (seal_secret_reseal(&out, doc, fuzz_kr, &fuzz_pub, "fuzz", &err) == 0)
        json_decref(out);
    out = NULL;
    if (seal_secret_merge(&out, doc, doc, &fuzz_pub, &err) == 0)
        json_decref(out);
    out = NULL;
    if (seal_secret_seal(&out, doc, &fuzz_pub, SEAL_SCOPE_UNSET, "fuzz", &err) == 0) {
        /* What seal made must unseal, and the mutate patch must accept it. */
        if (seal_secret_unseal(&back, out, fuzz_kr, "fuzz", &err) != 0)
            abort();
        seal_json_free_secret(back);
        back = NULL;
        json_t *md = json_object_get(out, "metadata");
        if (json_object_get(md, "namespace") && json_object_get(md, "name") &&
            seal_secret_mutate_patch(&back, out, fuzz_kr, &err) != 0)
            abort();
        seal_json_free_secret(back);
        json_decref(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    util_manifest_set set;
    util_error err = {0};
    util_manifest_set_init(&set);
    if (util_manifest_parse(&set, "<fuzz>", (const char *)data, size, UTIL_MANIFEST_EXPAND_LISTS,
                            &err) == 0)
        for (size_t i = 0; i < set.count; i++)
            fuzz_one(set.docs[i].value);
    util_manifest_set_release(&set);
    return 0;
}
