/* pol_int.h: the policy module's internals shared between its files (lexer, parser, loader,
 * evaluator, built-ins). Not a public header: only policy/pol_*.c include it. */
#ifndef SEALGATE_POL_INT_H
#define SEALGATE_POL_INT_H

#include <regex.h>
#include <stdatomic.h>
#include <stdint.h>

#include "policy/pol.h"
#include "util/limits.h"

/* ---- tokens --------------------------------------------------------------------------- */

typedef enum {
    T_EOF,
    T_IDENT,
    T_NUMBER,
    T_STRING,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_LBRACE,
    T_RBRACE,
    T_COMMA,
    T_DOT,
    T_COLON,
    T_QQ,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_ASSIGN,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_PERCENT,
    T_ANDAND,
    T_OROR,
    T_BANG,
    T_ERROR, /* the lexer's message is in pol_lexer.error */
    /* keywords */
    T_KW_RULE,
    T_KW_PARAM,
    T_KW_MATCH,
    T_KW_EXCLUDE,
    T_KW_LET,
    T_KW_DENY,
    T_KW_WARN,
    T_KW_AUDIT,
    T_KW_MESSAGE,
    T_KW_WHEN,
    T_KW_AND,
    T_KW_OR,
    T_KW_NOT,
    T_KW_IN,
    T_KW_MATCHES,
    T_KW_LIKE,
    T_KW_SOME,
    T_KW_ALL,
    T_KW_IF,
    T_KW_THEN,
    T_KW_ELSE,
    T_KW_FOR,
    T_KW_TRUE,
    T_KW_FALSE,
    T_KW_NULL,
} pol_tok_type;

typedef struct pol_token {
    pol_tok_type type;
    size_t off, len; /* byte range in the source, quotes included for strings */
    double num;      /* T_NUMBER */
} pol_token;

typedef struct pol_lexer {
    const char *src;
    size_t len; /* end of the range being lexed (an interpolation lexes a sub-range) */
    size_t pos;
    const char *error; /* static message for T_ERROR */
} pol_lexer;

void pol_lex__init(pol_lexer *lx, const char *src, size_t start, size_t end);
pol_token pol_lex__next(pol_lexer *lx);
bool pol_lex__is_clause(pol_tok_type t); /* a keyword that starts a clause or a rule */
const char *pol_lex__describe(pol_tok_type t);
/* Skip spaces and comments from lx->pos. */
void pol_lex__skip_space(pol_lexer *lx);

/* ---- values --------------------------------------------------------------------------- */

/* A value during evaluation: borrows json_t or points into the arena; never owns. */
typedef enum { PV_NULL, PV_BOOL, PV_NUM, PV_STR, PV_JSON, PV_LIST, PV_MAP } pol_vtype;

typedef struct pol_map pol_map;
typedef struct pol_value {
    uint8_t t;    /* pol_vtype */
    bool b;       /* PV_BOOL */
    uint32_t len; /* PV_STR bytes, PV_LIST items */
    union {
        double n;                /* PV_NUM */
        const char *s;           /* PV_STR, NUL-terminated */
        const json_t *j;         /* PV_JSON: an array or an object */
        struct pol_value *items; /* PV_LIST */
        const pol_map *m;        /* PV_MAP */
    } u;
} pol_value;

struct pol_map {
    size_t n;
    pol_value *keys; /* strings */
    pol_value *vals;
};

static inline pol_value pv_null(void)
{
    return (pol_value){.t = PV_NULL};
}
static inline pol_value pv_bool(bool b)
{
    return (pol_value){.t = PV_BOOL, .b = b};
}
static inline pol_value pv_num(double n)
{
    return (pol_value){.t = PV_NUM, .u.n = n};
}
static inline pol_value pv_str(const char *s, size_t len)
{
    return (pol_value){.t = PV_STR, .len = (uint32_t)len, .u.s = s};
}
pol_value pv_cstr(const char *s);
pol_value pv_from_json(const json_t *j); /* j borrowed; NULL is null */
bool pv_truthy(pol_value v);             /* false and null are false, everything else true */
bool pv_is_list(pol_value v);
bool pv_is_map(pol_value v);
size_t pv_len(pol_value v);             /* items of a list, entries of a map, bytes of a string */
pol_value pv_at(pol_value v, size_t i); /* i < pv_len of a list */
pol_value pv_get(pol_value v, const char *key, size_t klen); /* map member or null */
/* The i-th entry of a map; for JSON objects iteration goes through iter. */
typedef struct pol_map_iter {
    pol_value v;
    size_t i;
    void *it; /* json_object_iter */
} pol_map_iter;
void pv_map_iter_init(pol_map_iter *it, pol_value m);
bool pv_map_iter_next(pol_map_iter *it, pol_value *key, pol_value *val);
bool pv_equal(pol_value a, pol_value b);
/* -1, 0, 1, or 2 when a and b do not compare (mixed types). */
int pv_compare(pol_value a, pol_value b);
const char *pv_type_name(pol_value v);
/* Append v to buf as the message shows it: strings as they are, the rest as JSON. Stops at
 * cap bytes; returns the new length. */
size_t pv_render(char *buf, size_t len, size_t cap, pol_value v, bool quote_strings);
/* A json_t (new reference) from a value; NULL when out of memory. */
json_t *pv_to_json(pol_value v);
/* memmem, which POSIX lacks. */
const char *pol_memmem(const char *hay, size_t hlen, const char *needle, size_t nlen);

/* ---- the compiled tree ---------------------------------------------------------------- */

typedef enum {
    N_CONST,
    N_ROOT,
    N_LOCAL,
    N_PARAM, /* replaced by N_CONST when the pack's parameters are resolved */
    N_FIELD,
    N_INDEX,
    N_LIST,
    N_MAP,
    N_NOT,
    N_NEG,
    N_AND,
    N_OR,
    N_DEFAULT,
    N_CMP,
    N_IN,
    N_NOTIN,
    N_MATCHES,
    N_LIKE,
    N_ARITH,
    N_IF,
    N_SOME,
    N_ALL,
    N_COMPR,
    N_CALL,
} pol_node_kind;

enum { R_OBJECT, R_OLD, R_REQUEST, R_PARAMS, R_GIT, R_POD, R_POD_META, R_POD_ALL };

typedef struct pol_node pol_node;
typedef pol_value (*pol_builtin_fn)(void *ctx, pol_value *args, size_t n);

struct pol_node {
    uint8_t kind;   /* pol_node_kind */
    uint8_t op;     /* N_CMP: pol_tok_type of the operator; N_ARITH: '+', '-', ... */
    uint16_t depth; /* height of the subtree: bounds the evaluator's recursion */
    uint32_t off;   /* source offset, for load errors */
    union {
        pol_value k; /* N_CONST */
        int root;    /* N_ROOT */
        int slot;    /* N_LOCAL */
        struct {
            const char *name; /* N_PARAM */
            size_t len;
        } param;
        struct {
            pol_node *obj;
            const char *name; /* arena, NUL-terminated */
            size_t len;
        } field;
        struct {
            pol_node *a, *b, *c;
        } x; /* binary ops, N_INDEX (a[b]), N_IF (a then b else c), N_DEFAULT */
        struct {
            pol_node **items;
            pol_node **keys; /* N_MAP */
            size_t n;
        } list; /* N_LIST, N_MAP, and the operands of n-ary N_AND and N_OR */
        struct {
            int slot_k, slot_v; /* slot_k -1 when one variable */
            pol_node *src, *body, *filter;
        } q; /* N_SOME, N_ALL, N_COMPR (body = element, filter may be NULL) */
        struct {
            pol_node *subj, *pat;
            regex_t *re; /* compiled at load when pat is constant, else NULL */
        } m;
        struct {
            int fn; /* index into the built-in table */
            pol_node **args;
            size_t n;
        } call;
    } u;
};

/* ---- built-ins ------------------------------------------------------------------------ */

typedef struct pol_ctx pol_ctx;
typedef struct pol_builtin {
    const char *name;
    unsigned min, max;
    pol_value (*fn)(pol_ctx *c, pol_value *args, size_t n);
} pol_builtin;

const pol_builtin *pol_builtin__find(const char *name, size_t len, int *index);
const pol_builtin *pol_builtin__get(int index);

/* Kubernetes and secrets helpers (pol_k8s.c); all pure functions over bytes. */
bool pol_k8s__quantity(double *out, const char *s, size_t len);
typedef struct pol_image_ref {
    util_slice registry, repository, tag, digest, name; /* name: registry/repository */
    bool default_registry;                              /* registry was not written */
} pol_image_ref;
bool pol_k8s__image(pol_image_ref *out, const char *s, size_t len);
bool pol_k8s__is_sealed(const char *s, size_t len);
const char *pol_k8s__credential(const char *s, size_t len); /* kind name or NULL */
bool pol_k8s__secret_like(const char *key, size_t len);
double pol_k8s__entropy(const char *s, size_t len);
/* Long and varied enough to be machine-made (not a `${VAR}` reference, not sealed). */
bool pol_k8s__high_entropy(const char *s, size_t len);
/* base64 (std or url alphabet, padding optional) into out (capacity >= len*3/4+3); returns
 * the decoded length or -1. */
long pol_k8s__base64_decode(unsigned char *out, const char *s, size_t len);

/* ---- rules ---------------------------------------------------------------------------- */

enum { M_KIND, M_NAMESPACE, M_OPERATION, M_USER, M_GROUP, M_LABEL, M_ANNOTATION };
enum { SEL_EXISTS, SEL_NOTEXISTS, SEL_EQ, SEL_NE, SEL_IN, SEL_NOTIN };

typedef struct pol_mval {
    const char *a;     /* kind: the kind; label/annotation: the key; others: the pattern */
    const char *group; /* kind: the API group, NULL for any */
    int op;            /* label/annotation selector op */
    const char **vals; /* selector values */
    size_t nvals;
} pol_mval;

typedef struct pol_match {
    int subject; /* M_* */
    bool exclude;
    pol_mval *vals;
    size_t n;
} pol_match;

typedef struct pol_let {
    int slot;
    pol_node *expr;
} pol_let;

typedef struct pol_msgpart {
    const char *lit; /* literal text, or NULL for an expression */
    size_t len;
    pol_node *expr;
} pol_msgpart;

typedef struct pol_rule {
    char *id;          /* "pack/rule" */
    const char *title; /* decoded */
    const char *file;  /* the file it came from */
    size_t fi;         /* its index in the loader's file table (load time only) */
    uint32_t off;      /* offset of `rule` in it */
    pol_action action;
    bool pod_rule;
    pol_match *matches;
    size_t nmatches;
    pol_let *lets;
    size_t nlets;
    pol_node *cond;
    pol_node *witness; /* the `some` of the condition's top-level `and` chain, or NULL */
    pol_node **rest;   /* the other conjuncts when there is a witness */
    size_t nrest;
    pol_msgpart *msg; /* NULL: the title */
    size_t nmsg;
    int nslots;
    pol_node **slot_let; /* per slot: the let that fills it (evaluated on first use), or NULL */
    const char **kinds;  /* kinds the rule can match (index), NULL: any */
    size_t nkinds;
} pol_rule;

typedef struct pol_kind_entry {
    const char *kind;
    uint32_t rule;
} pol_kind_entry;

struct pol_ruleset {
    atomic_int refs;
    util_arena arena; /* every node, string and table of the set */
    pol_rule *rules;
    size_t nrules;
    pol_kind_entry *index; /* sorted by kind, then rule */
    size_t nindex;
    uint32_t *wild; /* rules that match any kind, ascending */
    size_t nwild;
    regex_t **regexes; /* to regfree */
    size_t nregexes, capregexes;
    json_t *consts; /* array holding every json_t constants borrow from */
    int max_slots;
};

/* ---- parsing (pol_parse.c) ------------------------------------------------------------ */

/* One parameter declaration or reference, for resolution once a whole pack is parsed. */
typedef struct pol_param_decl {
    const char *name;
    json_t *value; /* the default; owned */
    size_t file;   /* index into the loader's file table */
    uint32_t off;
} pol_param_decl;

typedef struct pol_param_ref {
    pol_node *node; /* N_PARAM or N_MATCHES whose pattern is a param */
    size_t file;
    uint32_t off;
} pol_param_ref;

/* The loader's state while building a set (pol_load.c owns it). */
typedef struct pol_loader {
    pol_ruleset *rs;
    pol_diags *diags;
    size_t nerrors;
    /* rules under construction */
    pol_rule *rules;
    size_t nrules, caprules;
    /* the current pack's declarations and references */
    pol_param_decl *decls;
    size_t ndecls, capdecls;
    pol_param_ref *refs;
    size_t nrefs, caprefs;
    /* files: names and texts for errors */
    struct {
        char *name;
        const char *text;
        size_t len;
        size_t diag_text; /* index of the copy in diags, or SIZE_MAX */
    } * files;
    size_t nfiles, capfiles;
    bool oom;
    /* field names, interned so that equal names share one pointer (the evaluator's cache) */
    const char **names;
    size_t nnames, capnames;
} pol_loader;

/* The one copy of a field name in the rule set's arena. */
const char *pol_load__intern(pol_loader *ld, const char *s, size_t len);

/* Report an error at offset off of file fi (diags and the error count). */
void pol_load__error(pol_loader *ld, size_t fi, size_t off, const char *fmt, ...) UTIL_PRINTF(4, 5);
/* Parse one file's text into ld's rules and declarations; pack is the rule id prefix. */
void pol_parse__file(pol_loader *ld, size_t fi, const char *pack);
/* Compile a regex pattern held in v (a string) at load; NULL and an error on failure. */
regex_t *pol_parse__regex(pol_loader *ld, size_t fi, uint32_t off, pol_value v);

/* ---- evaluation (pol_eval.c) ---------------------------------------------------------- */

struct pol_ctx {
    const pol_input *in;
    util_arena *arena;
    pol_value roots[8]; /* by R_* */
    bool pod_ok;        /* the object carries a pod spec */
    const char *pod_prefix, *pod_meta_prefix;
    size_t seg[3]; /* containers, initContainers, ephemeralContainers counts */
    pol_value *slots;
    const struct pol_rule *rule; /* the rule being evaluated, for its lazy lets */
    struct {
        const char *s; /* image() results by input string (the object's strings are stable) */
        uint32_t len;
        pol_value v;
    } images[4];
    unsigned nimages;
    /* Member lookups by (object, interned field name): the rules of a pack read the same
     * fields of the same containers over and over, and jansson hashes the key each time. */
    struct {
        const json_t *obj;
        const char *name;
        const json_t *val;
    } fields[256];
    uint64_t steps;
    bool over; /* budget exceeded */
    bool oom;
};

/* `x in coll` (list element, map key, substring); c may be NULL (no step counting). */
bool pol_eval__in(pol_ctx *c, pol_value x, pol_value coll);

#endif
