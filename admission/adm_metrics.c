/* adm_metrics.c: the /metrics page in the Prometheus text format. Fixed label sets are
 * atomic counters; denials by rule (an open set) sit in a small table under a lock, which
 * only denials take. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "admission/adm.h"
#include "util/banned.h"

/* Latency buckets in seconds: admission answers are expected in well under a millisecond. */
static const double metrics_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                         0.01,   0.025,   0.05,   0.1,   0.5,    1.0};
#define NBUCKETS (sizeof metrics_buckets / sizeof metrics_buckets[0])
static const char *const metrics_ops[] = {"CREATE", "UPDATE", "DELETE", "CONNECT", "unknown"};
#define NOPS (sizeof metrics_ops / sizeof metrics_ops[0])
static const char *const metrics_eps[] = {"validate", "mutate"};
static const char *const metrics_verdicts[] = {"allowed", "denied", "warned", "error"};
/* Distinct rule ids tracked; beyond, denials count under "other" (bounded memory). */
#define MAX_RULES 512

typedef struct metrics_rule {
    char *id;
    uint64_t count;
} metrics_rule;

struct adm__metrics {
    atomic_uint_least64_t requests[ADM__EP_COUNT][NOPS][ADM__V_COUNT];
    atomic_uint_least64_t buckets[ADM__EP_COUNT][NBUCKETS + 1]; /* last: +Inf */
    atomic_uint_least64_t latency_ns_sum[ADM__EP_COUNT];
    atomic_uint_least64_t rule_loads, rule_load_failures, tls_reloads, tls_reload_failures;
    atomic_uint_least64_t rule_load_ns, rules_loaded;
    atomic_uint_least64_t key_reloads, key_reload_failures, keys_loaded;
    atomic_int_least64_t keys_loaded_at; /* unix time; 0: never */
    pthread_mutex_t lock;                /* guards rules */
    metrics_rule rules[MAX_RULES];
    size_t nrules;
    uint64_t other_denials;
};

adm__metrics *adm__metrics_new(void)
{
    adm__metrics *m = calloc(1, sizeof *m);
    if (m != NULL)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

void adm__metrics_free(adm__metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nrules; i++)
        free(m->rules[i].id);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static size_t metrics_op_index(const char *op)
{
    for (size_t i = 0; op != NULL && i < NOPS - 1; i++)
        if (strcmp(op, metrics_ops[i]) == 0)
            return i;
    return NOPS - 1;
}

void adm__metrics_request(adm__metrics *m, int endpoint, const char *op, int verdict,
                          uint64_t latency_ns)
{
    atomic_fetch_add(&m->requests[endpoint][metrics_op_index(op)][verdict], 1);
    double secs = (double)latency_ns / 1e9;
    size_t b = 0;
    while (b < NBUCKETS && secs > metrics_buckets[b])
        b++;
    atomic_fetch_add(&m->buckets[endpoint][b], 1);
    atomic_fetch_add(&m->latency_ns_sum[endpoint], latency_ns);
}

void adm__metrics_denial(adm__metrics *m, const char *rule)
{
    pthread_mutex_lock(&m->lock);
    size_t i;
    for (i = 0; i < m->nrules; i++)
        if (strcmp(m->rules[i].id, rule) == 0)
            break;
    if (i == m->nrules && m->nrules < MAX_RULES && (m->rules[i].id = strdup(rule)) != NULL)
        m->nrules++;
    if (i < m->nrules)
        m->rules[i].count++;
    else
        m->other_denials++;
    pthread_mutex_unlock(&m->lock);
}

void adm__metrics_rules_load(adm__metrics *m, bool ok, uint64_t duration_ns, size_t rules)
{
    atomic_fetch_add(ok ? &m->rule_loads : &m->rule_load_failures, 1);
    if (ok) {
        atomic_store(&m->rule_load_ns, duration_ns);
        atomic_store(&m->rules_loaded, rules);
    }
}

void adm__metrics_tls_reload(adm__metrics *m, bool ok)
{
    atomic_fetch_add(ok ? &m->tls_reloads : &m->tls_reload_failures, 1);
}

void adm__metrics_keys_load(adm__metrics *m, bool ok, bool reload, size_t keys, int64_t at)
{
    if (!ok) {
        atomic_fetch_add(&m->key_reload_failures, 1);
        return;
    }
    if (reload)
        atomic_fetch_add(&m->key_reloads, 1);
    atomic_store(&m->keys_loaded, keys);
    atomic_store(&m->keys_loaded_at, at);
}

/* The sealing keyring: how many keys, since when, and how its reloads went. Timestamps rather
 * than ages, as for the config repo, so alerts compute `time() - x`. */
static int metrics_render_keys(adm__metrics *m, util_buf *o)
{
    return util_buf_printf(
        o,
        "# HELP sealgate_sealing_keys_loaded Sealing private keys in force.\n"
        "# TYPE sealgate_sealing_keys_loaded gauge\nsealgate_sealing_keys_loaded %llu\n"
        "# HELP sealgate_sealing_keys_last_reload_timestamp_seconds When the keys in force were "
        "loaded (unix time; 0: none).\n"
        "# TYPE sealgate_sealing_keys_last_reload_timestamp_seconds gauge\n"
        "sealgate_sealing_keys_last_reload_timestamp_seconds %lld\n"
        "# HELP sealgate_sealing_keys_reloads_total Sealing keyrings reloaded and put in force.\n"
        "# TYPE sealgate_sealing_keys_reloads_total counter\n"
        "sealgate_sealing_keys_reloads_total %llu\n"
        "# HELP sealgate_sealing_keys_reload_failures_total Sealing key reloads that failed (the "
        "old keys stayed).\n"
        "# TYPE sealgate_sealing_keys_reload_failures_total counter\n"
        "sealgate_sealing_keys_reload_failures_total %llu\n",
        (unsigned long long)atomic_load(&m->keys_loaded),
        (long long)atomic_load(&m->keys_loaded_at),
        (unsigned long long)atomic_load(&m->key_reloads),
        (unsigned long long)atomic_load(&m->key_reload_failures));
}

/* A rule id as a label value: backslash, quote and newline escaped. */
static int metrics_label(util_buf *out, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        if (*s == '\\' || *s == '"')
            rc = util_buf_printf(out, "\\%c", *s);
        else if (*s == '\n')
            rc = util_buf_puts(out, "\\n");
        else
            rc = util_buf_append(out, s, 1);
    }
    return rc;
}

static int metrics_render_requests(adm__metrics *m, util_buf *o)
{
    int rc = util_buf_puts(o, "# HELP sealgate_requests_total Admission requests answered.\n"
                              "# TYPE sealgate_requests_total counter\n");
    for (int e = 0; e < ADM__EP_COUNT; e++)
        for (size_t op = 0; op < NOPS; op++)
            for (int v = 0; v < ADM__V_COUNT; v++) {
                uint64_t n = atomic_load(&m->requests[e][op][v]);
                if (n == 0 && !(op == 0 && v == 0))
                    continue; /* keep the page short; one zero series per endpoint */
                if (rc == 0)
                    rc = util_buf_printf(o,
                                         "sealgate_requests_total{endpoint=\"%s\",operation=\"%s\","
                                         "verdict=\"%s\"} %llu\n",
                                         metrics_eps[e], metrics_ops[op], metrics_verdicts[v],
                                         (unsigned long long)n);
            }
    return rc;
}

static int metrics_render_latency(adm__metrics *m, util_buf *o)
{
    int rc = util_buf_puts(o, "# HELP sealgate_request_duration_seconds Time from the last "
                              "body byte to the answer.\n"
                              "# TYPE sealgate_request_duration_seconds histogram\n");
    for (int e = 0; e < ADM__EP_COUNT && rc == 0; e++) {
        uint64_t cum = 0;
        for (size_t b = 0; b <= NBUCKETS && rc == 0; b++) {
            cum += atomic_load(&m->buckets[e][b]);
            if (b < NBUCKETS)
                rc = util_buf_printf(o,
                                     "sealgate_request_duration_seconds_bucket{endpoint=\"%s\","
                                     "le=\"%g\"} %llu\n",
                                     metrics_eps[e], metrics_buckets[b], (unsigned long long)cum);
            else
                rc = util_buf_printf(o,
                                     "sealgate_request_duration_seconds_bucket{endpoint=\"%s\","
                                     "le=\"+Inf\"} %llu\n"
                                     "sealgate_request_duration_seconds_sum{endpoint=\"%s\"} %.9f\n"
                                     "sealgate_request_duration_seconds_count{endpoint=\"%s\"} "
                                     "%llu\n",
                                     metrics_eps[e], (unsigned long long)cum, metrics_eps[e],
                                     (double)atomic_load(&m->latency_ns_sum[e]) / 1e9,
                                     metrics_eps[e], (unsigned long long)cum);
        }
    }
    return rc;
}

static int metrics_render_denials(adm__metrics *m, util_buf *o)
{
    int rc = util_buf_puts(o, "# HELP sealgate_denials_total Failed deny rules, by rule.\n"
                              "# TYPE sealgate_denials_total counter\n");
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nrules && rc == 0; i++) {
        rc = util_buf_puts(o, "sealgate_denials_total{rule=\"");
        if (rc == 0)
            rc = metrics_label(o, m->rules[i].id);
        if (rc == 0)
            rc = util_buf_printf(o, "\"} %llu\n", (unsigned long long)m->rules[i].count);
    }
    if (rc == 0 && m->other_denials)
        rc = util_buf_printf(o, "sealgate_denials_total{rule=\"other\"} %llu\n",
                             (unsigned long long)m->other_denials);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int adm__metrics_render(adm__metrics *m, util_buf *o)
{
    int rc = metrics_render_requests(m, o);
    if (rc == 0)
        rc = metrics_render_latency(m, o);
    if (rc == 0)
        rc = metrics_render_denials(m, o);
    if (rc == 0)
        rc = metrics_render_keys(m, o);
    if (rc == 0)
        rc = util_buf_printf(
            o,
            "# HELP sealgate_rules_loaded Rules in the set in force.\n"
            "# TYPE sealgate_rules_loaded gauge\nsealgate_rules_loaded %llu\n"
            "# HELP sealgate_rules_load_seconds Time the last good rule-set load took.\n"
            "# TYPE sealgate_rules_load_seconds gauge\nsealgate_rules_load_seconds %.6f\n"
            "# HELP sealgate_rules_loads_total Rule sets compiled and put in force.\n"
            "# TYPE sealgate_rules_loads_total counter\nsealgate_rules_loads_total %llu\n"
            "# HELP sealgate_rules_load_failures_total Rule-set loads that failed (the old set "
            "stayed).\n"
            "# TYPE sealgate_rules_load_failures_total counter\n"
            "sealgate_rules_load_failures_total %llu\n"
            "# HELP sealgate_tls_reloads_total Certificate reloads.\n"
            "# TYPE sealgate_tls_reloads_total counter\n"
            "sealgate_tls_reloads_total{result=\"ok\"} %llu\n"
            "sealgate_tls_reloads_total{result=\"failed\"} %llu\n"
            "# HELP sealgate_build_info Build of this server.\n"
            "# TYPE sealgate_build_info gauge\nsealgate_build_info{version=\"%s\"} 1\n",
            (unsigned long long)atomic_load(&m->rules_loaded),
            (double)atomic_load(&m->rule_load_ns) / 1e9,
            (unsigned long long)atomic_load(&m->rule_loads),
            (unsigned long long)atomic_load(&m->rule_load_failures),
            (unsigned long long)atomic_load(&m->tls_reloads),
            (unsigned long long)atomic_load(&m->tls_reload_failures), SEALGATE_VERSION);
    return rc;
}
