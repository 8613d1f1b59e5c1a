/* pol_eval.c: evaluating a compiled rule set against one object. Facts every rule needs
 * (kind, namespace, operation, the pod spec and its containers) are worked out once per
 * object; rules that cannot match the object's kind are never looked at; every value and
 * finding comes from the caller's arena. */
#include "policy/pol_int.h"

#include <ctype.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Facts about the object under evaluation, shared by all rules. */
typedef struct obj_facts {
    const char *group, *kind, *ns, *op, *user;
    const json_t *groups, *labels, *annotations;
    char groupbuf[256]; /* the group of the object's apiVersion */
} obj_facts;

static pol_value ev(pol_ctx *c, const pol_node *n);

static void *ctx_alloc(pol_ctx *c, size_t size)
{
    void *p = util_arena_alloc(c->arena, size ? size : 1);
    if (!p) {
        c->oom = true;
        c->over = true; /* stops the evaluation the same way */
    }
    return p;
}

/* ---- the pod view --------------------------------------------------------------------- */

static const json_t *jpath2(const json_t *o, const char *a, const char *b)
{
    o = json_object_get(o, a);
    return b ? json_object_get(o, b) : o;
}

/* Where the pod spec lives for a kind: Pods at spec, workloads at spec.template, CronJobs at
 * spec.jobTemplate.spec.template. */
static void find_pod(pol_ctx *c, const json_t *obj, const char *kind)
{
    static const char *const templated[] = {"Deployment", "StatefulSet",           "DaemonSet",
                                            "ReplicaSet", "ReplicationController", "Job"};
    const json_t *spec = NULL, *meta = NULL;
    if (!obj || !kind)
        return;
    if (strcmp(kind, "Pod") == 0) {
        spec = json_object_get(obj, "spec");
        meta = json_object_get(obj, "metadata");
        c->pod_prefix = "spec";
        c->pod_meta_prefix = "metadata";
    } else if (strcmp(kind, "CronJob") == 0) {
        const json_t *t = jpath2(jpath2(obj, "spec", "jobTemplate"), "spec", "template");
        spec = json_object_get(t, "spec");
        meta = json_object_get(t, "metadata");
        c->pod_prefix = "spec.jobTemplate.spec.template.spec";
        c->pod_meta_prefix = "spec.jobTemplate.spec.template.metadata";
    } else {
        for (size_t i = 0; i < sizeof(templated) / sizeof(templated[0]); i++) {
            if (strcmp(kind, templated[i]) == 0) {
                const json_t *t = jpath2(obj, "spec", "template");
                spec = json_object_get(t, "spec");
                meta = json_object_get(t, "metadata");
                c->pod_prefix = "spec.template.spec";
                c->pod_meta_prefix = "spec.template.metadata";
            }
        }
    }
    if (!c->pod_prefix)
        return;
    c->pod_ok = true;
    c->roots[R_POD] = pv_from_json(spec);
    c->roots[R_POD_META] = pv_from_json(meta);
    c->roots[R_POD_ALL] = (pol_value){.t = PV_NULL, .b = true}; /* b: not built yet */
}

static const char *const container_fields[3] = {"containers", "initContainers",
                                                "ephemeralContainers"};

/* pod.allContainers, built on first use and shared by every rule. */
static pol_value all_containers(pol_ctx *c)
{
    pol_value *v = &c->roots[R_POD_ALL];
    if (v->t != PV_NULL || !v->b)
        return *v;
    v->b = false;
    const json_t *spec = c->roots[R_POD].t == PV_JSON ? c->roots[R_POD].u.j : NULL;
    size_t total = 0;
    for (int s = 0; s < 3; s++) {
        const json_t *a = json_object_get(spec, container_fields[s]);
        c->seg[s] = json_is_array(a) ? json_array_size(a) : 0;
        total += c->seg[s];
    }
    pol_value *items = ctx_alloc(c, total * sizeof(*items));
    if (!items)
        return pv_null();
    size_t k = 0;
    for (int s = 0; s < 3; s++) {
        const json_t *a = json_object_get(spec, container_fields[s]);
        for (size_t i = 0; i < c->seg[s]; i++)
            items[k++] = pv_from_json(json_array_get(a, i));
    }
    *v = (pol_value){.t = PV_LIST, .len = (uint32_t)total, .u.items = items};
    return *v;
}

/* ---- operators ------------------------------------------------------------------------ */

static pol_value concat(pol_ctx *c, pol_value a, pol_value b)
{
    if (a.t == PV_STR && b.t == PV_STR) {
        char *s = ctx_alloc(c, (size_t)a.len + b.len + 1);
        if (!s)
            return pv_null();
        memcpy(s, a.u.s, a.len);
        memcpy(s + a.len, b.u.s, b.len);
        s[a.len + b.len] = '\0';
        return pv_str(s, (size_t)a.len + b.len);
    }
    if (pv_is_list(a) && pv_is_list(b)) {
        size_t na = pv_len(a), nb = pv_len(b);
        c->steps += na + nb;
        pol_value *items = ctx_alloc(c, (na + nb) * sizeof(*items));
        if (!items)
            return pv_null();
        for (size_t i = 0; i < na; i++)
            items[i] = pv_at(a, i);
        for (size_t i = 0; i < nb; i++)
            items[na + i] = pv_at(b, i);
        return (pol_value){.t = PV_LIST, .len = (uint32_t)(na + nb), .u.items = items};
    }
    return pv_null();
}

static pol_value arith(pol_ctx *c, int op, pol_value a, pol_value b)
{
    if (op == '+' && !(a.t == PV_NUM && b.t == PV_NUM))
        return concat(c, a, b);
    if (a.t != PV_NUM || b.t != PV_NUM)
        return pv_null();
    double x = a.u.n, y = b.u.n;
    switch (op) {
    case '+':
        return pv_num(x + y);
    case '-':
        return pv_num(x - y);
    case '*':
        return pv_num(x * y);
    case '/':
        return y == 0 ? pv_null() : pv_num(x / y);
    case '%':
        return y == 0 ? pv_null() : pv_num(fmod(x, y));
    default:
        return pv_null();
    }
}

static bool contains_str(pol_value hay, pol_value needle)
{
    if (needle.len == 0)
        return true;
    if (needle.len > hay.len)
        return false;
    return pol_memmem(hay.u.s, hay.len, needle.u.s, needle.len) != NULL;
}

bool pol_eval__in(pol_ctx *c, pol_value x, pol_value coll)
{
    if (pv_is_list(coll)) {
        size_t n = pv_len(coll);
        if (c)
            c->steps += n;
        for (size_t i = 0; i < n; i++)
            if (pv_equal(x, pv_at(coll, i)))
                return true;
        return false;
    }
    if (pv_is_map(coll))
        return x.t == PV_STR && pv_get(coll, x.u.s, x.len).t != PV_NULL;
    if (coll.t == PV_STR && x.t == PV_STR)
        return contains_str(coll, x);
    return false;
}

static bool regex_match(pol_ctx *c, const pol_node *n, pol_value s)
{
    if (s.t != PV_STR || strlen(s.u.s) != s.len)
        return false;
    if (n->u.m.re)
        return regexec(n->u.m.re, s.u.s, 0, NULL, 0) == 0;
    /* A pattern known only now (a variable): compiled for this use; a bad one never matches. */
    pol_value pat = ev(c, n->u.m.pat);
    if (pat.t != PV_STR || pat.len > LIMIT_REGEX_SOURCE || strlen(pat.u.s) != pat.len)
        return false;
    regex_t re;
    if (regcomp(&re, pat.u.s, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, s.u.s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* ---- quantifiers ---------------------------------------------------------------------- */

/* Walk src binding the node's variables, calling body for each element; stop when fn says
 * so. Returns whether it stopped early. */
typedef bool (*elem_fn)(pol_ctx *c, const pol_node *n, void *arg);

static bool each(pol_ctx *c, const pol_node *n, pol_value src, elem_fn fn, void *arg)
{
    if (pv_is_list(src)) {
        size_t len = pv_len(src);
        for (size_t i = 0; i < len && !c->over; i++) {
            if (++c->steps > LIMIT_RULE_STEPS) {
                c->over = true;
                break;
            }
            if (n->u.q.slot_k >= 0)
                c->slots[n->u.q.slot_k] = pv_num((double)i);
            c->slots[n->u.q.slot_v] = pv_at(src, i);
            if (fn(c, n, arg))
                return true;
        }
    } else if (pv_is_map(src)) {
        pol_map_iter it;
        pol_value k, v;
        pv_map_iter_init(&it, src);
        while (!c->over && pv_map_iter_next(&it, &k, &v)) {
            if (++c->steps > LIMIT_RULE_STEPS) {
                c->over = true;
                break;
            }
            if (n->u.q.slot_k >= 0) {
                c->slots[n->u.q.slot_k] = k;
                c->slots[n->u.q.slot_v] = v;
            } else {
                c->slots[n->u.q.slot_v] = k;
            }
            if (fn(c, n, arg))
                return true;
        }
    }
    return false;
}

static bool body_true(pol_ctx *c, const pol_node *n, void *arg)
{
    return pv_truthy(ev(c, n->u.q.body));
}

static bool body_false(pol_ctx *c, const pol_node *n, void *arg)
{
    return !pv_truthy(ev(c, n->u.q.body));
}

typedef struct compr_acc {
    pol_value *items;
    size_t n;
} compr_acc;

static bool compr_elem(pol_ctx *c, const pol_node *n, void *arg)
{
    compr_acc *acc = arg;
    if (n->u.q.filter && !pv_truthy(ev(c, n->u.q.filter)))
        return false;
    acc->items[acc->n++] = ev(c, n->u.q.body);
    return false;
}

static pol_value comprehension(pol_ctx *c, const pol_node *n)
{
    pol_value src = ev(c, n->u.q.src);
    compr_acc acc = {NULL, 0};
    size_t len = pv_is_list(src) || pv_is_map(src) ? pv_len(src) : 0;
    acc.items = ctx_alloc(c, len * sizeof(pol_value));
    if (!acc.items)
        return pv_null();
    each(c, n, src, compr_elem, &acc);
    return (pol_value){.t = PV_LIST, .len = (uint32_t)acc.n, .u.items = acc.items};
}

/* ---- the evaluator -------------------------------------------------------------------- */

static pol_value ev_list(pol_ctx *c, const pol_node *n)
{
    pol_value *items = ctx_alloc(c, n->u.list.n * sizeof(*items));
    if (!items)
        return pv_null();
    for (size_t i = 0; i < n->u.list.n; i++)
        items[i] = ev(c, n->u.list.items[i]);
    return (pol_value){.t = PV_LIST, .len = (uint32_t)n->u.list.n, .u.items = items};
}

static pol_value ev_map(pol_ctx *c, const pol_node *n)
{
    pol_map *m = ctx_alloc(c, sizeof(*m));
    pol_value *kv = ctx_alloc(c, 2 * n->u.list.n * sizeof(*kv));
    if (!m || !kv)
        return pv_null();
    m->n = n->u.list.n;
    m->keys = kv;
    m->vals = kv + m->n;
    for (size_t i = 0; i < m->n; i++) {
        m->keys[i] = ev(c, n->u.list.keys[i]);
        m->vals[i] = ev(c, n->u.list.items[i]);
    }
    return (pol_value){.t = PV_MAP, .u.m = m};
}

static pol_value ev_index(pol_ctx *c, const pol_node *n)
{
    pol_value v = ev(c, n->u.x.a), i = ev(c, n->u.x.b);
    if (i.t == PV_NUM && pv_is_list(v)) {
        if (i.u.n < 0 || i.u.n != floor(i.u.n))
            return pv_null();
        return pv_at(v, (size_t)i.u.n);
    }
    if (i.t == PV_STR && pv_is_map(v))
        return pv_get(v, i.u.s, i.len);
    return pv_null();
}

static pol_value ev_cmp(pol_ctx *c, const pol_node *n)
{
    pol_value a = ev(c, n->u.x.a), b = ev(c, n->u.x.b);
    if (n->op == T_EQ)
        return pv_bool(pv_equal(a, b));
    if (n->op == T_NE)
        return pv_bool(!pv_equal(a, b));
    int r = pv_compare(a, b);
    if (r == 2)
        return pv_bool(false);
    switch (n->op) {
    case T_LT:
        return pv_bool(r < 0);
    case T_LE:
        return pv_bool(r <= 0);
    case T_GT:
        return pv_bool(r > 0);
    default:
        return pv_bool(r >= 0);
    }
}

static pol_value ev_call(pol_ctx *c, const pol_node *n)
{
    pol_value args[4];
    size_t na = n->u.call.n > 4 ? 4 : n->u.call.n;
    for (size_t i = 0; i < na; i++)
        args[i] = ev(c, n->u.call.args[i]);
    const pol_builtin *b = pol_builtin__get(n->u.call.fn);
    return b ? b->fn(c, args, na) : pv_null();
}

static pol_value field(pol_ctx *c, pol_value v, const pol_node *n)
{
    if (v.t != PV_JSON || !json_is_object(v.u.j))
        return pv_get(v, n->u.field.name, n->u.field.len);
    uintptr_t h = ((uintptr_t)v.u.j >> 4) ^ ((uintptr_t)n->u.field.name >> 3);
    h = (h ^ (h >> 8)) & 255;
    if (c->fields[h].obj == v.u.j && c->fields[h].name == n->u.field.name)
        return pv_from_json(c->fields[h].val);
    const json_t *r = json_object_getn(v.u.j, n->u.field.name, n->u.field.len);
    c->fields[h].obj = v.u.j;
    c->fields[h].name = n->u.field.name;
    c->fields[h].val = r;
    return pv_from_json(r);
}

static pol_value ev(pol_ctx *c, const pol_node *n)
{
    if (c->over || !n)
        return pv_null();
    if (++c->steps > LIMIT_RULE_STEPS) {
        c->over = true;
        return pv_null();
    }
    switch ((pol_node_kind)n->kind) {
    case N_CONST:
        return n->u.k;
    case N_ROOT:
        if (n->u.root == R_POD_ALL)
            return c->pod_ok ? all_containers(c) : pv_null();
        return c->roots[n->u.root];
    case N_LOCAL: {
        pol_value *v = &c->slots[n->u.slot];
        if (v->t == PV_NULL && v->b) { /* a let not evaluated yet */
            *v = pv_null();
            *v = ev(c, c->rule->slot_let[n->u.slot]);
        }
        return *v;
    }
    case N_PARAM:
        return pv_null(); /* resolved at load; never reached */
    case N_FIELD:
        return field(c, ev(c, n->u.field.obj), n);
    case N_INDEX:
        return ev_index(c, n);
    case N_LIST:
        return ev_list(c, n);
    case N_MAP:
        return ev_map(c, n);
    case N_NOT:
        return pv_bool(!pv_truthy(ev(c, n->u.x.a)));
    case N_NEG: {
        pol_value v = ev(c, n->u.x.a);
        return v.t == PV_NUM ? pv_num(-v.u.n) : pv_null();
    }
    case N_AND:
        for (size_t i = 0; i < n->u.list.n; i++)
            if (!pv_truthy(ev(c, n->u.list.items[i])))
                return pv_bool(false);
        return pv_bool(true);
    case N_OR:
        for (size_t i = 0; i < n->u.list.n; i++)
            if (pv_truthy(ev(c, n->u.list.items[i])))
                return pv_bool(true);
        return pv_bool(false);
    case N_DEFAULT: {
        pol_value v = ev(c, n->u.x.a);
        return v.t == PV_NULL ? ev(c, n->u.x.b) : v;
    }
    case N_CMP:
        return ev_cmp(c, n);
    case N_IN:
    case N_NOTIN: {
        pol_value x = ev(c, n->u.x.a), coll = ev(c, n->u.x.b);
        bool in = pol_eval__in(c, x, coll);
        return pv_bool(n->kind == N_IN ? in : !in);
    }
    case N_MATCHES:
        return pv_bool(regex_match(c, n, ev(c, n->u.m.subj)));
    case N_LIKE: {
        pol_value s = ev(c, n->u.x.a), pat = ev(c, n->u.x.b);
        if (s.t != PV_STR || pat.t != PV_STR)
            return pv_bool(false);
        return pv_bool(util_glob_match(pat.u.s, s.u.s));
    }
    case N_ARITH:
        return arith(c, n->op, ev(c, n->u.x.a), ev(c, n->u.x.b));
    case N_IF:
        return pv_truthy(ev(c, n->u.x.a)) ? ev(c, n->u.x.b) : ev(c, n->u.x.c);
    case N_SOME:
        return pv_bool(each(c, n, ev(c, n->u.q.src), body_true, NULL));
    case N_ALL:
        return pv_bool(!each(c, n, ev(c, n->u.q.src), body_false, NULL));
    case N_COMPR:
        return comprehension(c, n);
    case N_CALL:
        return ev_call(c, n);
    }
    return pv_null();
}

/* ---- matching ------------------------------------------------------------------------- */

static bool glob_any(const pol_match *m, const char *s)
{
    for (size_t i = 0; i < m->n; i++)
        if (util_glob_match(m->vals[i].a, s ? s : ""))
            return true;
    return false;
}

static bool selector_holds(const pol_mval *mv, const json_t *map)
{
    const json_t *v = json_object_get(map, mv->a);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    switch (mv->op) {
    case SEL_EXISTS:
        return v != NULL;
    case SEL_NOTEXISTS:
        return v == NULL;
    case SEL_EQ:
    case SEL_IN:
        for (size_t i = 0; s && i < mv->nvals; i++)
            if (strcmp(s, mv->vals[i]) == 0)
                return true;
        return false;
    default: /* SEL_NE, SEL_NOTIN: as Kubernetes, a missing label satisfies them */
        for (size_t i = 0; s && i < mv->nvals; i++)
            if (strcmp(s, mv->vals[i]) == 0)
                return false;
        return true;
    }
}

static bool clause_holds(const pol_match *m, const obj_facts *f, bool pod_rule)
{
    switch (m->subject) {
    case M_KIND:
        for (size_t i = 0; i < m->n; i++) {
            const pol_mval *mv = &m->vals[i];
            if (pod_rule && strcmp(mv->a, "Pod") == 0 && !m->exclude) {
                static const char *const kinds[] = {"Pod",         "Deployment",
                                                    "StatefulSet", "DaemonSet",
                                                    "ReplicaSet",  "ReplicationController",
                                                    "Job",         "CronJob"};
                for (int k = 0; k < 8; k++)
                    if (f->kind && strcmp(f->kind, kinds[k]) == 0)
                        return true;
                continue;
            }
            if (mv->group && strcmp(mv->group, "*") != 0 &&
                strcmp(mv->group, f->group ? f->group : "") != 0)
                continue;
            if (util_glob_match(mv->a, f->kind ? f->kind : ""))
                return true;
        }
        return false;
    case M_NAMESPACE:
        return glob_any(m, f->ns);
    case M_OPERATION:
        return glob_any(m, f->op);
    case M_USER:
        return glob_any(m, f->user);
    case M_GROUP:
        for (size_t i = 0; i < json_array_size(f->groups); i++) {
            const char *g = json_string_value(json_array_get(f->groups, i));
            if (g && glob_any(m, g))
                return true;
        }
        return false;
    case M_LABEL:
    case M_ANNOTATION:
        for (size_t i = 0; i < m->n; i++)
            if (!selector_holds(&m->vals[i], m->subject == M_LABEL ? f->labels : f->annotations))
                return false;
        return true;
    default:
        return false;
    }
}

static bool rule_applies(const pol_rule *r, const obj_facts *f)
{
    bool op_named = false;
    for (size_t i = 0; i < r->nmatches; i++) {
        const pol_match *m = &r->matches[i];
        if (m->subject == M_OPERATION && !m->exclude)
            op_named = true;
        if (clause_holds(m, f, r->pod_rule) == m->exclude)
            return false;
    }
    /* Without `match operation`, rules look at CREATE and UPDATE. */
    if (!op_named && f->op && strcmp(f->op, "CREATE") != 0 && strcmp(f->op, "UPDATE") != 0)
        return false;
    return true;
}

static void gather_facts(obj_facts *f, pol_ctx *c, const pol_input *in)
{
    const json_t *obj = in->object && json_is_object(in->object) ? in->object : in->old_object;
    const json_t *req = in->request, *meta = json_object_get(obj, "metadata");
    const json_t *rk = json_object_get(req, "kind");
    char *group = f->groupbuf;
    memset(f, 0, offsetof(obj_facts, groupbuf));
    f->kind = util_json_str(rk, "kind");
    f->group = util_json_str(rk, "group");
    if (!f->kind) {
        f->kind = util_json_str(obj, "kind");
        const char *av = util_json_str(obj, "apiVersion");
        const char *slash = av ? strchr(av, '/') : NULL;
        if (slash && (size_t)(slash - av) < sizeof(f->groupbuf)) {
            memcpy(group, av, (size_t)(slash - av));
            group[slash - av] = '\0';
            f->group = group;
        } else {
            f->group = "";
        }
    }
    f->ns = util_json_str(req, "namespace");
    if (!f->ns)
        f->ns = util_json_str(meta, "namespace");
    if (!f->ns)
        f->ns = "";
    f->op = util_json_str(req, "operation");
    if (!f->op)
        f->op = "CREATE";
    const json_t *ui = json_object_get(req, "userInfo");
    f->user = util_json_str(ui, "username");
    f->groups = json_object_get(ui, "groups");
    f->labels = json_object_get(meta, "labels");
    f->annotations = json_object_get(meta, "annotations");
    find_pod(c, obj, f->kind);
}

/* ---- findings ------------------------------------------------------------------------- */

typedef struct findings {
    pol_finding *items;
    size_t n, cap;
} findings;

static pol_finding *add_finding(pol_ctx *c, findings *fs)
{
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? 2 * fs->cap : 8;
        pol_finding *a = ctx_alloc(c, cap * sizeof(*a));
        if (!a)
            return NULL;
        if (fs->n)
            memcpy(a, fs->items, fs->n * sizeof(*a));
        fs->items = a;
        fs->cap = cap;
    }
    return &fs->items[fs->n++];
}

static size_t path_step(char *buf, size_t len, size_t cap, const char *name, size_t nlen)
{
    bool plain = nlen > 0;
    for (size_t i = 0; i < nlen; i++)
        if (!(isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-'))
            plain = false;
    int k;
    if (plain)
        k = snprintf(buf + len, cap - len, "%s%.*s", len ? "." : "", (int)nlen, name);
    else
        k = snprintf(buf + len, cap - len, "[\"%.*s\"]", (int)nlen, name);
    if (k < 0 || (size_t)k >= cap - len)
        return cap;
    return len + (size_t)k;
}

static size_t path_index(char *buf, size_t len, size_t cap, size_t i)
{
    int k = snprintf(buf + len, cap - len, "[%zu]", i);
    if (k < 0 || (size_t)k >= cap - len)
        return cap;
    return len + (size_t)k;
}

static size_t path_root(char *buf, size_t cap, const char *root)
{
    int k = snprintf(buf, cap, "%s", root);
    return k < 0 || (size_t)k >= cap ? cap : (size_t)k;
}

/* The path of the value expression n yields, when it is a path into the object: written into
 * buf, returns its length, or cap when n is not such a path. */
static size_t path_of(pol_ctx *c, const pol_rule *r, const pol_node *n, char *buf, size_t cap,
                      int hops)
{
    if (!n || hops > 8)
        return cap;
    switch (n->kind) {
    case N_ROOT:
        switch (n->u.root) {
        case R_OBJECT:
            buf[0] = '\0';
            return 0;
        case R_POD:
            return c->pod_ok ? path_root(buf, cap, c->pod_prefix) : cap;
        case R_POD_META:
            return c->pod_ok ? path_root(buf, cap, c->pod_meta_prefix) : cap;
        default:
            return cap;
        }
    case N_FIELD: {
        size_t len = path_of(c, r, n->u.field.obj, buf, cap, hops);
        return len >= cap ? cap : path_step(buf, len, cap, n->u.field.name, n->u.field.len);
    }
    case N_INDEX: {
        size_t len = path_of(c, r, n->u.x.a, buf, cap, hops);
        if (len >= cap)
            return cap;
        pol_value i = ev(c, n->u.x.b);
        if (i.t == PV_NUM && i.u.n >= 0)
            return path_index(buf, len, cap, (size_t)i.u.n);
        if (i.t == PV_STR)
            return path_step(buf, len, cap, i.u.s, i.len);
        return cap;
    }
    case N_LOCAL:
        for (size_t i = 0; i < r->nlets; i++)
            if (r->lets[i].slot == n->u.slot)
                return path_of(c, r, r->lets[i].expr, buf, cap, hops + 1);
        return cap;
    default:
        return cap;
    }
}

/* The path of the witness element: element i of the list (or member key of the map). */
static const char *witness_path(pol_ctx *c, const pol_rule *r, size_t i, pol_value key)
{
    char buf[512];
    size_t cap = sizeof(buf), len;
    const pol_node *src = r->witness->u.q.src;
    while (src && src->kind == N_LOCAL) { /* a let holding the list */
        const pol_node *next = NULL;
        for (size_t k = 0; k < r->nlets; k++)
            if (r->lets[k].slot == src->u.slot)
                next = r->lets[k].expr;
        if (!next)
            break;
        src = next;
    }
    if (src && src->kind == N_ROOT && src->u.root == R_POD_ALL && c->pod_ok) {
        int s = 0;
        while (s < 2 && i >= c->seg[s]) {
            i -= c->seg[s];
            s++;
        }
        len = path_root(buf, cap, c->pod_prefix);
        len = path_step(buf, len, cap, container_fields[s], strlen(container_fields[s]));
        len = path_index(buf, len, cap, i);
    } else {
        len = path_of(c, r, src, buf, cap, 0);
        if (len < cap)
            len = key.t == PV_STR ? path_step(buf, len, cap, key.u.s, key.len)
                                  : path_index(buf, len, cap, i);
    }
    if (len >= cap)
        len = path_root(buf, cap, r->pod_rule && c->pod_ok ? c->pod_prefix : "");
    return util_arena_strndup(c->arena, buf, len >= cap ? 0 : len);
}

static const char *render_message(pol_ctx *c, const pol_rule *r)
{
    char buf[1024];
    size_t len = 0, cap = sizeof(buf) - 1;
    if (!r->msg)
        return r->title;
    for (size_t i = 0; i < r->nmsg; i++) {
        const pol_msgpart *part = &r->msg[i];
        if (part->lit) {
            size_t n = part->len < cap - len ? part->len : cap - len;
            memcpy(buf + len, part->lit, n);
            len += n;
        } else {
            len = pv_render(buf, len, cap, ev(c, part->expr), false);
        }
    }
    return util_arena_strndup(c->arena, buf, len);
}

static pol_action lowered(pol_action a, pol_mode mode)
{
    if (a == POL_DENY && mode == POL_MODE_WARN)
        return POL_WARN;
    if (a == POL_DENY && mode == POL_MODE_AUDIT)
        return POL_AUDIT;
    return a;
}

static void emit(pol_ctx *c, findings *fs, const pol_rule *r, pol_mode mode, const char *path)
{
    const char *msg = render_message(c, r);
    pol_finding *f = add_finding(c, fs);
    if (!f || !msg || !path)
        return;
    f->rule_id = r->id;
    f->action = lowered(r->action, mode);
    f->message = msg;
    f->path = path;
}

typedef struct witness_arg {
    const pol_rule *r;
    findings *fs;
    pol_mode mode;
    size_t index;
} witness_arg;

static bool witness_elem(pol_ctx *c, const pol_node *n, void *arg)
{
    witness_arg *w = arg;
    size_t i = w->index++;
    if (!pv_truthy(ev(c, n->u.q.body)) || c->over)
        return false;
    pol_value key = n->u.q.slot_k >= 0 ? c->slots[n->u.q.slot_k] : pv_null();
    if (pv_is_map(ev(c, n->u.q.src)) && n->u.q.slot_k < 0)
        key = c->slots[n->u.q.slot_v];
    emit(c, w->fs, w->r, w->mode, witness_path(c, w->r, i, key));
    return false;
}

static void eval_rule(pol_ctx *c, const pol_rule *r, findings *fs, pol_mode mode)
{
    size_t first = fs->n;
    c->steps = 0;
    c->over = false;
    c->rule = r;
    /* Lets are evaluated when first used, at most once: a message-only let costs nothing
     * when the rule does not fire. */
    for (size_t i = 0; i < r->nlets; i++)
        c->slots[r->lets[i].slot] = (pol_value){.t = PV_NULL, .b = true};
    if (r->witness) {
        bool rest = true;
        for (size_t i = 0; i < r->nrest && rest; i++)
            rest = pv_truthy(ev(c, r->rest[i]));
        if (rest) {
            witness_arg w = {r, fs, mode, 0};
            each(c, r->witness, ev(c, r->witness->u.q.src), witness_elem, &w);
        }
    } else if (pv_truthy(ev(c, r->cond))) {
        char buf[512];
        size_t len = path_root(buf, sizeof(buf), r->pod_rule && c->pod_ok ? c->pod_prefix : "");
        emit(c, fs, r, mode, util_arena_strndup(c->arena, buf, len));
    }
    if (c->over && !c->oom) {
        /* Fail closed: the rule's partial findings are replaced by one denial. */
        fs->n = first;
        pol_finding *f = add_finding(c, fs);
        if (f) {
            f->rule_id = r->id;
            f->action = lowered(POL_DENY, mode);
            f->message = "evaluation budget exceeded";
            f->path = "";
        }
    }
}

/* The rules to look at for a kind: its index range merged with the any-kind rules, in rule
 * order. */
static void kind_range(const pol_ruleset *rs, const char *kind, size_t *lo, size_t *hi)
{
    size_t a = 0, b = rs->nindex;
    *lo = *hi = 0;
    if (!kind)
        return;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (strcmp(rs->index[m].kind, kind) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    while (a < rs->nindex && strcmp(rs->index[a].kind, kind) == 0)
        a++;
    *hi = a;
}

/* Do r's kind clauses (match and exclude) let an object of group/kind through? The other
 * subjects need the object, so they are taken to hold. */
static bool rule_may_match(const pol_rule *r, const obj_facts *f)
{
    for (size_t i = 0; i < r->nmatches; i++) {
        const pol_match *m = &r->matches[i];
        if (m->subject == M_KIND && clause_holds(m, f, r->pod_rule) == m->exclude)
            return false;
    }
    return true;
}

bool pol_ruleset_may_match(const pol_ruleset *rs, const char *group, const char *kind)
{
    obj_facts f;
    size_t lo, hi;
    memset(&f, 0, offsetof(obj_facts, groupbuf));
    f.group = group ? group : "";
    f.kind = kind;
    /* The same clauses pol_eval tests, over the same candidates: a group the rule does not
     * name (apps/Deployment against extensions/Deployment) is no match. */
    kind_range(rs, kind, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        if (rule_may_match(&rs->rules[rs->index[i].rule], &f))
            return true;
    for (size_t w = 0; w < rs->nwild; w++)
        if (rule_may_match(&rs->rules[rs->wild[w]], &f))
            return true;
    return false;
}

int pol_eval(pol_result *out, const pol_ruleset *rs, const pol_input *in, pol_mode mode,
             util_arena *arena, util_error *err)
{
    pol_ctx c;
    obj_facts f;
    findings fs = {NULL, 0, 0};
    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.in = in;
    c.arena = arena;
    c.roots[R_OBJECT] = pv_from_json(in->object);
    c.roots[R_OLD] = pv_from_json(in->old_object);
    c.roots[R_REQUEST] = pv_from_json(in->request);
    c.roots[R_GIT] = pv_from_json(in->git);
    gather_facts(&f, &c, in);
    c.slots = ctx_alloc(&c, (size_t)(rs->max_slots ? rs->max_slots : 1) * sizeof(pol_value));
    if (!c.slots)
        return util_error_set(err, UTIL_ENOMEM, "out of memory evaluating rules");

    size_t lo, hi, w = 0;
    kind_range(rs, f.kind, &lo, &hi);
    while (lo < hi || w < rs->nwild) {
        uint32_t ri;
        if (lo < hi && (w >= rs->nwild || rs->index[lo].rule < rs->wild[w]))
            ri = rs->index[lo++].rule;
        else
            ri = rs->wild[w++];
        const pol_rule *r = &rs->rules[ri];
        if (!rule_applies(r, &f))
            continue;
        if (r->pod_rule && !c.pod_ok)
            continue;
        eval_rule(&c, r, &fs, mode);
        if (c.oom)
            return util_error_set(err, UTIL_ENOMEM, "out of memory evaluating rules");
    }
    out->findings = fs.items;
    out->count = fs.n;
    for (size_t i = 0; i < fs.n; i++) {
        if (fs.items[i].action == POL_DENY)
            out->denies++;
        else if (fs.items[i].action == POL_WARN)
            out->warns++;
        else
            out->audits++;
    }
    return 0;
}
