/* bench_eval.c: median time to evaluate one object against a rule set (bench/policy/run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/pol.h"
#include "util/limits.h"

/* CPU time of this thread: on a shared machine, wall time measures the neighbours. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_eval RULES_DIR OBJECT [ROUNDS] [PER_ROUND]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 201, per = argc > 4 ? atoi(argv[4]) : 500;
    const char *paths[] = {argv[1]};
    pol_ruleset *rs;
    pol_diags *d = pol_diags_new();
    util_error err;
    util_buf text;
    util_manifest_set set;
    util_buf_init(&text);
    util_manifest_set_init(&set);
    if (pol_ruleset_load(&rs, paths, 1, NULL, d, &err) != 0) {
        pol_diags_print(stderr, d);
        return 2;
    }
    if (util_file_read(&text, argv[2], LIMIT_MANIFEST_FILE, &err) != 0 ||
        util_manifest_parse(&set, argv[2], text.data, text.len, 0, &err) != 0 || set.count != 1) {
        util_error_print(stderr, &err, text.data, text.len);
        return 2;
    }
    json_t *obj = set.docs[0].value, *req = pol_request_new(obj, "CREATE", "ci", NULL);
    pol_input in = {.object = obj, .request = req};
    util_arena arena;
    util_arena_init(&arena, 64 * 1024);
    pol_result res;
    uint64_t *t = calloc((size_t)rounds, sizeof(*t)), *w = calloc((size_t)rounds, sizeof(*w));
    size_t findings = 0;
    for (int i = 0; i < 2000; i++) { /* warm up */
        util_arena_reset(&arena);
        if (pol_eval(&res, rs, &in, POL_MODE_ENFORCE, &arena, &err) != 0)
            return 2;
    }
    for (int r = 0; r < rounds; r++) {
        uint64_t t0 = cpu_ns(), w0 = util_now_ns();
        for (int i = 0; i < per; i++) {
            util_arena_reset(&arena);
            if (pol_eval(&res, rs, &in, POL_MODE_ENFORCE, &arena, &err) != 0)
                return 2;
        }
        t[r] = (cpu_ns() - t0) / (uint64_t)per;
        w[r] = (util_now_ns() - w0) / (uint64_t)per;
        findings = res.count;
    }
    qsort(t, (size_t)rounds, sizeof(*t), cmp_u64);
    qsort(w, (size_t)rounds, sizeof(*w), cmp_u64);
    printf("{\"median_cpu_ns\": %llu, \"p10_cpu_ns\": %llu, \"p90_cpu_ns\": %llu, "
           "\"median_wall_ns\": %llu, \"rules\": %zu, \"findings\": %zu, \"objects\": %d}\n",
           (unsigned long long)t[rounds / 2], (unsigned long long)t[rounds / 10],
           (unsigned long long)t[rounds * 9 / 10], (unsigned long long)w[rounds / 2],
           pol_ruleset_count(rs), findings, rounds * per);
    for (size_t i = 0; getenv("BENCH_VERBOSE") && i < res.count; i++)
        fprintf(stderr, "%s %s %s: %s\n", pol_action_name(res.findings[i].action),
                res.findings[i].rule_id, res.findings[i].path, res.findings[i].message);
    free(t);
    free(w);
    json_decref(req);
    util_arena_release(&arena);
    util_manifest_set_release(&set);
    util_buf_release(&text);
    pol_ruleset_decref(rs);
    pol_diags_free(d);
    return 0;
}
