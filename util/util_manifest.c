/* util_manifest.c: manifest files (multi-document YAML or JSON) into jansson values, the way
 * kubectl reads them, and JSON values back out as block YAML. Every parse error names
 * source:line:col; limits from limits.h bound depth and alias expansion. */
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/limits.h"
#include "util/banned.h"

/* ---- the document set ----------------------------------------------------------------- */

void util_manifest_set_init(util_manifest_set *set)
{
    set->docs = NULL;
    set->count = set->cap = 0;
}

void util_manifest_set_release(util_manifest_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        json_decref(set->docs[i].value);
    free(set->docs);
    util_manifest_set_init(set);
}

/* Where parsed documents go: the caller's function, with the flags that shape them. */
typedef struct doc_sink {
    util_manifest_fn fn;
    void *ctx;
    unsigned flags;
} doc_sink;

/* Steals value; the sink borrows it for the call. */
static int deliver(const doc_sink *sink, json_t *value, unsigned index, int item, unsigned line)
{
    util_manifest_doc doc = {value, index, item, line};
    int rc = sink->fn(sink->ctx, &doc);
    json_decref(value);
    return rc;
}

static bool is_list_kind(const json_t *doc)
{
    const char *kind = util_json_str(doc, "kind");
    size_t n = kind ? strlen(kind) : 0;
    return n >= 4 && strcmp(kind + n - 4, "List") == 0 &&
           json_is_array(json_object_get(doc, "items"));
}

/* Steals doc. Delivers it, or its items when it is a List and the caller asked for that. */
static int add_document(const doc_sink *sink, json_t *doc, unsigned index, unsigned line)
{
    size_t i;
    json_t *item;
    int rc = 0;
    if (json_is_null(doc) && !(sink->flags & UTIL_MANIFEST_KEEP_EMPTY)) {
        json_decref(doc);
        return 0;
    }
    if (!(sink->flags & UTIL_MANIFEST_EXPAND_LISTS) || !is_list_kind(doc))
        return deliver(sink, doc, index, -1, line);
    json_array_foreach(json_object_get(doc, "items"), i, item)
    {
        if ((rc = deliver(sink, json_incref(item), index, (int)i, line)) != 0)
            break;
    }
    json_decref(doc);
    return rc;
}

/* ---- JSON ----------------------------------------------------------------------------- */

static int json_depth_ok(const json_t *v, int depth)
{
    size_t i;
    const char *key;
    json_t *child;
    if (depth > LIMIT_JSON_DEPTH_DEFAULT)
        return 0;
    if (json_is_array(v)) {
        json_array_foreach(v, i, child) if (!json_depth_ok(child, depth + 1)) return 0;
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child) if (!json_depth_ok(child, depth + 1)) return 0;
    }
    return 1;
}

static int parse_json(const doc_sink *sink, const char *source, const char *text, size_t len,
                      util_error *err)
{
    size_t pos = 0;
    unsigned index = 0;
    while (pos < len) {
        json_error_t jerr;
        json_t *doc;
        unsigned line, col;
        while (pos < len && isspace((unsigned char)text[pos]))
            pos++;
        if (pos == len)
            break;
        util_linecol(text, len, pos, &line, &col);
        doc = json_loadb(text + pos, len - pos,
                         JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!doc) {
            unsigned eline = jerr.line > 0 ? (unsigned)jerr.line + line - 1 : line;
            unsigned ecol = jerr.column > 0 ? (unsigned)jerr.column : 1;
            if (jerr.line == 1)
                ecol += col - 1;
            return util_error_at(err, UTIL_ESYNTAX, source, eline, ecol, "json: %s", jerr.text);
        }
        if (!json_depth_ok(doc, 1)) {
            json_decref(doc);
            return util_error_at(err, UTIL_ELIMIT, source, line, col,
                                 "json: nested deeper than %d levels", LIMIT_JSON_DEPTH_DEFAULT);
        }
        pos += jerr.position;
        if (json_is_array(doc)) {
            size_t i;
            json_t *item;
            int rc = 0;
            json_array_foreach(doc, i, item)
            {
                if ((rc = add_document(sink, json_incref(item), index++, line)) != 0)
                    break;
            }
            json_decref(doc);
            if (rc != 0)
                return rc;
        } else {
            int rc = add_document(sink, doc, index++, line);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* ---- YAML scalars --------------------------------------------------------------------- */

static bool word_in(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

static const char *const yaml_nulls[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const yaml_trues[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                         "True", "TRUE", "on",  "On",  "ON",  NULL};
static const char *const yaml_falses[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                          "False", "FALSE", "off", "Off", "OFF", NULL};

/* An integer as Go's strconv.ParseInt(s, 0, 64) reads it after removing '_': sign, then
 * 0x / 0o / 0b / leading-0 octal / decimal. */
static bool parse_yaml_int(const char *s, json_int_t *out)
{
    char digits[80];
    size_t n = 0;
    int base = 10;
    bool neg = false;
    const char *p = s;
    char *end;
    unsigned long long v;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        base = 8, p += 2;
    else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        base = 2, p += 2;
    else if (p[0] == '0' && p[1])
        base = 8, p += 1;
    for (; *p; p++) {
        if (*p == '_')
            continue;
        if (n + 1 >= sizeof(digits))
            return false;
        digits[n++] = *p;
    }
    digits[n] = '\0';
    if (!n || !isalnum((unsigned char)digits[0]))
        return false;
    errno = 0;
    v = strtoull(digits, &end, base);
    if (*end || errno)
        return false;
    if (!neg && v > (unsigned long long)INT64_MAX)
        return false;
    if (neg && v > (unsigned long long)INT64_MAX + 1)
        return false;
    *out = neg ? (json_int_t)(0 - v) : (json_int_t)v;
    return true;
}

/* YAML 1.1 floats as go-yaml matches them: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool parse_yaml_float(const char *s, double *out)
{
    const char *p = s;
    bool digits = false;
    char *end;
    if (*p == '+' || *p == '-')
        p++;
    while (isdigit((unsigned char)*p))
        p++, digits = true;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits = true;
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return false;
    *out = strtod(s, &end);
    return *end == '\0';
}

/* What a plain scalar means. Infinities and NaN stay strings: JSON cannot carry them. */
static json_t *resolve_plain(const char *s, size_t len)
{
    json_int_t i;
    double d;
    /* Most scalars are names and words: only a short one can be a null or a boolean, and only
     * one that opens with a digit, a sign or a dot can be a number. */
    if (len > 5 || !strchr("~nNtTfFyYoO", s[0])) {
        if (!strchr("0123456789+-.", s[0]))
            return json_stringn(s, len);
        if (parse_yaml_int(s, &i))
            return json_integer(i);
        if (parse_yaml_float(s, &d))
            return json_real(d);
        return json_stringn(s, len);
    }
    if (word_in(s, yaml_nulls))
        return json_null();
    if (word_in(s, yaml_trues))
        return json_true();
    if (word_in(s, yaml_falses))
        return json_false();
    if (parse_yaml_int(s, &i))
        return json_integer(i);
    return json_stringn(s, len);
}

static json_t *resolve_tagged(const char *tag, const char *s, size_t len)
{
    const char *short_tag = strncmp(tag, "tag:yaml.org,2002:", 18) == 0 ? tag + 18 : NULL;
    json_t *v;
    if (!short_tag || strcmp(short_tag, "str") == 0 || strcmp(short_tag, "binary") == 0)
        return json_stringn(s, len);
    v = resolve_plain(s, len);
    if (!v)
        return NULL;
    if ((strcmp(short_tag, "int") == 0 && json_is_integer(v)) ||
        (strcmp(short_tag, "float") == 0 && json_is_number(v)) ||
        (strcmp(short_tag, "bool") == 0 && json_is_boolean(v)) ||
        (strcmp(short_tag, "null") == 0 && json_is_null(v)))
        return v;
    json_decref(v);
    return json_stringn(s, len);
}

/* ---- YAML documents ------------------------------------------------------------------- */

typedef struct yaml_frame {
    json_t *container; /* object or array being filled; owned */
    char *key;         /* pending mapping key, malloc'd; NULL when the next scalar is a key */
    size_t key_len;
    bool key_is_merge; /* the pending key is the plain `<<` merge key */
    char *anchor;      /* anchor to record when the container closes, malloc'd */
    json_t *merged;    /* keys a merge key brought in, which explicit keys may override */
    unsigned line, col;
} yaml_frame;

typedef struct yaml_anchor {
    char *name;
    json_t *value; /* owned reference */
} yaml_anchor;

typedef struct yaml_loader {
    const char *source;
    util_error *err;
    yaml_frame stack[LIMIT_YAML_DEPTH + 1];
    int depth;
    yaml_anchor *anchors;
    size_t nanchors, cap_anchors;
    size_t alias_nodes; /* nodes produced by alias expansion in this document */
    json_t *root;
} yaml_loader;

static int loader_error(yaml_loader *ld, int code, const yaml_mark_t *mark, const char *fmt, ...)
    UTIL_PRINTF(4, 5);
static int loader_error(yaml_loader *ld, int code, const yaml_mark_t *mark, const char *fmt, ...)
{
    va_list ap;
    if (!ld->err)
        return code;
    ld->err->source = ld->source;
    ld->err->line = (unsigned)mark->line + 1;
    ld->err->col = (unsigned)mark->column + 1;
    va_start(ap, fmt);
    util_error_vset(ld->err, code, fmt, ap);
    va_end(ap);
    return code;
}

static void loader_reset_doc(yaml_loader *ld)
{
    while (ld->depth > 0) {
        yaml_frame *f = &ld->stack[--ld->depth];
        json_decref(f->container);
        json_decref(f->merged);
        free(f->key);
        free(f->anchor);
    }
    for (size_t i = 0; i < ld->nanchors; i++) {
        free(ld->anchors[i].name);
        json_decref(ld->anchors[i].value);
    }
    ld->nanchors = 0;
    ld->alias_nodes = 0;
    json_decref(ld->root);
    ld->root = NULL;
}

static int record_anchor(yaml_loader *ld, const char *name, json_t *value)
{
    if (util_grow(&ld->anchors, &ld->cap_anchors, ld->nanchors, sizeof(*ld->anchors), 8) < 0)
        return UTIL_ENOMEM;
    /* A later anchor of the same name shadows an earlier one, as in YAML. */
    ld->anchors[ld->nanchors].name = strdup(name);
    if (!ld->anchors[ld->nanchors].name)
        return UTIL_ENOMEM;
    ld->anchors[ld->nanchors++].value = json_incref(value);
    return 0;
}

static json_t *find_anchor(yaml_loader *ld, const char *name)
{
    for (size_t i = ld->nanchors; i-- > 0;)
        if (strcmp(ld->anchors[i].name, name) == 0)
            return ld->anchors[i].value;
    return NULL;
}

static size_t count_nodes(const json_t *v)
{
    size_t n = 1, i;
    const char *key;
    json_t *child;
    if (json_is_array(v))
        json_array_foreach(v, i, child) n += count_nodes(child);
    else if (json_is_object(v))
        json_object_foreach((json_t *)v, key, child) n += count_nodes(child);
    return n;
}

/* Merge the mapping src into the frame's mapping without overriding keys it already has
 * (YAML merge key); remember them so that explicit keys later in the mapping win. */
static int merge_into(yaml_frame *f, json_t *src)
{
    const char *key;
    json_t *v;
    if (!f->merged && !(f->merged = json_object()))
        return UTIL_ENOMEM;
    json_object_foreach(src, key, v)
    {
        if (json_object_get(f->container, key))
            continue;
        if (json_object_set(f->container, key, v) < 0 ||
            json_object_set(f->merged, key, json_null()) < 0)
            return UTIL_ENOMEM;
    }
    return 0;
}

/* Steals value. Adds it to the innermost open container, or makes it the document root. */
static int add_value(yaml_loader *ld, json_t *value, const yaml_mark_t *mark)
{
    yaml_frame *f;
    int rc = 0;
    if (!value)
        return util_error_set(ld->err, UTIL_ENOMEM, "out of memory");
    if (ld->depth == 0) {
        ld->root = value;
        return 0;
    }
    f = &ld->stack[ld->depth - 1];
    if (json_is_array(f->container))
        return json_array_append_new(f->container, value) < 0 ? UTIL_ENOMEM : 0;
    if (!f->key) {
        json_decref(value);
        return loader_error(ld, UTIL_ESYNTAX, mark, "yaml: mapping key is not a scalar");
    }
    if (f->key_is_merge) {
        size_t i;
        json_t *item;
        if (json_is_object(value)) {
            rc = merge_into(f, value);
        } else if (json_is_array(value)) {
            json_array_foreach(value, i, item)
            {
                if (!json_is_object(item)) {
                    rc = loader_error(ld, UTIL_ESYNTAX, mark,
                                      "yaml: merge key '<<' takes mappings only");
                    break;
                }
                rc = merge_into(f, item);
            }
        } else {
            rc = loader_error(ld, UTIL_ESYNTAX, mark, "yaml: merge key '<<' takes mappings only");
        }
        json_decref(value);
    } else {
        /* One hash lookup, not two: a key that did not grow the mapping was there already,
         * which is an error unless a merge key brought it in. */
        size_t before = json_object_size(f->container);
        if (json_object_setn_new(f->container, f->key, f->key_len, value) < 0)
            rc = util_error_set(ld->err, UTIL_ENOMEM, "out of memory");
        else if (json_object_size(f->container) == before &&
                 (!f->merged || json_object_deln(f->merged, f->key, f->key_len) < 0))
            rc = loader_error(ld, UTIL_ESYNTAX, mark, "yaml: duplicate key '%s'", f->key);
    }
    free(f->key);
    f->key = NULL;
    f->key_is_merge = false;
    return rc;
}

static bool expecting_key(yaml_loader *ld)
{
    yaml_frame *f;
    if (ld->depth == 0)
        return false;
    f = &ld->stack[ld->depth - 1];
    return json_is_object(f->container) && !f->key;
}

static int on_scalar(yaml_loader *ld, yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    const char *tag = (const char *)ev->data.scalar.tag;
    json_t *v;

    if (expecting_key(ld)) {
        yaml_frame *f = &ld->stack[ld->depth - 1];
        if (memchr(s, '\0', len))
            return loader_error(ld, UTIL_ESYNTAX, &ev->start_mark, "yaml: key holds a NUL");
        /* Take the parser's copy of the key rather than making another. */
        f->key = (char *)ev->data.scalar.value;
        f->key_len = len;
        ev->data.scalar.value = NULL;
        f->key_is_merge = plain && !tag && strcmp(f->key, "<<") == 0;
        return 0;
    }
    if (tag && strcmp(tag, "!") != 0)
        v = resolve_tagged(tag, s, len);
    else if (plain && !tag)
        v = resolve_plain(s, len);
    else
        v = json_stringn(s, len);
    if (!v)
        return loader_error(ld, UTIL_ESYNTAX, &ev->start_mark, "yaml: scalar is not valid UTF-8");
    if (ev->data.scalar.anchor && record_anchor(ld, (const char *)ev->data.scalar.anchor, v) < 0) {
        json_decref(v);
        return UTIL_ENOMEM;
    }
    return add_value(ld, v, &ev->start_mark);
}

static int on_alias(yaml_loader *ld, yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *target = find_anchor(ld, name), *copy;
    if (!target)
        return loader_error(ld, UTIL_ESYNTAX, &ev->start_mark, "yaml: unknown anchor '%s'", name);
    ld->alias_nodes += count_nodes(target);
    if (ld->alias_nodes > LIMIT_YAML_ALIAS_NODES)
        return loader_error(ld, UTIL_ELIMIT, &ev->start_mark,
                            "yaml: aliases expand to over 100000 nodes ('%s')", name);
    if (expecting_key(ld)) {
        if (!json_is_string(target))
            return loader_error(ld, UTIL_ESYNTAX, &ev->start_mark,
                                "yaml: alias '%s' used as a key is not a string", name);
        ld->stack[ld->depth - 1].key = strdup(json_string_value(target));
        ld->stack[ld->depth - 1].key_len = json_string_length(target);
        return ld->stack[ld->depth - 1].key ? 0 : UTIL_ENOMEM;
    }
    copy = json_deep_copy(target);
    return add_value(ld, copy, &ev->start_mark);
}

static int on_start(yaml_loader *ld, yaml_event_t *ev, bool mapping)
{
    yaml_frame *f;
    const char *anchor =
        (const char *)(mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
    if (expecting_key(ld))
        return loader_error(ld, UTIL_ESYNTAX, &ev->start_mark, "yaml: mapping key is not a scalar");
    if (ld->depth >= LIMIT_YAML_DEPTH)
        return loader_error(ld, UTIL_ELIMIT, &ev->start_mark, "yaml: nested deeper than %d levels",
                            LIMIT_YAML_DEPTH);
    f = &ld->stack[ld->depth];
    memset(f, 0, sizeof(*f));
    f->container = mapping ? json_object() : json_array();
    f->anchor = anchor ? strdup(anchor) : NULL;
    f->line = (unsigned)ev->start_mark.line + 1;
    f->col = (unsigned)ev->start_mark.column + 1;
    if (!f->container || (anchor && !f->anchor)) {
        json_decref(f->container);
        free(f->anchor);
        return util_error_set(ld->err, UTIL_ENOMEM, "out of memory");
    }
    ld->depth++;
    return 0;
}

static int on_end(yaml_loader *ld, yaml_event_t *ev)
{
    yaml_frame f = ld->stack[--ld->depth];
    int rc = 0;
    json_decref(f.merged);
    if (f.key) {
        free(f.key);
        free(f.anchor);
        json_decref(f.container);
        return loader_error(ld, UTIL_ESYNTAX, &ev->start_mark, "yaml: key without a value");
    }
    if (f.anchor)
        rc = record_anchor(ld, f.anchor, f.container);
    free(f.anchor);
    if (rc < 0) {
        json_decref(f.container);
        return rc;
    }
    return add_value(ld, f.container, &ev->start_mark);
}

static int parse_yaml(const doc_sink *sink, const char *source, const char *text, size_t len,
                      util_error *err)
{
    yaml_parser_t parser;
    yaml_loader ld;
    unsigned index = 0, doc_line = 1;
    int rc = 0;
    bool done = false;

    memset(&ld, 0, sizeof(ld));
    ld.source = source;
    ld.err = err;
    if (!yaml_parser_initialize(&parser))
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            const yaml_mark_t *m = &parser.problem_mark;
            rc = util_error_at(err, UTIL_ESYNTAX, source, (unsigned)m->line + 1,
                               (unsigned)m->column + 1, "yaml: %s%s%s",
                               parser.problem ? parser.problem : "syntax error",
                               parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            doc_line = (unsigned)ev.start_mark.line + 1;
            break;
        case YAML_DOCUMENT_END_EVENT:
            rc = add_document(sink, ld.root ? ld.root : json_null(), index++, doc_line);
            ld.root = NULL;
            loader_reset_doc(&ld);
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(&ld, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(&ld, &ev);
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            rc = on_start(&ld, &ev, ev.type == YAML_MAPPING_START_EVENT);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            rc = on_end(&ld, &ev);
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    loader_reset_doc(&ld);
    free(ld.anchors);
    yaml_parser_delete(&parser);
    return rc;
}

static bool looks_like_json(const char *text, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    return i < len && (text[i] == '{' || text[i] == '[');
}

int util_manifest_each(const char *source, const char *text, size_t len, unsigned flags,
                       util_manifest_fn fn, void *ctx, util_error *err)
{
    doc_sink sink = {fn, ctx, flags};
    int rc;
    if (len > LIMIT_MANIFEST_FILE)
        return util_error_at(err, UTIL_ELIMIT, source, 0, 0, "manifest over %u bytes",
                             LIMIT_MANIFEST_FILE);
    if (looks_like_json(text, len))
        rc = parse_json(&sink, source, text, len, err);
    else
        rc = parse_yaml(&sink, source, text, len, err);
    if (rc == UTIL_ENOMEM && err && !err->msg[0])
        util_error_set(err, rc, "out of memory");
    if (rc < 0 && err && !err->source)
        err->source = source;
    return rc;
}

static int collect(void *ctx, const util_manifest_doc *doc)
{
    util_manifest_set *set = ctx;
    if (util_grow(&set->docs, &set->cap, set->count, sizeof(*set->docs), 8) < 0)
        return UTIL_ENOMEM;
    set->docs[set->count] = *doc;
    json_incref(doc->value);
    set->count++;
    return 0;
}

int util_manifest_parse(util_manifest_set *out, const char *source, const char *text, size_t len,
                        unsigned flags, util_error *err)
{
    size_t before = out->count;
    int rc = util_manifest_each(source, text, len, flags, collect, out, err);
    if (rc == 0)
        return 0;
    /* The contract is all or nothing: roll back what this parse appended. */
    while (out->count > before)
        json_decref(out->docs[--out->count].value);
    return rc;
}

/* ---- YAML out ------------------------------------------------------------------------- */

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
    return yaml_emitter_emit(em, ev) ? 0 : UTIL_EFAIL;
}

static int emit_scalar(yaml_emitter_t *em, const char *s, size_t len, bool must_quote)
{
    yaml_event_t ev;
    yaml_scalar_style_t style =
        must_quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style))
        return UTIL_ENOMEM;
    return emit(em, &ev);
}

/* A string must be quoted when read back plain it would mean something else. */
static bool string_needs_quotes(const char *s, size_t len)
{
    json_t *back;
    bool differs;
    if (len == 0 || memchr(s, '\0', len))
        return true;
    if (strcmp(s, "<<") == 0)
        return true; /* plain, it would read back as a merge key */
    back = resolve_plain(s, len);
    differs = !json_is_string(back);
    json_decref(back);
    return differs;
}

static int emit_value(yaml_emitter_t *em, const json_t *v, int depth)
{
    yaml_event_t ev;
    char num[64];
    if (depth > LIMIT_JSON_DEPTH_DEFAULT * 2)
        return UTIL_ELIMIT;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *child;
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (emit(em, &ev) < 0)
            return UTIL_EFAIL;
        json_object_foreach((json_t *)v, key, child)
        {
            if (emit_scalar(em, key, strlen(key), string_needs_quotes(key, strlen(key))) < 0 ||
                emit_value(em, child, depth + 1) < 0)
                return UTIL_EFAIL;
        }
        yaml_mapping_end_event_initialize(&ev);
        return emit(em, &ev);
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *child;
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE
                                                                : YAML_FLOW_SEQUENCE_STYLE);
        if (emit(em, &ev) < 0)
            return UTIL_EFAIL;
        json_array_foreach(v, i, child) if (emit_value(em, child, depth + 1) < 0) return UTIL_EFAIL;
        yaml_sequence_end_event_initialize(&ev);
        return emit(em, &ev);
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        return emit_scalar(em, s, len, string_needs_quotes(s, len));
    }
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_scalar(em, num, strlen(num), false);
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        return emit_scalar(em, num, strlen(num), false);
    case JSON_TRUE:
        return emit_scalar(em, "true", 4, false);
    case JSON_FALSE:
        return emit_scalar(em, "false", 5, false);
    case JSON_NULL:
        return emit_scalar(em, "null", 4, false);
    }
    return UTIL_EFAIL;
}

static int write_to_buf(void *data, unsigned char *bytes, size_t size)
{
    return util_buf_append(data, bytes, size) == 0;
}

int util_yaml_dump(util_buf *out, const json_t *value)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    int rc = UTIL_EFAIL;
    if (!yaml_emitter_initialize(&em))
        return UTIL_ENOMEM;
    yaml_emitter_set_output(&em, write_to_buf, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    if (emit(&em, &ev) < 0)
        goto out_free;
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    if (emit(&em, &ev) < 0 || emit_value(&em, value, 0) < 0)
        goto out_free;
    yaml_document_end_event_initialize(&ev, 1);
    if (emit(&em, &ev) < 0)
        goto out_free;
    yaml_stream_end_event_initialize(&ev);
    rc = emit(&em, &ev);
out_free:
    yaml_emitter_delete(&em);
    return rc;
}
