/* fuzz_sshsig.c: the SSH signature parser and verifier (PROTOCOL.sshsig). Input is either an
 * armoured signature or a raw SSHSIG blob (armoured here, so that mutations reach the blob),
 * verified over "payload\n" against fixed trusted keys (the seeds are real ssh-keygen
 * signatures by them, so the success path is reachable). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/sig_priv.h"
#include "util/banned.h"

static const char allowed[] =
    "fuzz@example.com ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIOtMX69Vqr1Pnjg+27+e8uQyK+vkQ/fj2vNi4pr/OYIx\n"
    "fuzz@example.com ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAABgQCqGbOLIbdUNWX0PWqQCdLbqR6KsqeM+"
    "t0ryKb3ZG8TeptOjLT7N5W6yrlyKtF3ywSHaES0G7+w7aAJg52/GfM/"
    "g68+i8GnymvnU4m1n7fFNvm+EBZ0iWpG4pK1H0TbpMjM5KmEyEuA3h8I2XNEz2OeFZEfppPo724/"
    "xd52YqpG5EH7nDSecU2BQNFwizllDtdGvlbfBjcaqMGFerQ9/"
    "rNWMsh3pLd0ZmdKdNnXxQxIwj4pIDFbkoAcxDeMHGrW6aqTX2VPxorkIYZMrsQk+Ej7F9M+"
    "G0hOfYIO7clzA4UqDUwJayjE4Y4w5Vdfm3kFXAHvIMULhPfPey+e84rz3HwwghSJohVabv0hdgALt0aGe9sFdhWDJwPM+"
    "pwvBDik6a6XukQB+wLKPSzCSWrvEkcsQU2kY3tji4aUCLY6lP5F7lFnGSXKK0FcVGq+"
    "D2utrUTZvtfWjijkN6SUuopILNMCxf+gC68C2vI1iCjfd1rD1P1GJsHNpK+goW9h1PSEhvs=\n"
    "fuzz@example.com ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLFVGxAOytncY0oX7kilV3TQi//"
    "SLzTiaWxdBkVdMJd553Wxo++JD6oIbz0Xsv9NfCJAAeRYZjbO44eRPSRiS9s=\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Parsed once: the harness, not the product, keeps this across inputs. */
    static sig_trust *trust;
    util_error err;
    if (!trust && sig_trust_parse(&trust, "allowed", allowed, sizeof(allowed) - 1, &err) != 0)
        abort();
    if (size > 1 << 16)
        return 0;
    char *text;
    size_t len;
    if (size >= 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        text = malloc(size ? size : 1);
        memcpy(text, data, size);
        len = size;
    } else {
        size_t b64 = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
        text = malloc(b64 + 64);
        memcpy(text, "-----BEGIN SSH SIGNATURE-----\n", 30);
        sodium_bin2base64(text + 30, b64, data, size, sodium_base64_VARIANT_ORIGINAL);
        len = 30 + strlen(text + 30);
        memcpy(text + len, "\n-----END SSH SIGNATURE-----\n", 29);
        len += 29;
    }
    sig_when when = {1700000000, 1700000001};
    sig_signer who;
    (void)sig_verify_buffer(&who, trust, "payload\n", 8, text, len, &when, "fuzz", &err);
    sig_sshsig s;
    if (sig_ssh__parse_sig(&s, text, len, &err) == 0) {
        sig_pubkey k;
        if (sig_ssh__parse_key(&k, s.pubkey.p, s.pubkey.len, &err) == 0)
            sig_pubkey__release(&k);
        sig_sshsig__release(&s);
    }
    free(text);
    return 0;
}
