/* pol_parse.c: rule files into compiled rules (docs/rules.md). Names are resolved while
 * parsing (locals become slots, functions table indexes, literal regexes are compiled), so
 * evaluation never looks anything up by name except JSON members. The parser keeps a sticky
 * error per rule and skips to the next `rule` or `param`, so one run reports every rule that
 * is broken. */
#include "policy/pol_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define MAX_SCOPE 128
#define MAX_QUANT 64

typedef struct scope_ent {
    const char *name;
    size_t len;
    int slot;
} scope_ent;

typedef struct quant_names {
    const pol_node *node;
    size_t k_off, k_len, v_off, v_len; /* v_len 0 when one variable */
} quant_names;

typedef struct parser {
    pol_loader *ld;
    size_t fi;
    const char *src;
    size_t srclen;
    const char *pack;
    util_arena *arena;
    pol_lexer lx;
    pol_token tok;
    bool failed;   /* a syntax error in this rule: stop and skip to the next one */
    bool bad_rule; /* any error in this rule: do not keep it */
    scope_ent scope[MAX_SCOPE];
    size_t nscope;
    int nslots;
    int depth;
    size_t pod_use; /* offset of the first use of `pod`, or SIZE_MAX */
    quant_names quants[MAX_QUANT];
    size_t nquants;
} parser;

static pol_node *parse_expr(parser *p);

/* ---- errors and tokens ---------------------------------------------------------------- */

static void syntax_error(parser *p, size_t off, const char *fmt, ...) UTIL_PRINTF(3, 4);
static void syntax_error(parser *p, size_t off, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    if (p->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pol_load__error(p->ld, p->fi, off, "%s", msg);
    p->failed = p->bad_rule = true;
}

/* An error that leaves the parse in step (unknown name, bad regex): report it and go on. */
static void check_error(parser *p, size_t off, const char *fmt, ...) UTIL_PRINTF(3, 4);
static void check_error(parser *p, size_t off, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    if (p->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pol_load__error(p->ld, p->fi, off, "%s", msg);
    p->bad_rule = true;
}

static void advance(parser *p)
{
    p->tok = pol_lex__next(&p->lx);
    if (p->tok.type == T_ERROR) {
        if (strcmp(p->lx.error, "unexpected character") == 0) {
            unsigned char ch = (unsigned char)p->src[p->tok.off];
            if (isprint(ch))
                syntax_error(p, p->tok.off, "unexpected character '%c'", ch);
            else
                syntax_error(p, p->tok.off, "unexpected byte 0x%02x", ch);
        } else {
            syntax_error(p, p->tok.off, "%s", p->lx.error);
        }
    }
}

static bool accept(parser *p, pol_tok_type t)
{
    if (p->tok.type != t)
        return false;
    advance(p);
    return true;
}

/* Describe the current token for "expected X, found Y" messages. */
static const char *found(parser *p, char *buf, size_t size)
{
    pol_token t = p->tok;
    if (t.type == T_EOF && p->lx.len < p->srclen) {
        snprintf(buf, size, "'}'"); /* the end of an interpolation */
        return buf;
    }
    if (t.type == T_IDENT || t.type == T_NUMBER || t.type >= T_KW_RULE)
        snprintf(buf, size, "'%.*s'", (int)(t.len > 40 ? 40 : t.len), p->src + t.off);
    else if (t.type == T_STRING)
        snprintf(buf, size, "a string");
    else
        snprintf(buf, size, "%s", pol_lex__describe(t.type));
    return buf;
}

static void expect(parser *p, pol_tok_type t, const char *what)
{
    char buf[64];
    if (accept(p, t))
        return;
    if (t >= T_KW_RULE)
        syntax_error(p, p->tok.off, "expected '%s' %s, found %s", pol_lex__describe(t), what,
                     found(p, buf, sizeof(buf)));
    else
        syntax_error(p, p->tok.off, "expected %s %s, found %s", pol_lex__describe(t), what,
                     found(p, buf, sizeof(buf)));
}

/* "L:C" of an offset in the current file, for messages that point back. */
static void linecol(parser *p, size_t off, char *buf, size_t size)
{
    unsigned line, col;
    util_linecol(p->src, p->srclen, off, &line, &col);
    snprintf(buf, size, "%u:%u", line, col);
}

static void close_bracket(parser *p, pol_tok_type t, size_t open_off)
{
    char at[32], buf[64];
    static const char *names[] = {[T_RPAREN] = "')' to close '('",
                                  [T_RBRACK] = "']' to close '['",
                                  [T_RBRACE] = "'}' to close '{'"};
    if (accept(p, t))
        return;
    linecol(p, open_off, at, sizeof(at));
    syntax_error(p, p->tok.off, "expected %s at %s, found %s", names[t], at,
                 found(p, buf, sizeof(buf)));
}

/* ---- nodes ---------------------------------------------------------------------------- */

static pol_node *node(parser *p, pol_node_kind kind, size_t off)
{
    pol_node *n = util_arena_calloc(p->arena, 1, sizeof(*n));
    if (!n) {
        p->ld->oom = true;
        syntax_error(p, off, "out of memory");
        return NULL;
    }
    n->kind = (uint8_t)kind;
    n->off = (uint32_t)off;
    n->depth = 1;
    return n;
}

/* Record that parent sits above child; errors when the tree gets deeper than the limit, which
 * bounds the evaluator's recursion. */
static void above(parser *p, pol_node *parent, const pol_node *child)
{
    if (!parent || !child)
        return;
    if (child->depth + 1 > parent->depth)
        parent->depth = (uint16_t)(child->depth + 1);
    if (parent->depth > LIMIT_RULE_EXPR_DEPTH)
        syntax_error(p, parent->off, "expression nested deeper than %d (limits.rule_expr_depth)",
                     LIMIT_RULE_EXPR_DEPTH);
}

static pol_node **node_array(parser *p, size_t n)
{
    pol_node **a = util_arena_calloc(p->arena, n ? n : 1, sizeof(*a));
    if (!a) {
        p->ld->oom = true;
        syntax_error(p, p->tok.off, "out of memory");
    }
    return a;
}

/* A growable list of nodes while parsing; copied to the arena at the end. */
typedef struct nodevec {
    pol_node *small[16];
    pol_node **items;
    size_t n, cap;
} nodevec;

static void nv_init(nodevec *v)
{
    v->items = v->small;
    v->n = 0;
    v->cap = 16;
}

static void nv_push(parser *p, nodevec *v, pol_node *n)
{
    if (v->n == v->cap) {
        pol_node **a = util_arena_alloc(p->arena, 2 * v->cap * sizeof(*a));
        if (!a) {
            p->ld->oom = true;
            syntax_error(p, p->tok.off, "out of memory");
            return;
        }
        memcpy(a, v->items, v->n * sizeof(*a));
        v->items = a;
        v->cap *= 2;
    }
    v->items[v->n++] = n;
}

static pol_node **nv_finish(parser *p, nodevec *v)
{
    pol_node **a = node_array(p, v->n);
    if (a && v->n)
        memcpy(a, v->items, v->n * sizeof(*a));
    return a;
}

/* ---- strings -------------------------------------------------------------------------- */

static size_t utf8_put(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Decode the string source[start, end) (no quotes) into out, which has room for end-start+1
 * bytes (escapes only shrink). brace: `{{` and `}}` are single braces (message text). */
static bool decode_range(parser *p, size_t start, size_t end, char *out, size_t *len_out,
                         bool brace)
{
    size_t n = 0;
    for (size_t i = start; i < end; i++) {
        char ch = p->src[i];
        if (brace && (ch == '{' || ch == '}') && i + 1 < end && p->src[i + 1] == ch) {
            out[n++] = ch;
            i++;
            continue;
        }
        if (ch != '\\') {
            out[n++] = ch;
            continue;
        }
        if (++i >= end)
            break;
        switch (p->src[i]) {
        case 'n':
            out[n++] = '\n';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case '"':
        case '\'':
        case '\\':
        case '/':
        case '{':
        case '}':
            out[n++] = p->src[i];
            break;
        case 'u': {
            unsigned cp = 0;
            if (i + 4 >= end) {
                syntax_error(p, i - 1, "bad escape '\\u': four hex digits expected");
                return false;
            }
            for (int k = 1; k <= 4; k++) {
                char h = p->src[i + k];
                if (!isxdigit((unsigned char)h)) {
                    syntax_error(p, i - 1, "bad escape '\\u': four hex digits expected");
                    return false;
                }
                cp = cp * 16 +
                     (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower(h) - 'a' + 10));
            }
            i += 4;
            n += utf8_put(out + n, cp);
            break;
        }
        default:
            syntax_error(p, i - 1, "bad escape '\\%c' in string",
                         isprint((unsigned char)p->src[i]) ? p->src[i] : '?');
            return false;
        }
    }
    out[n] = '\0';
    *len_out = n;
    return true;
}

/* The current T_STRING token decoded into the arena. */
static char *string_value(parser *p, pol_token t, size_t *len)
{
    char *out = util_arena_alloc(p->arena, t.len);
    if (!out) {
        p->ld->oom = true;
        syntax_error(p, t.off, "out of memory");
        return NULL;
    }
    if (!decode_range(p, t.off + 1, t.off + t.len - 1, out, len, false))
        return NULL;
    return out;
}

static char *arena_strndup(parser *p, const char *s, size_t len)
{
    char *c = util_arena_strndup(p->arena, s, len);
    if (!c) {
        p->ld->oom = true;
        syntax_error(p, p->tok.off, "out of memory");
    }
    return c;
}

/* ---- names ---------------------------------------------------------------------------- */

static int bind(parser *p, size_t off, size_t len)
{
    if (p->nscope == MAX_SCOPE) {
        syntax_error(p, off, "too many names in one rule (at most %d)", MAX_SCOPE);
        return 0;
    }
    int slot = p->nslots++;
    p->scope[p->nscope++] = (scope_ent){p->src + off, len, slot};
    return slot;
}

static int lookup(parser *p, const char *name, size_t len)
{
    for (size_t i = p->nscope; i-- > 0;)
        if (p->scope[i].len == len && memcmp(p->scope[i].name, name, len) == 0)
            return p->scope[i].slot;
    return -1;
}

regex_t *pol_parse__regex(pol_loader *ld, size_t fi, uint32_t off, pol_value v)
{
    char buf[200];
    if (v.t != PV_STR) {
        pol_load__error(ld, fi, off, "the pattern of 'matches' must be a string, not %s",
                        pv_type_name(v));
        return NULL;
    }
    if (v.len > LIMIT_REGEX_SOURCE) {
        pol_load__error(ld, fi, off, "regex over %u bytes (limits.regex_source)",
                        (unsigned)LIMIT_REGEX_SOURCE);
        return NULL;
    }
    if (strlen(v.u.s) != v.len) {
        pol_load__error(ld, fi, off, "bad regex: it holds a NUL byte");
        return NULL;
    }
    regex_t *re = util_arena_alloc(&ld->rs->arena, sizeof(*re));
    if (!re) {
        ld->oom = true;
        return NULL;
    }
    int rc = regcomp(re, v.u.s, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, re, buf, sizeof(buf));
        pol_load__error(ld, fi, off, "bad regex \"%.60s\": %s", v.u.s, buf);
        return NULL;
    }
    pol_ruleset *rs = ld->rs;
    if (rs->nregexes == rs->capregexes) {
        size_t cap = rs->capregexes ? 2 * rs->capregexes : 16;
        regex_t **a = realloc(rs->regexes, cap * sizeof(*a));
        if (!a) {
            regfree(re);
            ld->oom = true;
            return NULL;
        }
        rs->regexes = a;
        rs->capregexes = cap;
    }
    rs->regexes[rs->nregexes++] = re;
    return re;
}

static void add_param_ref(parser *p, pol_node *n)
{
    pol_loader *ld = p->ld;
    if (ld->nrefs == ld->caprefs) {
        size_t cap = ld->caprefs ? 2 * ld->caprefs : 32;
        pol_param_ref *a = realloc(ld->refs, cap * sizeof(*a));
        if (!a) {
            ld->oom = true;
            syntax_error(p, n->off, "out of memory");
            return;
        }
        ld->refs = a;
        ld->caprefs = cap;
    }
    ld->refs[ld->nrefs++] = (pol_param_ref){n, p->fi, n->off};
}

/* ---- expressions ---------------------------------------------------------------------- */

static pol_node *parse_args_call(parser *p, pol_token name)
{
    char at[32];
    int fn;
    const pol_builtin *b = pol_builtin__find(p->src + name.off, name.len, &fn);
    size_t open = p->tok.off;
    advance(p); /* ( */
    nodevec args;
    nv_init(&args);
    if (p->tok.type != T_RPAREN) {
        do {
            pol_node *a = parse_expr(p);
            if (p->failed)
                return NULL;
            nv_push(p, &args, a);
        } while (accept(p, T_COMMA));
    }
    if (p->tok.type != T_RPAREN) {
        char buf[64];
        linecol(p, open, at, sizeof(at));
        syntax_error(p, p->tok.off, "expected ')' to close '(' at %s, found %s", at,
                     found(p, buf, sizeof(buf)));
        return NULL;
    }
    advance(p);
    if (!b) {
        check_error(p, name.off, "unknown function '%.*s'", (int)name.len, p->src + name.off);
        return node(p, N_CONST, name.off);
    }
    if (args.n < b->min || args.n > b->max) {
        if (b->min == b->max)
            check_error(p, name.off, "'%s' takes %u argument%s, not %zu", b->name, b->min,
                        b->min == 1 ? "" : "s", args.n);
        else
            check_error(p, name.off, "'%s' takes %u to %u arguments, not %zu", b->name, b->min,
                        b->max, args.n);
    }
    pol_node *n = node(p, N_CALL, name.off);
    if (!n)
        return NULL;
    n->u.call.fn = fn;
    n->u.call.n = args.n;
    n->u.call.args = nv_finish(p, &args);
    for (size_t i = 0; i < args.n; i++)
        above(p, n, args.items[i]);
    return n;
}

static pol_node *parse_name(parser *p)
{
    static const struct {
        const char *name;
        int root;
    } roots[] = {{"object", R_OBJECT},
                 {"oldObject", R_OLD},
                 {"request", R_REQUEST},
                 {"git", R_GIT},
                 {"pod", R_POD}};
    pol_token t = p->tok;
    const char *s = p->src + t.off;
    advance(p);
    if (p->tok.type == T_LPAREN)
        return parse_args_call(p, t);
    int slot = lookup(p, s, t.len);
    if (slot >= 0) {
        pol_node *n = node(p, N_LOCAL, t.off);
        if (n)
            n->u.slot = slot;
        return n;
    }
    if (t.len == 6 && memcmp(s, "params", 6) == 0) {
        pol_node *n = node(p, N_PARAM, t.off);
        if (!n)
            return NULL;
        if (p->tok.type == T_DOT) {
            pol_lexer save = p->lx;
            pol_token dot = p->tok;
            advance(p);
            if (p->tok.type == T_IDENT || p->tok.type >= T_KW_RULE) {
                n->u.param.name = arena_strndup(p, p->src + p->tok.off, p->tok.len);
                n->u.param.len = p->tok.len;
                n->off = (uint32_t)p->tok.off;
                advance(p);
            } else {
                p->lx = save;
                p->tok = dot;
            }
        }
        add_param_ref(p, n);
        return n;
    }
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        if (strlen(roots[i].name) == t.len && memcmp(roots[i].name, s, t.len) == 0) {
            pol_node *n = node(p, N_ROOT, t.off);
            if (n)
                n->u.root = roots[i].root;
            if (roots[i].root == R_POD && p->pod_use == SIZE_MAX)
                p->pod_use = t.off;
            return n;
        }
    }
    check_error(p, t.off, "unknown name '%.*s'", (int)t.len, s);
    return node(p, N_CONST, t.off);
}

/* `some x in L: C`, `all x in L: C`, `some k, v in M: C`. */
static pol_node *parse_quant(parser *p)
{
    char buf[64];
    pol_token kw = p->tok;
    advance(p);
    pol_node *n = node(p, kw.type == T_KW_SOME ? N_SOME : N_ALL, kw.off);
    if (!n)
        return NULL;
    pol_token v1 = p->tok, v2 = {0};
    if (v1.type != T_IDENT) {
        syntax_error(p, v1.off, "expected a variable name after '%s', found %s",
                     kw.type == T_KW_SOME ? "some" : "all", found(p, buf, sizeof(buf)));
        return NULL;
    }
    advance(p);
    if (accept(p, T_COMMA)) {
        v2 = p->tok;
        if (v2.type != T_IDENT) {
            syntax_error(p, v2.off, "expected a second variable name, found %s",
                         found(p, buf, sizeof(buf)));
            return NULL;
        }
        advance(p);
    }
    expect(p, T_KW_IN, "after the quantifier's variable");
    if (p->failed)
        return NULL;
    pol_node *src = parse_expr(p);
    if (p->failed)
        return NULL;
    expect(p, T_COLON, "after the quantifier's list");
    if (p->failed)
        return NULL;
    size_t saved = p->nscope;
    n->u.q.slot_k = v2.len ? bind(p, v1.off, v1.len) : -1;
    n->u.q.slot_v = v2.len ? bind(p, v2.off, v2.len) : bind(p, v1.off, v1.len);
    n->u.q.src = src;
    n->u.q.body = parse_expr(p);
    p->nscope = saved;
    above(p, n, src);
    above(p, n, n->u.q.body);
    if (p->nquants < MAX_QUANT)
        p->quants[p->nquants++] = (quant_names){n, v1.off, v1.len, v2.off, v2.len};
    return n;
}

/* `if C then A else B`. */
static pol_node *parse_if(parser *p)
{
    pol_node *n = node(p, N_IF, p->tok.off);
    advance(p);
    if (!n)
        return NULL;
    n->u.x.a = parse_expr(p);
    expect(p, T_KW_THEN, "after the condition of 'if'");
    if (p->failed)
        return NULL;
    n->u.x.b = parse_expr(p);
    expect(p, T_KW_ELSE, "in 'if ... then ... else ...'");
    if (p->failed)
        return NULL;
    n->u.x.c = parse_expr(p);
    above(p, n, n->u.x.a);
    above(p, n, n->u.x.b);
    above(p, n, n->u.x.c);
    return n;
}

/* Find `for` at bracket depth 0 before the `]` that closes the list starting at the current
 * token; returns its offset or SIZE_MAX. Only looks: the lexer state is restored. */
static size_t find_for(parser *p)
{
    pol_lexer lx = p->lx;
    pol_token t = p->tok;
    int depth = 0;
    for (;;) {
        if (t.type == T_EOF || t.type == T_ERROR)
            return SIZE_MAX;
        if (t.type == T_LPAREN || t.type == T_LBRACK || t.type == T_LBRACE)
            depth++;
        else if (t.type == T_RPAREN || t.type == T_RBRACK || t.type == T_RBRACE) {
            if (depth-- == 0)
                return SIZE_MAX;
        } else if (t.type == T_KW_FOR && depth == 0) {
            return t.off;
        } else if (depth == 0 && pol_lex__is_clause(t.type)) {
            return SIZE_MAX;
        }
        t = pol_lex__next(&lx);
    }
}

/* `[E for x in L if C]`: the variables are bound before E is parsed, so the `for` part is
 * read first and E after it. */
static pol_node *parse_comprehension(parser *p, size_t open, size_t for_off)
{
    char buf[64];
    pol_lexer start_lx = p->lx;
    pol_token start_tok = p->tok;
    pol_node *n = node(p, N_COMPR, open);
    if (!n)
        return NULL;
    pol_lex__init(&p->lx, p->src, for_off, start_lx.len);
    advance(p); /* for */
    advance(p);
    pol_token v1 = p->tok, v2 = {0};
    if (v1.type != T_IDENT) {
        syntax_error(p, v1.off, "expected a variable name after 'for', found %s",
                     found(p, buf, sizeof(buf)));
        return NULL;
    }
    advance(p);
    if (accept(p, T_COMMA)) {
        v2 = p->tok;
        if (v2.type != T_IDENT) {
            syntax_error(p, v2.off, "expected a second variable name, found %s",
                         found(p, buf, sizeof(buf)));
            return NULL;
        }
        advance(p);
    }
    expect(p, T_KW_IN, "after the variable of 'for'");
    if (p->failed)
        return NULL;
    n->u.q.src = parse_expr(p);
    if (p->failed)
        return NULL;
    size_t saved = p->nscope;
    n->u.q.slot_k = v2.len ? bind(p, v1.off, v1.len) : -1;
    n->u.q.slot_v = v2.len ? bind(p, v2.off, v2.len) : bind(p, v1.off, v1.len);
    if (accept(p, T_KW_IF))
        n->u.q.filter = parse_expr(p);
    close_bracket(p, T_RBRACK, open);
    if (p->failed)
        return NULL;
    pol_lexer end_lx = p->lx;
    pol_token end_tok = p->tok;
    p->lx = start_lx;
    p->tok = start_tok;
    n->u.q.body = parse_expr(p);
    if (!p->failed && p->tok.off != for_off)
        syntax_error(p, p->tok.off, "expected 'for' in the list comprehension, found %s",
                     found(p, buf, sizeof(buf)));
    p->nscope = saved;
    p->lx = end_lx;
    p->tok = end_tok;
    above(p, n, n->u.q.src);
    above(p, n, n->u.q.body);
    above(p, n, n->u.q.filter);
    return n;
}

/* A list or map literal of constants becomes a constant, built once at load instead of on
 * every evaluation (the allow-lists of the packs). */
static void fold_constant(parser *p, pol_node *n)
{
    size_t len = n->u.list.n;
    for (size_t i = 0; i < len; i++)
        if (!n->u.list.items[i] || n->u.list.items[i]->kind != N_CONST)
            return;
    pol_value *vals = util_arena_calloc(p->arena, len ? len : 1, sizeof(pol_value));
    if (!vals)
        return;
    for (size_t i = 0; i < len; i++)
        vals[i] = n->u.list.items[i]->u.k;
    if (n->kind == N_LIST) {
        n->u.k = (pol_value){.t = PV_LIST, .len = (uint32_t)len, .u.items = vals};
    } else {
        pol_map *m = util_arena_calloc(p->arena, 1, sizeof(*m));
        pol_value *keys = util_arena_calloc(p->arena, len ? len : 1, sizeof(pol_value));
        if (!m || !keys)
            return;
        for (size_t i = 0; i < len; i++)
            keys[i] = n->u.list.keys[i]->u.k;
        *m = (pol_map){len, keys, vals};
        n->u.k = (pol_value){.t = PV_MAP, .u.m = m};
    }
    n->kind = N_CONST;
}

static pol_node *parse_list(parser *p)
{
    size_t open = p->tok.off;
    advance(p);
    size_t for_off = find_for(p);
    if (for_off != SIZE_MAX && p->tok.type != T_RBRACK)
        return parse_comprehension(p, open, for_off);
    pol_node *n = node(p, N_LIST, open);
    nodevec items;
    nv_init(&items);
    if (p->tok.type != T_RBRACK) {
        do {
            if (p->tok.type == T_RBRACK)
                break; /* trailing comma */
            pol_node *e = parse_expr(p);
            if (p->failed)
                return NULL;
            nv_push(p, &items, e);
            above(p, n, e);
        } while (accept(p, T_COMMA));
    }
    close_bracket(p, T_RBRACK, open);
    if (p->failed || !n)
        return NULL;
    n->u.list.n = items.n;
    n->u.list.items = nv_finish(p, &items);
    fold_constant(p, n);
    return n;
}

static pol_node *parse_map(parser *p)
{
    char buf[64];
    size_t open = p->tok.off;
    advance(p);
    pol_node *n = node(p, N_MAP, open);
    nodevec keys, vals;
    nv_init(&keys);
    nv_init(&vals);
    if (p->tok.type != T_RBRACE) {
        do {
            if (p->tok.type == T_RBRACE)
                break;
            pol_node *k = NULL;
            if (p->tok.type == T_STRING || p->tok.type == T_IDENT) {
                size_t len = p->tok.len;
                const char *s = p->tok.type == T_STRING
                                    ? string_value(p, p->tok, &len)
                                    : arena_strndup(p, p->src + p->tok.off, p->tok.len);
                k = node(p, N_CONST, p->tok.off);
                if (k && s)
                    k->u.k = pv_str(s, len);
                advance(p);
            } else {
                syntax_error(p, p->tok.off, "expected a key (a string or a name), found %s",
                             found(p, buf, sizeof(buf)));
                return NULL;
            }
            expect(p, T_COLON, "after the key");
            pol_node *v = parse_expr(p);
            if (p->failed)
                return NULL;
            nv_push(p, &keys, k);
            nv_push(p, &vals, v);
            above(p, n, v);
        } while (accept(p, T_COMMA));
    }
    close_bracket(p, T_RBRACE, open);
    if (p->failed || !n)
        return NULL;
    n->u.list.n = keys.n;
    n->u.list.keys = nv_finish(p, &keys);
    n->u.list.items = nv_finish(p, &vals);
    fold_constant(p, n);
    return n;
}

static pol_node *parse_primary(parser *p)
{
    char buf[64];
    pol_token t = p->tok;
    pol_node *n;
    switch (t.type) {
    case T_NUMBER:
        n = node(p, N_CONST, t.off);
        if (n)
            n->u.k = pv_num(t.num);
        advance(p);
        return n;
    case T_STRING: {
        size_t len = 0;
        char *s = string_value(p, t, &len);
        n = node(p, N_CONST, t.off);
        if (n && s)
            n->u.k = pv_str(s, len);
        advance(p);
        return n;
    }
    case T_KW_TRUE:
    case T_KW_FALSE:
        n = node(p, N_CONST, t.off);
        if (n)
            n->u.k = pv_bool(t.type == T_KW_TRUE);
        advance(p);
        return n;
    case T_KW_NULL:
        n = node(p, N_CONST, t.off);
        advance(p);
        return n;
    case T_LPAREN:
        advance(p);
        n = parse_expr(p);
        close_bracket(p, T_RPAREN, t.off);
        return n;
    case T_LBRACK:
        return parse_list(p);
    case T_LBRACE:
        return parse_map(p);
    case T_IDENT:
        return parse_name(p);
    case T_KW_ALL: {
        pol_lexer save = p->lx;
        pol_token next = pol_lex__next(&save);
        if (next.type == T_LPAREN) { /* all(list), the function */
            advance(p);
            return parse_args_call(p, t);
        }
        return parse_quant(p);
    }
    case T_KW_SOME:
        return parse_quant(p);
    case T_KW_IF:
        return parse_if(p);
    default:
        syntax_error(p, t.off, "expected an expression, found %s", found(p, buf, sizeof(buf)));
        return NULL;
    }
}

static pol_node *parse_postfix(parser *p)
{
    char buf[64];
    pol_node *n = parse_primary(p);
    for (;;) {
        if (p->failed)
            return NULL;
        if (p->tok.type == T_DOT) {
            advance(p);
            pol_token f = p->tok;
            if (f.type != T_IDENT && f.type < T_KW_RULE) {
                syntax_error(p, f.off, "expected a field name after '.', found %s",
                             found(p, buf, sizeof(buf)));
                return NULL;
            }
            advance(p);
            if (n && n->kind == N_ROOT && n->u.root == R_POD) {
                if (f.len == 8 && memcmp(p->src + f.off, "metadata", 8) == 0) {
                    n->u.root = R_POD_META;
                    continue;
                }
                if (f.len == 13 && memcmp(p->src + f.off, "allContainers", 13) == 0) {
                    n->u.root = R_POD_ALL;
                    continue;
                }
            }
            pol_node *fn = node(p, N_FIELD, f.off);
            if (!fn)
                return NULL;
            fn->u.field.obj = n;
            fn->u.field.name = pol_load__intern(p->ld, p->src + f.off, f.len);
            if (!fn->u.field.name)
                syntax_error(p, f.off, "out of memory");
            fn->u.field.len = f.len;
            above(p, fn, n);
            n = fn;
        } else if (p->tok.type == T_LBRACK) {
            size_t open = p->tok.off;
            advance(p);
            pol_node *ix = node(p, N_INDEX, open);
            if (!ix)
                return NULL;
            ix->u.x.a = n;
            ix->u.x.b = parse_expr(p);
            close_bracket(p, T_RBRACK, open);
            above(p, ix, n);
            above(p, ix, ix->u.x.b);
            n = ix;
        } else {
            return n;
        }
    }
}

static pol_node *parse_unary(parser *p)
{
    if (p->tok.type == T_MINUS) {
        pol_node *n = node(p, N_NEG, p->tok.off);
        advance(p);
        if (!n)
            return NULL;
        n->u.x.a = parse_unary(p);
        above(p, n, n->u.x.a);
        return n;
    }
    return parse_postfix(p);
}

static pol_node *binary(parser *p, pol_node_kind kind, uint8_t op, size_t off, pol_node *a,
                        pol_node *b)
{
    pol_node *n = node(p, kind, off);
    if (!n)
        return NULL;
    n->op = op;
    n->u.x.a = a;
    n->u.x.b = b;
    above(p, n, a);
    above(p, n, b);
    return n;
}

static pol_node *parse_mul(parser *p)
{
    pol_node *n = parse_unary(p);
    while (!p->failed &&
           (p->tok.type == T_STAR || p->tok.type == T_SLASH || p->tok.type == T_PERCENT)) {
        pol_token o = p->tok;
        advance(p);
        pol_node *r = parse_unary(p);
        n = binary(p, N_ARITH, (uint8_t)p->src[o.off], o.off, n, r);
    }
    return n;
}

static pol_node *parse_add(parser *p)
{
    pol_node *n = parse_mul(p);
    while (!p->failed && (p->tok.type == T_PLUS || p->tok.type == T_MINUS)) {
        pol_token o = p->tok;
        advance(p);
        pol_node *r = parse_mul(p);
        n = binary(p, N_ARITH, (uint8_t)p->src[o.off], o.off, n, r);
    }
    return n;
}

static pol_node *parse_default(parser *p)
{
    pol_node *n = parse_add(p);
    while (!p->failed && p->tok.type == T_QQ) {
        pol_token o = p->tok;
        advance(p);
        pol_node *r = parse_add(p);
        n = binary(p, N_DEFAULT, 0, o.off, n, r);
    }
    return n;
}

static pol_node *parse_cmp(parser *p)
{
    pol_node *n = parse_default(p);
    for (;;) {
        if (p->failed)
            return NULL;
        pol_token o = p->tok;
        switch (o.type) {
        case T_EQ:
        case T_NE:
        case T_LT:
        case T_LE:
        case T_GT:
        case T_GE:
            advance(p);
            n = binary(p, N_CMP, (uint8_t)o.type, o.off, n, parse_default(p));
            break;
        case T_KW_IN:
            advance(p);
            n = binary(p, N_IN, 0, o.off, n, parse_default(p));
            break;
        case T_KW_NOT: {
            pol_lexer save = p->lx;
            pol_token next = pol_lex__next(&save);
            if (next.type != T_KW_IN)
                return n;
            advance(p);
            advance(p);
            n = binary(p, N_NOTIN, 0, o.off, n, parse_default(p));
            break;
        }
        case T_KW_LIKE:
            advance(p);
            n = binary(p, N_LIKE, 0, o.off, n, parse_default(p));
            break;
        case T_KW_MATCHES: {
            advance(p);
            pol_node *pat = parse_default(p);
            pol_node *m = node(p, N_MATCHES, o.off);
            if (!m || p->failed)
                return NULL;
            m->u.m.subj = n;
            m->u.m.pat = pat;
            above(p, m, n);
            above(p, m, pat);
            if (pat && pat->kind == N_CONST) {
                m->u.m.re = pol_parse__regex(p->ld, p->fi, pat->off, pat->u.k);
                if (!m->u.m.re)
                    p->bad_rule = true;
            } else if (pat && pat->kind == N_PARAM) {
                add_param_ref(p, m); /* compiled once the parameter is known */
            }
            n = m;
            break;
        }
        default:
            return n;
        }
    }
}

static pol_node *parse_not(parser *p)
{
    if (p->tok.type == T_KW_NOT || p->tok.type == T_BANG) {
        pol_node *n = node(p, N_NOT, p->tok.off);
        advance(p);
        if (!n)
            return NULL;
        n->u.x.a = parse_not(p);
        above(p, n, n->u.x.a);
        return n;
    }
    return parse_cmp(p);
}

/* `and` and `or` chains are n-ary nodes: long chains do not make deep trees, and the
 * evaluator finds a rule's witness among the top-level conjuncts. */
static pol_node *parse_chain(parser *p, pol_node_kind kind, pol_tok_type w1, pol_tok_type w2,
                             pol_node *(*sub)(parser *))
{
    pol_node *first = sub(p);
    if (p->failed || (p->tok.type != w1 && p->tok.type != w2))
        return first;
    pol_node *n = node(p, kind, p->tok.off);
    nodevec items;
    nv_init(&items);
    nv_push(p, &items, first);
    above(p, n, first);
    while (!p->failed && (p->tok.type == w1 || p->tok.type == w2)) {
        advance(p);
        pol_node *r = sub(p);
        nv_push(p, &items, r);
        above(p, n, r);
    }
    if (p->failed || !n)
        return NULL;
    n->u.list.n = items.n;
    n->u.list.items = nv_finish(p, &items);
    return n;
}

static pol_node *parse_and(parser *p)
{
    return parse_chain(p, N_AND, T_KW_AND, T_ANDAND, parse_not);
}

static pol_node *parse_or(parser *p)
{
    return parse_chain(p, N_OR, T_KW_OR, T_OROR, parse_and);
}

static pol_node *parse_expr(parser *p)
{
    if (++p->depth > LIMIT_RULE_EXPR_DEPTH) {
        syntax_error(p, p->tok.off, "expression nested deeper than %d (limits.rule_expr_depth)",
                     LIMIT_RULE_EXPR_DEPTH);
        p->depth--;
        return NULL;
    }
    pol_node *n = parse_or(p);
    p->depth--;
    if (!n && !p->failed)
        syntax_error(p, p->tok.off, "expected an expression");
    return n;
}

/* ---- literals for parameter defaults -------------------------------------------------- */

static json_t *literal_json(const pol_node *n)
{
    if (!n)
        return NULL;
    switch (n->kind) {
    case N_CONST:
        return pv_to_json(n->u.k);
    case N_NEG:
        if (n->u.x.a && n->u.x.a->kind == N_CONST && n->u.x.a->u.k.t == PV_NUM)
            return json_real(-n->u.x.a->u.k.u.n);
        return NULL;
    case N_LIST: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n->u.list.n; i++) {
            json_t *e = literal_json(n->u.list.items[i]);
            if (!e || json_array_append_new(a, e) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case N_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; o && i < n->u.list.n; i++) {
            json_t *e = literal_json(n->u.list.items[i]);
            const pol_node *k = n->u.list.keys[i];
            if (!e || k->u.k.t != PV_STR || json_object_set_new(o, k->u.k.u.s, e) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    default:
        return NULL;
    }
}

/* ---- rules ---------------------------------------------------------------------------- */

static bool is_word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '-' || ch == '_' || ch == '.' || ch == ':' ||
           ch == '/' || ch == '*' || ch == '?';
}

/* A match value: bare words and quoted strings written together ("" + /ConfigMap). */
static char *match_value(parser *p, size_t *off_out, const char *after)
{
    char buf[512];
    size_t n = 0;
    pol_lex__skip_space(&p->lx);
    size_t i = p->lx.pos;
    *off_out = i;
    bool any = false, quoted = false;
    while (i < p->lx.len) {
        char ch = p->src[i];
        if (ch == '"' || ch == '\'') {
            pol_lexer sub;
            pol_lex__init(&sub, p->src, i, p->lx.len);
            pol_token t = pol_lex__next(&sub);
            if (t.type != T_STRING) {
                syntax_error(p, i, "unterminated string");
                return NULL;
            }
            size_t len;
            char *s = string_value(p, t, &len);
            if (!s)
                return NULL;
            if (n + len >= sizeof(buf)) {
                syntax_error(p, i, "match value too long");
                return NULL;
            }
            memcpy(buf + n, s, len);
            n += len;
            i = t.off + t.len;
            any = quoted = true;
        } else if (is_word_char(ch)) {
            if (n + 1 >= sizeof(buf)) {
                syntax_error(p, i, "match value too long");
                return NULL;
            }
            buf[n++] = ch;
            i++;
            any = true;
        } else {
            break;
        }
    }
    /* A clause keyword ends the clause: `match namespace` followed by `deny` has no value. */
    if (any && !quoted) {
        pol_lexer kw;
        pol_lex__init(&kw, p->src, *off_out, i);
        pol_token t = pol_lex__next(&kw);
        if (pol_lex__is_clause(t.type) && t.off + t.len == i) {
            any = false;
            i = *off_out;
        }
    }
    if (!any) {
        pol_lexer sub;
        pol_lex__init(&sub, p->src, i, p->lx.len);
        pol_token t = pol_lex__next(&sub);
        char what[64];
        pol_token save = p->tok;
        p->tok = t;
        found(p, what, sizeof(what));
        p->tok = save;
        syntax_error(p, i, "expected a value after %s, found %s", after, what);
        return NULL;
    }
    p->lx.pos = i;
    return arena_strndup(p, buf, n);
}

static bool raw_accept(parser *p, char ch)
{
    pol_lex__skip_space(&p->lx);
    if (p->lx.pos < p->lx.len && p->src[p->lx.pos] == ch) {
        p->lx.pos++;
        return true;
    }
    return false;
}

static bool raw_accept_word(parser *p, const char *w)
{
    size_t n = strlen(w);
    pol_lex__skip_space(&p->lx);
    size_t i = p->lx.pos;
    if (i + n <= p->lx.len && memcmp(p->src + i, w, n) == 0 &&
        (i + n == p->lx.len || !is_word_char(p->src[i + n]))) {
        p->lx.pos = i + n;
        return true;
    }
    return false;
}

/* One label or annotation requirement: `k`, `!k`, `k = v`, `k != v`, `k in (a, b)`. */
static bool selector_item(parser *p, pol_mval *mv, const char *after)
{
    size_t off;
    bool neg = raw_accept(p, '!');
    mv->a = match_value(p, &off, after);
    if (!mv->a)
        return false;
    mv->op = neg ? SEL_NOTEXISTS : SEL_EXISTS;
    if (neg)
        return true;
    pol_lex__skip_space(&p->lx);
    size_t i = p->lx.pos;
    const char *s = p->src;
    int op = -1;
    if (i + 1 < p->lx.len && s[i] == '!' && s[i + 1] == '=') {
        p->lx.pos += 2;
        op = SEL_NE;
    } else if (i + 1 < p->lx.len && s[i] == '=' && s[i + 1] == '=') {
        p->lx.pos += 2;
        op = SEL_EQ;
    } else if (i < p->lx.len && s[i] == '=') {
        p->lx.pos += 1;
        op = SEL_EQ;
    } else if (raw_accept_word(p, "in")) {
        op = SEL_IN;
    } else if (raw_accept_word(p, "notin")) {
        op = SEL_NOTIN;
    }
    if (op < 0)
        return true;
    mv->op = op;
    if (op == SEL_EQ || op == SEL_NE) {
        mv->vals = util_arena_calloc(p->arena, 1, sizeof(char *));
        if (!mv->vals)
            return false;
        mv->vals[0] = match_value(p, &off, "the operator");
        mv->nvals = 1;
        return mv->vals[0] != NULL;
    }
    if (!raw_accept(p, '(')) {
        syntax_error(p, p->lx.pos, "expected '(' after '%s'", op == SEL_IN ? "in" : "notin");
        return false;
    }
    const char *vals[64];
    size_t nv = 0;
    do {
        if (nv == 64) {
            syntax_error(p, p->lx.pos, "too many values (at most 64)");
            return false;
        }
        vals[nv] = match_value(p, &off, "'('");
        if (!vals[nv++])
            return false;
    } while (raw_accept(p, ','));
    if (!raw_accept(p, ')')) {
        syntax_error(p, p->lx.pos, "expected ')' to close the list of values");
        return false;
    }
    mv->vals = util_arena_calloc(p->arena, nv, sizeof(char *));
    if (!mv->vals)
        return false;
    memcpy(mv->vals, vals, nv * sizeof(char *));
    mv->nvals = nv;
    return true;
}

static bool parse_match(parser *p, pol_match *m)
{
    static const char *const subjects[] = {"kind",  "namespace", "operation", "user",
                                           "group", "label",     "annotation"};
    char buf[64], after[64];
    bool exclude = p->tok.type == T_KW_EXCLUDE;
    advance(p);
    pol_token subj = p->tok;
    int subject = -1;
    for (int i = 0; i < 7; i++)
        if (subj.type == T_IDENT && strlen(subjects[i]) == subj.len &&
            memcmp(subjects[i], p->src + subj.off, subj.len) == 0)
            subject = i;
    if (subject < 0) {
        syntax_error(p, subj.off,
                     "expected kind, namespace, operation, user, group, label or annotation "
                     "after '%s', found %s",
                     exclude ? "exclude" : "match", found(p, buf, sizeof(buf)));
        return false;
    }
    snprintf(after, sizeof(after), "'%s %s'", exclude ? "exclude" : "match", subjects[subject]);
    /* The values are read straight from the source: they are words, not expressions. */
    m->subject = subject;
    m->exclude = exclude;
    pol_mval vals[64];
    size_t n = 0;
    do {
        if (n == 64) {
            syntax_error(p, p->lx.pos, "too many values (at most 64)");
            return false;
        }
        pol_mval *mv = &vals[n];
        memset(mv, 0, sizeof(*mv));
        size_t off;
        if (subject == M_LABEL || subject == M_ANNOTATION) {
            if (!selector_item(p, mv, after))
                return false;
        } else {
            mv->a = match_value(p, &off, after);
            if (!mv->a)
                return false;
            if (subject == M_KIND) {
                char *slash = strrchr(mv->a, '/');
                if (slash) {
                    *slash = '\0';
                    mv->group = mv->a;
                    mv->a = slash + 1;
                }
                if (!*mv->a)
                    check_error(p, off, "expected a kind after '/'");
            } else if (subject == M_OPERATION) {
                static const char *const ops[] = {"CREATE", "UPDATE", "DELETE", "CONNECT", "*"};
                bool ok = false;
                for (int i = 0; i < 5; i++)
                    ok |= strcmp(ops[i], mv->a) == 0;
                if (!ok)
                    check_error(p, off,
                                "unknown operation '%s'; expected CREATE, UPDATE, DELETE, "
                                "CONNECT or *",
                                mv->a);
            }
        }
        n++;
    } while (raw_accept(p, ','));
    m->vals = util_arena_calloc(p->arena, n, sizeof(*m->vals));
    if (!m->vals) {
        p->ld->oom = true;
        return false;
    }
    memcpy(m->vals, vals, n * sizeof(*vals));
    m->n = n;
    advance(p);
    return true;
}

/* The message: literal text with `{EXPR}` parts, each parsed from the source itself so that
 * errors point into the string. */
static void parse_message(parser *p, pol_rule *r, pol_token t)
{
    pol_msgpart parts[64];
    size_t n = 0, i = t.off + 1, end = t.off + t.len - 1;
    while (i < end && !p->failed) {
        if (n == 64) {
            syntax_error(p, i, "too many parts in the message (at most 64)");
            return;
        }
        if (p->src[i] == '{' && !(i + 1 < end && p->src[i + 1] == '{')) {
            size_t start = i + 1, j = start;
            int depth = 0;
            while (j < end) {
                char ch = p->src[j];
                if (ch == '\\') {
                    j += 2;
                    continue;
                }
                if (ch == '"' || ch == '\'') {
                    j++;
                    while (j < end && p->src[j] != ch) {
                        if (p->src[j] == '\\')
                            j++;
                        j++;
                    }
                } else if (ch == '{') {
                    depth++;
                } else if (ch == '}') {
                    if (depth-- == 0)
                        break;
                }
                j++;
            }
            if (j >= end) {
                syntax_error(p, i, "expected '}' to close the interpolation");
                return;
            }
            pol_lexer save = p->lx;
            pol_token save_tok = p->tok;
            pol_lex__init(&p->lx, p->src, start, j);
            advance(p);
            pol_node *e = parse_expr(p);
            if (!p->failed && p->tok.type != T_EOF) {
                char buf[64];
                syntax_error(p, p->tok.off, "unexpected %s in the interpolation",
                             found(p, buf, sizeof(buf)));
            }
            p->lx = save;
            p->tok = save_tok;
            parts[n++] = (pol_msgpart){NULL, 0, e};
            i = j + 1;
        } else {
            size_t j = i;
            while (j < end) {
                if (p->src[j] == '\\') {
                    j += 2;
                    continue;
                }
                if (p->src[j] == '{') {
                    if (j + 1 < end && p->src[j + 1] == '{') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j++;
            }
            if (j > end)
                j = end;
            char *lit = util_arena_alloc(p->arena, j - i + 1);
            size_t len = 0;
            if (!lit) {
                p->ld->oom = true;
                return;
            }
            if (!decode_range(p, i, j, lit, &len, true))
                return;
            parts[n++] = (pol_msgpart){lit, len, NULL};
            i = j;
        }
    }
    r->msg = util_arena_calloc(p->arena, n ? n : 1, sizeof(*parts));
    if (!r->msg) {
        p->ld->oom = true;
        return;
    }
    memcpy(r->msg, parts, n * sizeof(*parts));
    r->nmsg = n;
}

static const char *const pod_kinds[] = {"Pod",       "Deployment", "StatefulSet",
                                        "DaemonSet", "ReplicaSet", "ReplicationController",
                                        "Job",       "CronJob"};

/* Kinds the rule's first `match kind` names (Pod stands for every pod-carrying kind), for
 * the rule set's index. */
static void rule_kinds(parser *p, pol_rule *r)
{
    const pol_match *km = NULL;
    for (size_t i = 0; i < r->nmatches && !km; i++)
        if (r->matches[i].subject == M_KIND && !r->matches[i].exclude)
            km = &r->matches[i];
    if (!km)
        return;
    size_t cap = 0;
    for (size_t i = 0; i < km->n; i++) {
        if (strpbrk(km->vals[i].a, "*?"))
            return; /* a glob (`*`, `Cron*`): not an exact key, so the rule is tried on any kind */
        cap += strcmp(km->vals[i].a, "Pod") == 0 ? 8 : 1;
    }
    r->kinds = util_arena_calloc(p->arena, cap, sizeof(char *));
    if (!r->kinds)
        return;
    for (size_t i = 0; i < km->n; i++) {
        if (strcmp(km->vals[i].a, "Pod") == 0 && r->pod_rule) {
            for (int k = 0; k < 8; k++)
                r->kinds[r->nkinds++] = pod_kinds[k];
        } else {
            r->kinds[r->nkinds++] = km->vals[i].a;
        }
    }
}

static void find_witness(parser *p, pol_rule *r)
{
    pol_node *c = r->cond;
    if (!c)
        return;
    if (c->kind == N_SOME) {
        r->witness = c;
        return;
    }
    if (c->kind != N_AND)
        return;
    for (size_t i = 0; i < c->u.list.n; i++) {
        if (c->u.list.items[i] && c->u.list.items[i]->kind == N_SOME) {
            r->witness = c->u.list.items[i];
            r->rest = node_array(p, c->u.list.n - 1);
            if (!r->rest)
                return;
            for (size_t k = 0; k < c->u.list.n; k++)
                if (k != i)
                    r->rest[r->nrest++] = c->u.list.items[k];
            return;
        }
    }
}

/* Bring the variables of quantifier q, and of the `some`s its body requires, into scope. */
static void message_scope(parser *p, const pol_node *q, int depth)
{
    if (!q || depth > 8)
        return;
    for (size_t i = 0; i < p->nquants; i++) {
        const quant_names *qn = &p->quants[i];
        if (qn->node != q || p->nscope + 2 > MAX_SCOPE)
            continue;
        if (qn->v_len) {
            p->scope[p->nscope++] = (scope_ent){p->src + qn->k_off, qn->k_len, q->u.q.slot_k};
            p->scope[p->nscope++] = (scope_ent){p->src + qn->v_off, qn->v_len, q->u.q.slot_v};
        } else {
            p->scope[p->nscope++] = (scope_ent){p->src + qn->k_off, qn->k_len, q->u.q.slot_v};
        }
    }
    const pol_node *b = q->u.q.body;
    if (b && b->kind == N_SOME)
        message_scope(p, b, depth + 1);
    else if (b && b->kind == N_AND)
        for (size_t i = 0; i < b->u.list.n; i++)
            if (b->u.list.items[i] && b->u.list.items[i]->kind == N_SOME)
                message_scope(p, b->u.list.items[i], depth + 1);
}

static void skip_to_next_rule(parser *p)
{
    while (p->tok.type != T_EOF && p->tok.type != T_KW_RULE && p->tok.type != T_KW_PARAM) {
        bool dot = p->tok.type == T_DOT;
        p->tok = pol_lex__next(&p->lx);
        if (dot && p->tok.type != T_EOF)
            p->tok = pol_lex__next(&p->lx); /* `x.rule` is a field, not a rule */
    }
}

static void add_rule(parser *p, pol_rule *r)
{
    pol_loader *ld = p->ld;
    if (ld->nrules == ld->caprules) {
        size_t cap = ld->caprules ? 2 * ld->caprules : 32;
        pol_rule *a = realloc(ld->rules, cap * sizeof(*a));
        if (!a) {
            ld->oom = true;
            return;
        }
        ld->rules = a;
        ld->caprules = cap;
    }
    ld->rules[ld->nrules++] = *r;
}

static void parse_rule(parser *p)
{
    char buf[64];
    pol_rule r;
    memset(&r, 0, sizeof(r));
    size_t rule_off = p->tok.off;
    p->nscope = 0;
    p->nslots = 0;
    p->pod_use = SIZE_MAX;
    p->nquants = 0;
    r.fi = p->fi;
    r.off = (uint32_t)rule_off;
    r.file = p->ld->files[p->fi].name;

    /* The id is a word of letters, digits, '-' and '_', read from the source. */
    pol_lex__skip_space(&p->lx);
    size_t id_off = p->lx.pos, i = id_off;
    while (i < p->lx.len &&
           (isalnum((unsigned char)p->src[i]) || p->src[i] == '-' || p->src[i] == '_'))
        i++;
    if (i == id_off || (i < p->lx.len && is_word_char(p->src[i]))) {
        advance(p);
        syntax_error(p, id_off, "expected a rule id (letters, digits, '-' and '_') after 'rule'");
        return;
    }
    p->lx.pos = i;
    r.id = util_arena_printf(p->arena, "%s/%.*s", p->pack, (int)(i - id_off), p->src + id_off);
    advance(p);
    if (p->tok.type != T_STRING) {
        syntax_error(p, p->tok.off, "expected the rule's title (a string), found %s",
                     found(p, buf, sizeof(buf)));
        return;
    }
    size_t tlen;
    r.title = string_value(p, p->tok, &tlen);
    advance(p);

    pol_match matches[32];
    pol_let lets[32];
    pol_token msg = {.type = T_EOF};
    bool has_action = false;
    while (!p->failed && pol_lex__is_clause(p->tok.type) && p->tok.type != T_KW_RULE &&
           p->tok.type != T_KW_PARAM) {
        pol_token kw = p->tok;
        switch (kw.type) {
        case T_KW_MATCH:
        case T_KW_EXCLUDE:
            if (r.nmatches == 32) {
                syntax_error(p, kw.off, "too many match and exclude clauses (at most 32)");
                break;
            }
            if (parse_match(p, &matches[r.nmatches]))
                r.nmatches++;
            break;
        case T_KW_LET: {
            advance(p);
            pol_token name = p->tok;
            if (name.type != T_IDENT) {
                syntax_error(p, name.off, "expected a name after 'let', found %s",
                             found(p, buf, sizeof(buf)));
                break;
            }
            advance(p);
            expect(p, T_ASSIGN, "after the name of 'let'");
            pol_node *e = parse_expr(p);
            if (p->failed)
                break;
            if (r.nlets == 32) {
                syntax_error(p, kw.off, "too many let clauses (at most 32)");
                break;
            }
            lets[r.nlets].expr = e;
            lets[r.nlets++].slot = bind(p, name.off, name.len);
            break;
        }
        case T_KW_DENY:
        case T_KW_WARN:
        case T_KW_AUDIT:
            if (has_action) {
                syntax_error(p, kw.off, "a rule has one deny, warn or audit clause");
                break;
            }
            has_action = true;
            r.action = kw.type == T_KW_DENY   ? POL_DENY
                       : kw.type == T_KW_WARN ? POL_WARN
                                              : POL_AUDIT;
            advance(p);
            expect(p, T_KW_WHEN, "after the action");
            if (!p->failed)
                r.cond = parse_expr(p);
            break;
        case T_KW_MESSAGE:
            if (msg.type != T_EOF) {
                syntax_error(p, kw.off, "a rule has one message clause");
                break;
            }
            advance(p);
            if (p->tok.type != T_STRING) {
                syntax_error(p, p->tok.off, "expected the message (a string), found %s",
                             found(p, buf, sizeof(buf)));
                break;
            }
            msg = p->tok;
            advance(p);
            break;
        default:
            break;
        }
    }
    if (!p->failed && p->tok.type != T_EOF && p->tok.type != T_KW_RULE && p->tok.type != T_KW_PARAM)
        syntax_error(p, p->tok.off,
                     "unexpected %s; expected a clause (match, exclude, let, deny, warn, audit, "
                     "message) or the next rule",
                     found(p, buf, sizeof(buf)));
    if (p->failed)
        return;
    if (!has_action) {
        check_error(p, rule_off, "rule '%s' has no deny, warn or audit clause",
                    strchr(r.id, '/') + 1);
        return;
    }
    for (size_t k = 0; k < r.nmatches; k++)
        if (matches[k].subject == M_KIND && !matches[k].exclude)
            for (size_t v = 0; v < matches[k].n; v++)
                if (strcmp(matches[k].vals[v].a, "Pod") == 0 &&
                    (!matches[k].vals[v].group || !*matches[k].vals[v].group))
                    r.pod_rule = true;
    if (p->pod_use != SIZE_MAX && !r.pod_rule)
        check_error(p, p->pod_use, "'pod' is only available in pod rules (match kind Pod)");
    r.matches = util_arena_calloc(p->arena, r.nmatches ? r.nmatches : 1, sizeof(pol_match));
    r.lets = util_arena_calloc(p->arena, r.nlets ? r.nlets : 1, sizeof(pol_let));
    if (!r.matches || !r.lets || !r.id) {
        p->ld->oom = true;
        return;
    }
    memcpy(r.matches, matches, r.nmatches * sizeof(pol_match));
    memcpy(r.lets, lets, r.nlets * sizeof(pol_let));
    find_witness(p, &r);
    if (msg.type == T_STRING) {
        /* The witness's variables, and those of `some`s nested in its body (bound to their
         * first witness), are in scope for the message. */
        message_scope(p, r.witness, 0);
        parse_message(p, &r, msg);
        if (p->failed)
            return;
    }
    r.nslots = p->nslots;
    r.slot_let = util_arena_calloc(p->arena, (size_t)(r.nslots ? r.nslots : 1), sizeof(pol_node *));
    if (!r.slot_let) {
        p->ld->oom = true;
        return;
    }
    for (size_t k = 0; k < r.nlets; k++)
        r.slot_let[r.lets[k].slot] = r.lets[k].expr;
    rule_kinds(p, &r);
    if (!p->bad_rule)
        add_rule(p, &r);
}

static void parse_param(parser *p)
{
    char buf[64];
    pol_loader *ld = p->ld;
    advance(p);
    pol_token name = p->tok;
    if (name.type != T_IDENT) {
        syntax_error(p, name.off, "expected a parameter name after 'param', found %s",
                     found(p, buf, sizeof(buf)));
        return;
    }
    advance(p);
    expect(p, T_ASSIGN, "after the parameter's name");
    if (p->failed)
        return;
    size_t voff = p->tok.off;
    p->nscope = 0;
    pol_node *e = parse_expr(p);
    if (p->failed)
        return;
    json_t *v = literal_json(e);
    if (!v) {
        check_error(p, voff, "a parameter's default must be a literal");
        return;
    }
    for (size_t i = 0; i < ld->ndecls; i++) {
        if (strlen(ld->decls[i].name) == name.len &&
            memcmp(ld->decls[i].name, p->src + name.off, name.len) == 0) {
            check_error(p, name.off, "parameter '%.*s' is declared twice", (int)name.len,
                        p->src + name.off);
            json_decref(v);
            return;
        }
    }
    if (ld->ndecls == ld->capdecls) {
        size_t cap = ld->capdecls ? 2 * ld->capdecls : 16;
        pol_param_decl *a = realloc(ld->decls, cap * sizeof(*a));
        if (!a) {
            json_decref(v);
            ld->oom = true;
            return;
        }
        ld->decls = a;
        ld->capdecls = cap;
    }
    ld->decls[ld->ndecls++] = (pol_param_decl){arena_strndup(p, p->src + name.off, name.len), v,
                                               p->fi, (uint32_t)name.off};
}

void pol_parse__file(pol_loader *ld, size_t fi, const char *pack)
{
    char buf[64];
    parser p;
    memset(&p, 0, sizeof(p));
    p.ld = ld;
    p.fi = fi;
    p.src = ld->files[fi].text;
    p.srclen = ld->files[fi].len;
    p.pack = pack;
    p.arena = &ld->rs->arena;
    pol_lex__init(&p.lx, p.src, 0, p.srclen);
    advance(&p);
    while (p.tok.type != T_EOF && !ld->oom) {
        p.failed = p.bad_rule = false;
        if (p.tok.type == T_KW_RULE) {
            parse_rule(&p);
        } else if (p.tok.type == T_KW_PARAM) {
            parse_param(&p);
            if (!p.failed && p.tok.type != T_EOF && p.tok.type != T_KW_RULE &&
                p.tok.type != T_KW_PARAM)
                syntax_error(&p, p.tok.off, "unexpected %s after the parameter",
                             found(&p, buf, sizeof(buf)));
        } else {
            syntax_error(&p, p.tok.off, "expected 'rule' or 'param', found %s",
                         found(&p, buf, sizeof(buf)));
        }
        if (p.failed)
            skip_to_next_rule(&p);
    }
}
