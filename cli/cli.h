/* cli.h: the subcommands of the sealgate binary. Each takes the arguments after the verb
 * (argv[0] is the verb) and returns the process exit code: 0 success, 1 a finding (a denial,
 * a failed verification or test), 2 a usage or input error. Only the CLI prints errors. */
#ifndef SEALGATE_CLI_H
#define SEALGATE_CLI_H

#include <stdio.h>

#include "util/util.h"

enum { CLI_OK = 0, CLI_FINDING = 1, CLI_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `sealgate --help` */
} cli_command;

/* Print "sealgate VERB: " and the error (with source line and caret when text is given) to
 * stderr; returns CLI_USAGE. */
int cli_fail(const char *verb, const util_error *err, const char *text, size_t len);
/* Print "sealgate VERB: message" to stderr; returns CLI_USAGE. */
int cli_usage(const char *verb, const char *fmt, ...) UTIL_PRINTF(2, 3);

/* Shared by the sealing verbs (cmd_seal.c defines them; cmd_unseal.c and cmd_reseal.c use
 * them). The bytes of an input file: a regular file is mapped (read-only, no copy on the
 * heap), anything else (stdin, a pipe) is read into memory that is wiped on release and
 * whenever it grows, since it may hold plaintext. */
typedef struct cli_seal_text {
    const char *data; /* the bytes, not NUL-terminated; len 0: may be NULL */
    size_t len;
    void *map; /* the mapping, or NULL */
    size_t map_len;
    char *buf; /* the read copy, or NULL */
    size_t buf_cap;
} cli_seal_text;
/* At most max bytes of path ("-": stdin) into t; errors name the file. */
int cli_seal__text_read(cli_seal_text *t, const char *path, size_t max, util_error *err) UTIL_WUR;
void cli_seal__text_release(cli_seal_text *t);
/* A seal_sink (crypto/seal.h) that writes to stdout unbuffered (ctx unused). */
int cli_seal__sink_stdout(void *ctx, const void *data, size_t len);

/* An input of manifest documents and how it was written. */
typedef struct cli_seal_input {
    cli_seal_text text;    /* the file's bytes (may hold plaintext) */
    util_manifest_set set; /* its documents (Lists expanded) */
    const char *source;    /* the path, or "<stdin>"; borrowed */
    int json;              /* 1 when the input was JSON (the default output follows it) */
} cli_seal_input;
int cli_seal__read(cli_seal_input *in, const char *path, util_error *err) UTIL_WUR;
void cli_seal__release(cli_seal_input *in); /* wipes the text and every document's strings */
/* Write docs to stdout as YAML (documents separated by ---) or JSON (one object, or a v1
 * List of several); the rendered text is wiped after writing. */
int cli_seal__emit(json_t *const *docs, size_t n, int json, util_error *err) UTIL_WUR;
/* "-o yaml|json" (NULL: follow the input) into *json; false when it is neither. */
int cli_seal__format(int *json, const char *opt, const cli_seal_input *in);
/* Match option name at argv[*i] as "--name VALUE" or "--name=VALUE" (advancing *i past the
 * value); false when argv[*i] is another option. A missing value is reported and *val NULL. */
int cli_seal__opt(int argc, char **argv, int *i, const char *name, const char **val);
/* The input and output options every sealing verb takes. */
typedef struct cli_seal_io {
    const char *file;   /* -f/--file: path or "-" (stdin, the default) */
    const char *format; /* -o/--output: "yaml", "json", or NULL (follow the input) */
    const char *ns;     /* -n/--namespace: or NULL */
} cli_seal_io;
/* When argv[*i] is one of cli_seal_io's options: its value in *val (as cli_seal__opt, NULL
 * when missing) and the return is the field to store it in; NULL when it is another option. */
const char **cli_seal__io_opt(cli_seal_io *io, int argc, char **argv, int *i, const char **val);
/* What a sealing verb does to each document: a new document in *out (new reference). */
typedef int (*cli_seal_doc_fn)(json_t **out, const json_t *doc, void *ctx, util_error *err);
/* Read io->file, pass every document through fn, and write the results to stdout (io->format,
 * else the input's); all or nothing: on a failure nothing is written and err names the
 * document. require_docs: an input without documents is an error. The results are wiped
 * when freed (they may hold plaintext). */
int cli_seal__transform(const cli_seal_io *io, bool require_docs, cli_seal_doc_fn fn, void *ctx,
                        util_error *err) UTIL_WUR;
/* Exit code for a failed sealing operation: 1 for a value that does not unseal, 2 else. */
int cli_seal__fail(const char *verb, const util_error *err);
/* An error that names no place yet gets the document's: in->source, line d->line. */
void cli_seal__at_doc(util_error *err, const cli_seal_input *in, const util_manifest_doc *d);

int cli_check(int argc, char **argv);
int cli_test(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_seal(int argc, char **argv);
int cli_unseal(int argc, char **argv);
int cli_reseal(int argc, char **argv);
int cli_gate(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_version(int argc, char **argv);

#endif
