/* adm_config.c: the server configuration file (docs/configuration.md). Read with libyaml's
 * document API so that every node keeps its line and column: an unknown key or a wrong type is
 * reported as `file:line:col: tls.cert: expected a string, got a list`. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "admission/adm.h"
#include "util/limits.h"
#include "util/banned.h"

#define CFG_DEFAULT_LISTEN "127.0.0.1:8443"
/* Idle keep-alive connections and slow clients are cut after this long. */
#define CFG_DEFAULT_TIMEOUT_MS  30000
#define CFG_DEFAULT_CONNECTIONS 1024
#define CFG_DEFAULT_INTERVAL_MS 30000
#define CFG_MAX_DEPTH           1000

typedef struct cfg_ctx {
    yaml_document_t *doc;
    const char *source;
    util_error *err;
    size_t nodes; /* nodes converted into params JSON: bounds alias expansion */
} cfg_ctx;

void adm_config_init(adm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = ADM_MODE_ENFORCE;
    cfg->log_level = ADM_LOG_INFO;
    cfg->repo.interval_ms = CFG_DEFAULT_INTERVAL_MS;
    cfg->provenance.mode = ADM_MODE_ENFORCE;
    cfg->limits.body = LIMIT_BODY_DEFAULT;
    cfg->limits.depth = LIMIT_JSON_DEPTH_DEFAULT;
    cfg->limits.connections = CFG_DEFAULT_CONNECTIONS;
    cfg->limits.timeout_ms = CFG_DEFAULT_TIMEOUT_MS;
}

static void strv_clear(util_strv *v)
{
    util_strv_free(v);
    memset(v, 0, sizeof *v);
}

void adm_config_release(adm_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->source);
    free(cfg->listen);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tls_client_ca);
    free(cfg->state_dir);
    strv_clear(&cfg->rules);
    json_decref(cfg->params);
    free(cfg->repo.url);
    free(cfg->repo.branch);
    strv_clear(&cfg->repo.paths);
    strv_clear(&cfg->repo.trust);
    free(cfg->repo.verify);
    free(cfg->repo.since);
    strv_clear(&cfg->provenance.exempt_users);
    strv_clear(&cfg->provenance.exempt_groups);
    json_decref(cfg->provenance.ignore);
    strv_clear(&cfg->sealing.keys);
    memset(cfg, 0, sizeof *cfg);
}

const char *adm_mode_name(adm_mode mode)
{
    static const char *const names[] = {"enforce", "warn", "audit", "off"};
    return mode <= ADM_MODE_OFF ? names[mode] : "enforce";
}

/* ---- durations and sizes --------------------------------------------------------------- */

int adm_parse_duration(uint64_t *out_ms, const char *s, util_error *err)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    uint64_t total = 0;
    const char *p = s;
    if (*p == '\0')
        return util_error_set(err, UTIL_EINVALID, "empty duration");
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return util_error_set(err, UTIL_EINVALID,
                                  "invalid duration '%s' (use e.g. 500ms, 30s, 5m, 1h)", s);
        errno = 0;
        char *end;
        unsigned long long n = strtoull(p, &end, 10);
        size_t i, ulen = 0;
        for (i = 0; i < sizeof units / sizeof units[0]; i++) {
            ulen = strlen(units[i].unit);
            /* "m" must not swallow the "m" of "ms" */
            if (strncmp(end, units[i].unit, ulen) == 0 &&
                !(ulen == 1 && end[0] == 'm' && end[1] == 's'))
                break;
        }
        if (i == sizeof units / sizeof units[0] || errno != 0 || n > UINT32_MAX)
            return util_error_set(err, UTIL_EINVALID,
                                  "invalid duration '%s' (use e.g. 500ms, 30s, 5m, 1h)", s);
        total += n * units[i].ms;
        p = end + ulen;
    }
    *out_ms = total;
    return 0;
}

int adm_parse_size(size_t *out, const char *s, util_error *err)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KiB", 1024},
                 {"MiB", 1024 * 1024},
                 {"GiB", 1024 * 1024 * 1024},
                 {"Ki", 1024},
                 {"Mi", 1024 * 1024},
                 {"Gi", 1024 * 1024 * 1024},
                 {"K", 1000},
                 {"k", 1000},
                 {"KB", 1000},
                 {"M", 1000000},
                 {"MB", 1000000},
                 {"G", 1000000000},
                 {"GB", 1000000000}};
    if (!isdigit((unsigned char)s[0]))
        return util_error_set(err, UTIL_EINVALID, "invalid size '%s' (use e.g. 6MiB, 512KiB, 4096)",
                              s);
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        if (errno != 0 || n > (1ull << 40) / units[i].mult)
            break;
        *out = (size_t)(n * units[i].mult);
        return 0;
    }
    return util_error_set(err, UTIL_EINVALID, "invalid size '%s' (use e.g. 6MiB, 512KiB, 4096)", s);
}

/* ---- node helpers ---------------------------------------------------------------------- */

static int cfg_fail(cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...) UTIL_PRINTF(3, 4);
static int cfg_fail(cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    util_error_vset(c->err, UTIL_EINVALID, fmt, ap);
    va_end(ap);
    c->err->source = c->source;
    c->err->line = (unsigned)n->start_mark.line + 1;
    c->err->col = (unsigned)n->start_mark.column + 1;
    return UTIL_EINVALID;
}

static const char *cfg_type_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static const char *cfg_scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain `~`, `null` or empty scalar: the key is treated as absent. */
static bool cfg_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = cfg_scalar(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int cfg_string(cfg_ctx *c, const yaml_node_t *n, const char *key, char **out)
{
    if (n->type != YAML_SCALAR_NODE)
        return cfg_fail(c, n, "%s: expected a string, got %s", key, cfg_type_name(n));
    if (n->data.scalar.length != strlen(cfg_scalar(n)))
        return cfg_fail(c, n, "%s: the string holds a NUL byte", key);
    char *s = strdup(cfg_scalar(n));
    if (s == NULL)
        return util_error_set(c->err, UTIL_ENOMEM, "out of memory");
    free(*out);
    *out = s;
    return 0;
}

static int cfg_strings(cfg_ctx *c, const yaml_node_t *n, const char *key, util_strv *out)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return cfg_fail(c, n, "%s: expected a list of strings, got %s", key, cfg_type_name(n));
    strv_clear(out);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        char *s = NULL;
        int rc = cfg_string(c, item, key, &s);
        if (rc == 0 && s[0] == '\0')
            rc = cfg_fail(c, item, "%s: empty string in the list", key);
        if (rc == 0 && util_strv_push(out, s) < 0)
            rc = util_error_set(c->err, UTIL_ENOMEM, "out of memory");
        free(s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int cfg_mode(cfg_ctx *c, const yaml_node_t *n, const char *key, adm_mode *out, bool off_ok)
{
    if (n->type == YAML_SCALAR_NODE) {
        for (int m = ADM_MODE_ENFORCE; m <= (off_ok ? ADM_MODE_OFF : ADM_MODE_AUDIT); m++)
            if (strcmp(cfg_scalar(n), adm_mode_name((adm_mode)m)) == 0) {
                *out = (adm_mode)m;
                return 0;
            }
    }
    return cfg_fail(c, n, "%s: expected enforce, warn%s or audit", key, off_ok ? ", off" : "");
}

static int cfg_duration(cfg_ctx *c, const yaml_node_t *n, const char *key, uint64_t *out)
{
    util_error e;
    if (n->type != YAML_SCALAR_NODE)
        return cfg_fail(c, n, "%s: expected a duration, got %s", key, cfg_type_name(n));
    if (adm_parse_duration(out, cfg_scalar(n), &e) < 0)
        return cfg_fail(c, n, "%s: %s", key, e.msg);
    return 0;
}

static int cfg_size(cfg_ctx *c, const yaml_node_t *n, const char *key, size_t *out, size_t min)
{
    util_error e;
    if (n->type != YAML_SCALAR_NODE)
        return cfg_fail(c, n, "%s: expected a size, got %s", key, cfg_type_name(n));
    if (adm_parse_size(out, cfg_scalar(n), &e) < 0)
        return cfg_fail(c, n, "%s: %s", key, e.msg);
    if (*out < min)
        return cfg_fail(c, n, "%s: must be at least %zu", key, min);
    return 0;
}

static int cfg_uint(cfg_ctx *c, const yaml_node_t *n, const char *key, unsigned *out, unsigned min,
                    unsigned max)
{
    const char *s = n->type == YAML_SCALAR_NODE ? cfg_scalar(n) : "";
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 || v < min || v > max)
        return cfg_fail(c, n, "%s: expected a whole number from %u to %u", key, min, max);
    *out = (unsigned)v;
    return 0;
}

/* Walk a mapping: fn(c, key_node, value_node, ud) per pair, with duplicate keys refused.
 * Null values are skipped (an absent key). */
typedef int (*cfg_pair_fn)(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *ud);

static int cfg_map(cfg_ctx *c, yaml_node_t *n, const char *what, cfg_pair_fn fn, void *ud)
{
    if (n->type != YAML_MAPPING_NODE)
        return cfg_fail(c, n, "%s: expected a mapping, got %s", what, cfg_type_name(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
        if (kn->type != YAML_SCALAR_NODE)
            return cfg_fail(c, kn, "%s: keys must be strings", what);
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = yaml_document_get_node(c->doc, q->key);
            if (prev->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(prev), cfg_scalar(kn)) == 0)
                return cfg_fail(c, kn, "%s: duplicate key '%s'", what, cfg_scalar(kn));
        }
        if (cfg_is_null(vn))
            continue;
        int rc = fn(c, cfg_scalar(kn), kn, vn, ud);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int cfg_unknown(cfg_ctx *c, yaml_node_t *kn, const char *section, const char *key,
                       const char *expected)
{
    if (section[0] == '\0')
        return cfg_fail(c, kn, "unknown key '%s' (expected %s)", key, expected);
    return cfg_fail(c, kn, "unknown key '%s' in %s (expected %s)", key, section, expected);
}

/* ---- free-form values (params) --------------------------------------------------------- */

/* A plain scalar resolved as the YAML core schema does; quoted scalars are strings. */
static json_t *cfg_scalar_json(const yaml_node_t *n)
{
    const char *s = cfg_scalar(n);
    size_t len = n->data.scalar.length;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, len);
    if (cfg_is_null(n))
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (end != s && *end == '\0' && errno == 0)
        return json_integer(i);
    double d = strtod(s, &end);
    if (end != s && *end == '\0' && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '.'))
        return json_real(d);
    return json_stringn(s, len);
}

static int cfg_to_json(cfg_ctx *c, yaml_node_t *n, unsigned depth, json_t **out)
{
    if (depth > LIMIT_YAML_DEPTH || ++c->nodes > LIMIT_YAML_ALIAS_NODES)
        return cfg_fail(c, n, "params: nested or aliased too deeply (limit %u levels, %u nodes)",
                        LIMIT_YAML_DEPTH, LIMIT_YAML_ALIAS_NODES);
    json_t *v = NULL;
    if (n->type == YAML_SCALAR_NODE) {
        v = cfg_scalar_json(n);
        if (v == NULL)
            return cfg_fail(c, n, "params: not valid UTF-8 text");
    } else if (n->type == YAML_SEQUENCE_NODE) {
        v = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             v && it < n->data.sequence.items.top; it++) {
            json_t *item = NULL;
            int rc = cfg_to_json(c, yaml_document_get_node(c->doc, *it), depth + 1, &item);
            if (rc < 0) {
                json_decref(v);
                return rc;
            }
            json_array_append_new(v, item);
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        v = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; v && p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
            json_t *item = NULL;
            if (kn->type != YAML_SCALAR_NODE) {
                json_decref(v);
                return cfg_fail(c, kn, "params: keys must be strings");
            }
            int rc = cfg_to_json(c, yaml_document_get_node(c->doc, p->value), depth + 1, &item);
            if (rc < 0) {
                json_decref(v);
                return rc;
            }
            json_object_set_new(v, cfg_scalar(kn), item);
        }
    }
    if (v == NULL)
        return util_error_set(c->err, UTIL_ENOMEM, "out of memory");
    *out = v;
    return 0;
}

/* params: {pack: {name: value}}; values are free-form, the packs check them. */
static int cfg_params(cfg_ctx *c, yaml_node_t *n, adm_config *cfg)
{
    if (n->type != YAML_MAPPING_NODE)
        return cfg_fail(c, n, "params: expected a mapping of packs, got %s", cfg_type_name(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
        if (vn->type != YAML_MAPPING_NODE)
            return cfg_fail(c, vn, "params.%s: expected a mapping of parameters, got %s",
                            kn->type == YAML_SCALAR_NODE ? cfg_scalar(kn) : "?", cfg_type_name(vn));
    }
    json_t *v = NULL;
    int rc = cfg_to_json(c, n, 0, &v);
    if (rc < 0)
        return rc;
    json_decref(cfg->params);
    cfg->params = v;
    return 0;
}

/* ---- sections -------------------------------------------------------------------------- */

static int cfg_tls_pair(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *ud)
{
    adm_config *cfg = ud;
    if (strcmp(key, "cert") == 0)
        return cfg_string(c, vn, "tls.cert", &cfg->tls_cert);
    if (strcmp(key, "key") == 0)
        return cfg_string(c, vn, "tls.key", &cfg->tls_key);
    if (strcmp(key, "clientCA") == 0)
        return cfg_string(c, vn, "tls.clientCA", &cfg->tls_client_ca);
    return cfg_unknown(c, kn, "tls", key, "cert, key, clientCA");
}

static int cfg_repo_pair(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *ud)
{
    adm_config *cfg = ud;
    if (strcmp(key, "url") == 0)
        return cfg_string(c, vn, "repo.url", &cfg->repo.url);
    if (strcmp(key, "branch") == 0)
        return cfg_string(c, vn, "repo.branch", &cfg->repo.branch);
    if (strcmp(key, "paths") == 0)
        return cfg_strings(c, vn, "repo.paths", &cfg->repo.paths);
    if (strcmp(key, "interval") == 0) {
        int rc = cfg_duration(c, vn, "repo.interval", &cfg->repo.interval_ms);
        if (rc == 0 && cfg->repo.interval_ms < 1000)
            rc = cfg_fail(c, vn, "repo.interval: must be at least 1s");
        return rc;
    }
    if (strcmp(key, "trust") == 0)
        return cfg_strings(c, vn, "repo.trust", &cfg->repo.trust);
    if (strcmp(key, "verify") == 0) {
        int rc = cfg_string(c, vn, "repo.verify", &cfg->repo.verify);
        if (rc == 0 && strcmp(cfg->repo.verify, "head") != 0 &&
            strcmp(cfg->repo.verify, "chain") != 0)
            rc = cfg_fail(c, vn, "repo.verify: expected head or chain");
        return rc;
    }
    if (strcmp(key, "since") == 0)
        return cfg_string(c, vn, "repo.since", &cfg->repo.since);
    return cfg_unknown(c, kn, "repo", key, "url, branch, paths, interval, trust, verify, since");
}

static int cfg_exempt_pair(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *ud)
{
    adm_config *cfg = ud;
    if (strcmp(key, "users") == 0)
        return cfg_strings(c, vn, "provenance.exempt.users", &cfg->provenance.exempt_users);
    if (strcmp(key, "groups") == 0)
        return cfg_strings(c, vn, "provenance.exempt.groups", &cfg->provenance.exempt_groups);
    return cfg_unknown(c, kn, "provenance.exempt", key, "users, groups");
}

static int cfg_ignore_pair(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *ud)
{
    json_t *entry = ud;
    if (strcmp(key, "kind") != 0 && strcmp(key, "path") != 0)
        return cfg_unknown(c, kn, "provenance.ignore", key, "kind, path");
    char *s = NULL;
    char what[40];
    snprintf(what, sizeof what, "provenance.ignore.%s", key);
    int rc = cfg_string(c, vn, what, &s);
    if (rc == 0)
        json_object_set_new(entry, key, json_string(s));
    free(s);
    return rc;
}

static int cfg_ignore(cfg_ctx *c, yaml_node_t *n, adm_config *cfg)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return cfg_fail(c, n, "provenance.ignore: expected a list of {kind, path}, got %s",
                        cfg_type_name(n));
    json_t *list = json_array();
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        json_t *entry = json_object();
        int rc = cfg_map(c, item, "provenance.ignore", cfg_ignore_pair, entry);
        if (rc == 0 && json_object_get(entry, "path") == NULL)
            rc = cfg_fail(c, item, "provenance.ignore: each entry needs a path");
        if (rc < 0) {
            json_decref(entry);
            json_decref(list);
            return rc;
        }
        json_array_append_new(list, entry);
    }
    json_decref(cfg->provenance.ignore);
    cfg->provenance.ignore = list;
    return 0;
}

static int cfg_provenance_pair(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
                               void *ud)
{
    adm_config *cfg = ud;
    if (strcmp(key, "mode") == 0)
        return cfg_mode(c, vn, "provenance.mode", &cfg->provenance.mode, true);
    if (strcmp(key, "exempt") == 0)
        return cfg_map(c, vn, "provenance.exempt", cfg_exempt_pair, cfg);
    if (strcmp(key, "ignore") == 0)
        return cfg_ignore(c, vn, cfg);
    return cfg_unknown(c, kn, "provenance", key, "mode, exempt, ignore");
}

static int cfg_sealing_pair(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *ud)
{
    adm_config *cfg = ud;
    if (strcmp(key, "keys") == 0)
        return cfg_strings(c, vn, "sealing.keys", &cfg->sealing.keys);
    return cfg_unknown(c, kn, "sealing", key, "keys");
}

static int cfg_limits_pair(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *ud)
{
    adm_config *cfg = ud;
    if (strcmp(key, "body") == 0)
        return cfg_size(c, vn, "limits.body", &cfg->limits.body, 1024);
    if (strcmp(key, "depth") == 0)
        return cfg_uint(c, vn, "limits.depth", &cfg->limits.depth, 1, CFG_MAX_DEPTH);
    if (strcmp(key, "connections") == 0)
        return cfg_uint(c, vn, "limits.connections", &cfg->limits.connections, 1, 1000000);
    if (strcmp(key, "threads") == 0)
        return cfg_uint(c, vn, "limits.threads", &cfg->limits.threads, 0, 1024);
    if (strcmp(key, "timeout") == 0) {
        int rc = cfg_duration(c, vn, "limits.timeout", &cfg->limits.timeout_ms);
        if (rc == 0 && cfg->limits.timeout_ms < 1000)
            rc = cfg_fail(c, vn, "limits.timeout: must be at least 1s");
        return rc;
    }
    return cfg_unknown(c, kn, "limits", key, "body, depth, connections, threads, timeout");
}

static int cfg_log_level(cfg_ctx *c, yaml_node_t *vn, adm_config *cfg)
{
    for (int l = ADM_LOG_DEBUG; l <= ADM_LOG_ERROR; l++)
        if (vn->type == YAML_SCALAR_NODE &&
            strcmp(cfg_scalar(vn), adm__log_level_name((adm_log_level)l)) == 0) {
            cfg->log_level = (adm_log_level)l;
            return 0;
        }
    return cfg_fail(c, vn, "logLevel: expected debug, info, warn or error");
}

static int cfg_top_pair(cfg_ctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *ud)
{
    adm_config *cfg = ud;
    if (strcmp(key, "listen") == 0)
        return cfg_string(c, vn, "listen", &cfg->listen);
    if (strcmp(key, "tls") == 0)
        return cfg_map(c, vn, "tls", cfg_tls_pair, cfg);
    if (strcmp(key, "rules") == 0)
        return cfg_strings(c, vn, "rules", &cfg->rules);
    if (strcmp(key, "mode") == 0)
        return cfg_mode(c, vn, "mode", &cfg->mode, false);
    if (strcmp(key, "params") == 0)
        return cfg_params(c, vn, cfg);
    if (strcmp(key, "repo") == 0) {
        cfg->repo.enabled = true;
        return cfg_map(c, vn, "repo", cfg_repo_pair, cfg);
    }
    if (strcmp(key, "provenance") == 0)
        return cfg_map(c, vn, "provenance", cfg_provenance_pair, cfg);
    if (strcmp(key, "sealing") == 0)
        return cfg_map(c, vn, "sealing", cfg_sealing_pair, cfg);
    if (strcmp(key, "limits") == 0)
        return cfg_map(c, vn, "limits", cfg_limits_pair, cfg);
    if (strcmp(key, "logLevel") == 0)
        return cfg_log_level(c, vn, cfg);
    if (strcmp(key, "stateDir") == 0)
        return cfg_string(c, vn, "stateDir", &cfg->state_dir);
    return cfg_unknown(c, kn, "", key,
                       "listen, tls, rules, mode, params, repo, provenance, sealing, limits, "
                       "logLevel, stateDir");
}

/* Checks across keys, once the whole file is read. */
static int cfg_check(cfg_ctx *c, yaml_node_t *root, adm_config *cfg)
{
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
        return cfg_fail(c, root, "tls: cert and key go together (set both or neither)");
    if (cfg->listen != NULL) {
        const char *colon = strrchr(cfg->listen, ':');
        char *end;
        unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
        if (colon == NULL || colon == cfg->listen || colon[1] == '\0' || *end != '\0' ||
            port > 65535)
            return cfg_fail(c, root, "listen: '%s' is not HOST:PORT", cfg->listen);
    }
    if (cfg->repo.enabled) {
        if (cfg->repo.url == NULL)
            return cfg_fail(c, root, "repo.url: required when repo is set");
        if (cfg->repo.trust.count == 0)
            return cfg_fail(c, root, "repo.trust: at least one trust file is required");
        if (cfg->repo.since != NULL &&
            (cfg->repo.verify == NULL || strcmp(cfg->repo.verify, "chain") != 0))
            return cfg_fail(c, root, "repo.since: only meaningful with verify: chain");
    }
    if (cfg->repo.enabled && cfg->repo.branch == NULL &&
        (cfg->repo.branch = strdup("main")) == NULL)
        return util_error_set(c->err, UTIL_ENOMEM, "out of memory");
    if (cfg->repo.enabled && cfg->repo.verify == NULL &&
        (cfg->repo.verify = strdup("head")) == NULL)
        return util_error_set(c->err, UTIL_ENOMEM, "out of memory");
    return 0;
}

static int cfg_yaml_error(yaml_parser_t *p, const char *source, util_error *err)
{
    return util_error_at(err, UTIL_ESYNTAX, source, (unsigned)p->problem_mark.line + 1,
                         (unsigned)p->problem_mark.column + 1, "%s%s%s",
                         p->problem ? p->problem : "malformed YAML", p->context ? " " : "",
                         p->context ? p->context : "");
}

int adm_config_parse(adm_config *cfg, const char *source, const char *text, size_t len,
                     util_error *err)
{
    util_error_clear(err);
    if (len > LIMIT_CONFIG_FILE)
        return util_error_at(err, UTIL_ELIMIT, source, 0, 0, "configuration over %u bytes",
                             LIMIT_CONFIG_FILE);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = cfg_yaml_error(&parser, source, err);
        goto out_parser;
    }
    cfg_ctx c = {&doc, source, err, 0};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root != NULL) {
        rc = cfg_map(&c, root, "configuration", cfg_top_pair, cfg);
        if (rc == 0)
            rc = cfg_check(&c, root, cfg);
    }
    yaml_document_delete(&doc);
    if (rc == 0) {
        /* A second document is a mistake (a config pasted twice), not something to ignore. */
        if (!yaml_parser_load(&parser, &doc)) {
            rc = cfg_yaml_error(&parser, source, err);
        } else {
            yaml_node_t *extra = yaml_document_get_root_node(&doc);
            if (extra != NULL)
                rc = util_error_at(err, UTIL_EINVALID, source, (unsigned)extra->start_mark.line + 1,
                                   (unsigned)extra->start_mark.column + 1,
                                   "the configuration must be one YAML document");
            yaml_document_delete(&doc);
        }
    }
    if (rc == 0 && source != NULL) {
        free(cfg->source);
        cfg->source = strdup(source);
    }
out_parser:
    yaml_parser_delete(&parser);
    if (rc < 0 && err != NULL && err->source == NULL)
        err->source = source;
    return rc;
}
