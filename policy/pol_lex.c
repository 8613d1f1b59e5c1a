/* pol_lex.c: the rule language's tokens (docs/rules.md). Tokens keep byte offsets into the
 * source; strings are decoded later by the parser, from the source range, so an error inside
 * one can point at the exact byte. */
#include "policy/pol_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const struct {
    const char *word;
    pol_tok_type type;
} keywords[] = {
    {"rule", T_KW_RULE},       {"param", T_KW_PARAM}, {"match", T_KW_MATCH},
    {"exclude", T_KW_EXCLUDE}, {"let", T_KW_LET},     {"deny", T_KW_DENY},
    {"warn", T_KW_WARN},       {"audit", T_KW_AUDIT}, {"message", T_KW_MESSAGE},
    {"when", T_KW_WHEN},       {"and", T_KW_AND},     {"or", T_KW_OR},
    {"not", T_KW_NOT},         {"in", T_KW_IN},       {"matches", T_KW_MATCHES},
    {"like", T_KW_LIKE},       {"some", T_KW_SOME},   {"all", T_KW_ALL},
    {"if", T_KW_IF},           {"then", T_KW_THEN},   {"else", T_KW_ELSE},
    {"for", T_KW_FOR},         {"true", T_KW_TRUE},   {"false", T_KW_FALSE},
    {"null", T_KW_NULL},
};

void pol_lex__init(pol_lexer *lx, const char *src, size_t start, size_t end)
{
    lx->src = src;
    lx->pos = start;
    lx->len = end;
    lx->error = NULL;
}

bool pol_lex__is_clause(pol_tok_type t)
{
    switch (t) {
    case T_KW_RULE:
    case T_KW_PARAM:
    case T_KW_MATCH:
    case T_KW_EXCLUDE:
    case T_KW_LET:
    case T_KW_DENY:
    case T_KW_WARN:
    case T_KW_AUDIT:
    case T_KW_MESSAGE:
        return true;
    default:
        return false;
    }
}

const char *pol_lex__describe(pol_tok_type t)
{
    static const char *const names[] = {
        [T_EOF] = "the end of the file",
        [T_IDENT] = "a name",
        [T_NUMBER] = "a number",
        [T_STRING] = "a string",
        [T_LPAREN] = "'('",
        [T_RPAREN] = "')'",
        [T_LBRACK] = "'['",
        [T_RBRACK] = "']'",
        [T_LBRACE] = "'{'",
        [T_RBRACE] = "'}'",
        [T_COMMA] = "','",
        [T_DOT] = "'.'",
        [T_COLON] = "':'",
        [T_QQ] = "'?\?'", /* the escape keeps "??'" from reading as a trigraph */
        [T_EQ] = "'=='",
        [T_NE] = "'!='",
        [T_LT] = "'<'",
        [T_LE] = "'<='",
        [T_GT] = "'>'",
        [T_GE] = "'>='",
        [T_ASSIGN] = "'='",
        [T_PLUS] = "'+'",
        [T_MINUS] = "'-'",
        [T_STAR] = "'*'",
        [T_SLASH] = "'/'",
        [T_PERCENT] = "'%'",
        [T_ANDAND] = "'&&'",
        [T_OROR] = "'||'",
        [T_BANG] = "'!'",
        [T_ERROR] = "a bad token",
    };
    if (t >= T_KW_RULE) {
        for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
            if (keywords[i].type == t)
                return keywords[i].word;
    }
    if ((size_t)t < sizeof(names) / sizeof(names[0]) && names[t])
        return names[t];
    return "a token";
}

void pol_lex__skip_space(pol_lexer *lx)
{
    while (lx->pos < lx->len) {
        char ch = lx->src[lx->pos];
        if (ch == '#') {
            while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
                lx->pos++;
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            lx->pos++;
        } else {
            break;
        }
    }
}

static pol_token lex_error(pol_lexer *lx, size_t off, const char *msg)
{
    lx->error = msg;
    lx->pos = off + 1; /* move on, so a caller that skips tokens cannot spin */
    return (pol_token){.type = T_ERROR, .off = off, .len = 1};
}

/* A quoted string: find the closing quote, skipping escapes; decoding is the parser's. */
static pol_token lex_string(pol_lexer *lx, size_t start)
{
    char q = lx->src[start];
    size_t i = start + 1;
    while (i < lx->len && lx->src[i] != q && lx->src[i] != '\n') {
        if (lx->src[i] == '\\' && i + 1 < lx->len)
            i++;
        i++;
    }
    if (i >= lx->len || lx->src[i] != q)
        return lex_error(lx, start, "unterminated string");
    lx->pos = i + 1;
    return (pol_token){.type = T_STRING, .off = start, .len = i + 1 - start};
}

static pol_token lex_number(pol_lexer *lx, size_t start)
{
    char buf[64];
    size_t i = start;
    while (i < lx->len && isdigit((unsigned char)lx->src[i]))
        i++;
    if (i + 1 < lx->len && lx->src[i] == '.' && isdigit((unsigned char)lx->src[i + 1])) {
        i++;
        while (i < lx->len && isdigit((unsigned char)lx->src[i]))
            i++;
    }
    if (i < lx->len && (lx->src[i] == 'e' || lx->src[i] == 'E')) {
        size_t j = i + 1;
        if (j < lx->len && (lx->src[j] == '+' || lx->src[j] == '-'))
            j++;
        if (j < lx->len && isdigit((unsigned char)lx->src[j])) {
            while (j < lx->len && isdigit((unsigned char)lx->src[j]))
                j++;
            i = j;
        }
    }
    if (i < lx->len && (isalpha((unsigned char)lx->src[i]) || lx->src[i] == '_'))
        return lex_error(lx, start, "malformed number");
    if (i - start >= sizeof(buf))
        return lex_error(lx, start, "number too long");
    memcpy(buf, lx->src + start, i - start);
    buf[i - start] = '\0';
    lx->pos = i;
    return (pol_token){.type = T_NUMBER, .off = start, .len = i - start, .num = strtod(buf, NULL)};
}

static pol_token lex_word(pol_lexer *lx, size_t start)
{
    size_t i = start;
    while (i < lx->len && (isalnum((unsigned char)lx->src[i]) || lx->src[i] == '_'))
        i++;
    lx->pos = i;
    for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
        if (strlen(keywords[k].word) == i - start &&
            memcmp(keywords[k].word, lx->src + start, i - start) == 0)
            return (pol_token){.type = keywords[k].type, .off = start, .len = i - start};
    return (pol_token){.type = T_IDENT, .off = start, .len = i - start};
}

static pol_token op(pol_lexer *lx, size_t start, size_t len, pol_tok_type t)
{
    lx->pos = start + len;
    return (pol_token){.type = t, .off = start, .len = len};
}

pol_token pol_lex__next(pol_lexer *lx)
{
    pol_lex__skip_space(lx);
    size_t s = lx->pos;
    if (s >= lx->len)
        return (pol_token){.type = T_EOF, .off = lx->len, .len = 0};
    char ch = lx->src[s], nx = s + 1 < lx->len ? lx->src[s + 1] : '\0';
    if (isalpha((unsigned char)ch) || ch == '_')
        return lex_word(lx, s);
    if (isdigit((unsigned char)ch))
        return lex_number(lx, s);
    switch (ch) {
    case '"':
    case '\'':
        return lex_string(lx, s);
    case '(':
        return op(lx, s, 1, T_LPAREN);
    case ')':
        return op(lx, s, 1, T_RPAREN);
    case '[':
        return op(lx, s, 1, T_LBRACK);
    case ']':
        return op(lx, s, 1, T_RBRACK);
    case '{':
        return op(lx, s, 1, T_LBRACE);
    case '}':
        return op(lx, s, 1, T_RBRACE);
    case ',':
        return op(lx, s, 1, T_COMMA);
    case '.':
        return op(lx, s, 1, T_DOT);
    case ':':
        return op(lx, s, 1, T_COLON);
    case '+':
        return op(lx, s, 1, T_PLUS);
    case '-':
        return op(lx, s, 1, T_MINUS);
    case '*':
        return op(lx, s, 1, T_STAR);
    case '/':
        return op(lx, s, 1, T_SLASH);
    case '%':
        return op(lx, s, 1, T_PERCENT);
    case '?':
        if (nx == '?')
            return op(lx, s, 2, T_QQ);
        break;
    case '=':
        return nx == '=' ? op(lx, s, 2, T_EQ) : op(lx, s, 1, T_ASSIGN);
    case '!':
        return nx == '=' ? op(lx, s, 2, T_NE) : op(lx, s, 1, T_BANG);
    case '<':
        return nx == '=' ? op(lx, s, 2, T_LE) : op(lx, s, 1, T_LT);
    case '>':
        return nx == '=' ? op(lx, s, 2, T_GE) : op(lx, s, 1, T_GT);
    case '&':
        if (nx == '&')
            return op(lx, s, 2, T_ANDAND);
        break;
    case '|':
        if (nx == '|')
            return op(lx, s, 2, T_OROR);
        break;
    default:
        break;
    }
    return lex_error(lx, s, "unexpected character");
}
