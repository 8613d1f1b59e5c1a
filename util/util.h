/* util.h: the shared foundation every module builds on: errors as values, the arena that
 * per-request memory comes from, byte slices and growable buffers, reading files, and the
 * manifest loader (YAML multi-document or JSON into jansson values, errors with line:col). */
#ifndef SEALGATE_UTIL_H
#define SEALGATE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define UTIL_WUR          __attribute__((warn_unused_result))
#define UTIL_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- errors --------------------------------------------------------------------------- */

/* Expected failures shared by all modules; modules add their own codes below -100. */
enum {
    UTIL_OK = 0,
    UTIL_EFAIL = -1,    /* anything else */
    UTIL_ENOMEM = -2,   /* allocation failed */
    UTIL_EIO = -3,      /* a file or socket could not be read or written */
    UTIL_ESYNTAX = -4,  /* malformed input: YAML, JSON, rules, config */
    UTIL_ELIMIT = -5,   /* input over a limit of limits.h */
    UTIL_EINVALID = -6, /* well-formed input that makes no sense */
    UTIL_ENOTFOUND = -7,
};

/* Details of a failure. The caller owns it (usually on its stack); filling it never
 * allocates, so an out-of-memory can still be reported. Modelled on jansson's json_error_t. */
typedef struct util_error {
    int code;           /* 0, or the negative code the failing function returned */
    const char *source; /* file name, "<stdin>", or NULL; borrowed, must outlive the error */
    unsigned line, col; /* 1-based position in source; 0 when there is none */
    char msg[256];      /* lowercase, what is wrong first, no final period */
} util_error;

void util_error_clear(util_error *err);
/* Fill err (which may be NULL) and return code, so callers write `return util_error_set(...)`. */
int util_error_set(util_error *err, int code, const char *fmt, ...) UTIL_PRINTF(3, 4);
int util_error_at(util_error *err, int code, const char *source, unsigned line, unsigned col,
                  const char *fmt, ...) UTIL_PRINTF(6, 7);
int util_error_vset(util_error *err, int code, const char *fmt, va_list ap) UTIL_PRINTF(3, 0);
/* Prefix err->msg with "what: " (e.g. the item or document being processed). */
void util_error_prefix(util_error *err, const char *fmt, ...) UTIL_PRINTF(2, 3);
/* "source:line:col: msg" (parts that are unknown are left out) into buf; returns buf. */
const char *util_error_format(const util_error *err, char *buf, size_t size);
/* Print the error as util_error_format does and, when text is the source the error points
 * into, the source line and a caret under the column (jq's locfile). */
void util_error_print(FILE *out, const util_error *err, const char *text, size_t len);

/* 1-based line and column (in bytes) of offset within text. */
void util_linecol(const char *text, size_t len, size_t offset, unsigned *line, unsigned *col);

/* ---- slices and buffers --------------------------------------------------------------- */

typedef struct util_slice {
    const char *ptr;
    size_t len;
} util_slice;

#define UTIL_SLICE_LIT(s) ((util_slice){(s), sizeof(s) - 1})
util_slice util_slice_cstr(const char *s);
bool util_slice_eq(util_slice a, util_slice b);
bool util_slice_eq_cstr(util_slice a, const char *s);

/* A growable byte buffer, always NUL-terminated after data[len]. Owns data. */
typedef struct util_buf {
    char *data;
    size_t len, cap;
} util_buf;

void util_buf_init(util_buf *b);
void util_buf_release(util_buf *b); /* frees data; b can be reused after util_buf_init */
/* Like release, but wipes the bytes first: for buffers that held secrets. */
void util_buf_release_secret(util_buf *b);
int util_buf_reserve(util_buf *b, size_t extra) UTIL_WUR;

/* Room for one more item in a growable array: *(T **)items holds count items of size bytes in
 * *cap slots. When full, the slots double (starting at first). 0, or UTIL_ENOMEM with the
 * array as it was. */
int util_grow(void *items, size_t *cap, size_t count, size_t size, size_t first) UTIL_WUR;
int util_buf_append(util_buf *b, const void *data, size_t len) UTIL_WUR;
/* Like util_buf_append, but when b must grow its bytes move to a new block and the old one is
 * wiped, where realloc could leave a copy: for buffers that fill up with secrets. */
int util_buf_append_secret(util_buf *b, const void *data, size_t len) UTIL_WUR;
int util_buf_puts(util_buf *b, const char *s) UTIL_WUR;
int util_buf_printf(util_buf *b, const char *fmt, ...) UTIL_PRINTF(2, 3) UTIL_WUR;
/* Give the caller the bytes (caller frees with free()); b is left empty. */
char *util_buf_steal(util_buf *b, size_t *len_out);

/* ---- arena ---------------------------------------------------------------------------- */

/* Bump allocator: per-request and per-evaluation memory is taken from one arena and freed at
 * once. With SEALGATE_ARENA_MALLOC (sanitizer and fuzz builds) every allocation is its own
 * malloc block so ASan and valgrind see overflows between them. */
typedef struct util_arena_block util_arena_block;
typedef struct util_arena {
    util_arena_block *head; /* newest block first */
    size_t block_size;      /* size of ordinary blocks */
    size_t used;            /* bytes handed out since init or the last reset */
    bool pooled;            /* carve from blocks even with SEALGATE_ARENA_MALLOC */
} util_arena;

void util_arena_init(util_arena *a, size_t block_size);
/* An arena that always carves from shared blocks, in every build: for memory a library
 * allocates through hooks, where a block per allocation would make util_arena_owns slow. */
void util_arena_init_pooled(util_arena *a, size_t block_size);
/* Whether p points into memory this arena handed out. Walks the blocks: meant for pooled
 * arenas, which have few. */
bool util_arena_owns(const util_arena *a, const void *p);
/* Memory aligned for any type, valid until reset or release; NULL when out of memory. */
void *util_arena_alloc(util_arena *a, size_t size);
void *util_arena_calloc(util_arena *a, size_t count, size_t size);
char *util_arena_strndup(util_arena *a, const char *s, size_t len);
char *util_arena_strdup(util_arena *a, const char *s);
char *util_arena_printf(util_arena *a, const char *fmt, ...) UTIL_PRINTF(2, 3);
/* Free everything but the first block, which is kept for the next request. */
void util_arena_reset(util_arena *a);
void util_arena_release(util_arena *a);
/* Like release, but wipes what was handed out first: for arenas that held secrets. */
void util_arena_release_secret(util_arena *a);

/* ---- files ---------------------------------------------------------------------------- */

/* Read the whole file at path ("-" is stdin) into out, at most max bytes (UTIL_ELIMIT
 * beyond). out must be initialised; its contents are replaced. */
int util_file_read(util_buf *out, const char *path, size_t max, util_error *err) UTIL_WUR;
/* Write data to path atomically (a temporary file renamed over it) with the given mode. */
int util_file_write(const char *path, const void *data, size_t len, unsigned mode,
                    util_error *err) UTIL_WUR;
bool util_path_is_dir(const char *path);
/* Collect the regular files under path (a file, or a folder walked recursively, in sorted
 * order) whose names end in one of the suffixes (NULL-terminated list; NULL: every file).
 * out receives malloc'd strings the caller frees with util_strv_free. Hidden entries are
 * skipped. */
typedef struct util_strv {
    char **items;
    size_t count, cap;
} util_strv;
int util_path_collect(util_strv *out, const char *path, const char *const *suffixes,
                      util_error *err) UTIL_WUR;
int util_strv_push(util_strv *v, const char *s) UTIL_WUR; /* copies s */
void util_strv_free(util_strv *v);
/* Fold data into a 64-bit FNV-1a hash (start from UTIL_FNV_SEED). */
#define UTIL_FNV_SEED 14695981039346656037ull
uint64_t util_fnv(uint64_t h, const void *data, size_t len);
/* Fold what the files look like into h: each name, and its device, inode, size and time. A
 * change in any of them, a file added or a file gone, changes the result: watchers poll it to
 * decide when to reload. */
uint64_t util_files_fingerprint(uint64_t h, const util_strv *files);

/* ---- manifests ------------------------------------------------------------------------ */

/* One document of a manifest file. */
typedef struct util_manifest_doc {
    json_t *value;  /* the document as JSON; owned by the set */
    unsigned index; /* 0-based position of the document in its file */
    int item;       /* index within a `List` the loader expanded, or -1 */
    unsigned line;  /* 1-based line where the document starts */
} util_manifest_doc;

typedef struct util_manifest_set {
    util_manifest_doc *docs;
    size_t count, cap;
} util_manifest_set;

enum {
    UTIL_MANIFEST_EXPAND_LISTS = 1 << 0, /* replace `kind: *List` documents by their items */
    UTIL_MANIFEST_KEEP_EMPTY = 1 << 1,   /* keep empty / null documents (as JSON null) */
};

/* Parse text (YAML, possibly several documents, or JSON) and append its documents to out.
 * source names the input in errors. YAML is resolved as kubectl does (YAML 1.1 booleans,
 * ints, floats; anchors and aliases expanded within limits; non-string keys as strings).
 * On error nothing is appended and err names source:line:col. */
int util_manifest_parse(util_manifest_set *out, const char *source, const char *text, size_t len,
                        unsigned flags, util_error *err) UTIL_WUR;

/* Called once per document, in order, as soon as it is parsed; doc->value is borrowed for the
 * call (json_incref it to keep it). A nonzero return stops the parse and becomes its result. */
typedef int (*util_manifest_fn)(void *ctx, const util_manifest_doc *doc);

/* Stream the documents of text to fn, parsed as util_manifest_parse does. Memory stays bounded
 * by one document, which large streams need; the price is that documents before a syntax error
 * have already reached fn when the error is reported. */
int util_manifest_each(const char *source, const char *text, size_t len, unsigned flags,
                       util_manifest_fn fn, void *ctx, util_error *err) UTIL_WUR;
void util_manifest_set_init(util_manifest_set *set);
void util_manifest_set_release(util_manifest_set *set); /* drops every document's reference */

/* ---- JSON over the wire ---------------------------------------------------------------- */

/* ---- JSON allocation scopes ------------------------------------------------------------- */

/* jansson and cJSON each take one process-wide allocator. sealgate gives them one that, on a
 * thread inside a scope, carves from the scope's arena, so building a request's trees costs a
 * pointer bump and dropping them costs nothing; everywhere else it is malloc and free. Every
 * JSON value made inside a scope dies with it: none may be kept past util_json_scope_end, and
 * json_dumps' result must not reach free() (use util_json_dump). */
typedef struct util_json_scope {
    util_arena arena;
    size_t budget;                 /* bytes a decoded text may take; 0: no bound */
    struct util_json_scope *outer; /* the scope this one interrupted on the same thread */
} util_json_scope;

/* Install the allocator into both libraries; call before starting threads that use them (the
 * hooks are the libraries' own globals). Idempotent. Values made before keep working. */
void util_json_init(void);
/* Open a scope on this thread; size_hint (a body's length, say) sizes the arena's blocks.
 * util_json_decode refuses a text whose tree would take more than budget bytes (0: no bound),
 * judging from its scan, before decoding: a body of a few MiB made of tiny values would
 * otherwise decode to hundreds of MiB of nodes. */
void util_json_scope_begin(util_json_scope *s, size_t size_hint, size_t budget);
/* Close the innermost scope, which must be s, and wipe and free every JSON value made in it. */
void util_json_scope_end(util_json_scope *s);
/* Whether this thread is inside a scope: then freeing a tree made here is wasted work. */
bool util_json_in_scope(void);
/* Append v's text (json_dumpb flags) to out. Unlike json_dumps, it works inside a scope. */
int util_json_dump(util_buf *out, const json_t *v, size_t flags) UTIL_WUR;

/* Decode one JSON object or array as jansson's json_loadb(JSON_REJECT_DUPLICATES) reads it,
 * refusing nesting deeper than max_depth (UTIL_ELIMIT, naming the byte) before any recursive
 * parser runs. *out is a new reference the caller owns. Malformed JSON is UTIL_ESYNTAX with
 * jansson's line, column and reason; in a scope, a tree over its budget is UTIL_ENOMEM. */
int util_json_decode(json_t **out, const char *text, size_t len, unsigned max_depth,
                     util_error *err) UTIL_WUR;

/* Serialise a JSON value as block-style YAML (as kubectl prints it) into out. */
int util_yaml_dump(util_buf *out, const json_t *value) UTIL_WUR;

/* ---- small helpers -------------------------------------------------------------------- */

/* Borrowed string member of a JSON object, or NULL when absent or not a string. */
const char *util_json_str(const json_t *obj, const char *key);
/* Borrowed value at a dotted path ("metadata.name"), or NULL. */
json_t *util_json_path(const json_t *root, const char *dotted);
/* Glob match with '*' (any run) and '?' (one byte), as namespace and user patterns use. */
bool util_glob_match(const char *pattern, const char *s);
/* Monotonic clock in nanoseconds. */
uint64_t util_now_ns(void);
/* Length of the valid UTF-8 sequence starting s (n bytes readable), or 0: an overlong form, a
 * surrogate, a code point past U+10FFFF or a cut sequence is invalid, as for jansson. */
size_t util_utf8_len(const unsigned char *s, size_t n);

#endif
