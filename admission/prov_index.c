/* prov_index.c: the index of what a commit declares, (group, kind, namespace, name) ->
 * manifest, read from the commit's tree with libgit2. An index is immutable and refcounted;
 * the next commit's index is built aside by copying the tables, dropping the files the tree
 * diff names and parsing them again, so unchanged files are shared, not re-read. */
#include "admission/prov.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/limits.h"
#include "util/banned.h"

/* One object declared by one file. Its strings live in one block after the struct. */
typedef struct idx_entry {
    prov_entry pub;
    const char *key; /* group \x1f kind \x1f ns \x1f name */
} idx_entry;

/* One manifest file and the objects it declares; shared between indexes by reference. */
typedef struct idx_file {
    atomic_int refs;
    char *path;
    size_t count;
    idx_entry **entries;
    size_t skipped; /* documents without apiVersion/kind (values, kustomization) */
} idx_file;

/* Open addressing with linear probing; keyed by the string keyof() gives for an item. */
typedef struct idx_table {
    void **slots;
    size_t cap, count; /* cap is 0 or a power of two */
} idx_table;

struct prov_index {
    atomic_int refs;
    char commit[GIT_OID_HEXSZ + 1];
    git_oid tree; /* of the commit, for the next tree diff */
    char *signer;
    int64_t commit_time;
    idx_table files;   /* idx_file*, by path; one reference each */
    idx_table objects; /* idx_entry*, by key; borrowed from files */
    size_t skipped;
    idx_table managed; /* count_item*, owned: "ns:NAME" and "kind:GROUP\x1fKIND" -> objects */
    char *paths_key;   /* the options it was built with, to refuse a mismatched prev */
};

/* ---- tables --------------------------------------------------------------------------- */

typedef const char *(*keyof_fn)(const void *item);

static const char *file_key(const void *item)
{
    return ((const idx_file *)item)->path;
}
static const char *entry_key(const void *item)
{
    return ((const idx_entry *)item)->key;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t table_slot(const idx_table *t, const char *key, keyof_fn keyof)
{
    size_t mask = t->cap - 1, i = hash_str(key) & mask;
    while (t->slots[i] && strcmp(keyof(t->slots[i]), key) != 0)
        i = (i + 1) & mask;
    return i;
}

static void *table_get(const idx_table *t, const char *key, keyof_fn keyof)
{
    return t->cap ? t->slots[table_slot(t, key, keyof)] : NULL;
}

static int table_grow(idx_table *t, keyof_fn keyof)
{
    idx_table n = {.cap = t->cap ? t->cap * 2 : 64};
    n.slots = calloc(n.cap, sizeof(void *));
    if (!n.slots)
        return UTIL_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i])
            n.slots[table_slot(&n, keyof(t->slots[i]), keyof)] = t->slots[i];
    n.count = t->count;
    free(t->slots);
    *t = n;
    return 0;
}

/* Insert item; when its key is taken, *existing gets the holder and nothing changes. */
static int table_put(idx_table *t, void *item, keyof_fn keyof, void **existing)
{
    *existing = NULL;
    if ((t->count + 1) * 4 > t->cap * 3 && table_grow(t, keyof) < 0)
        return UTIL_ENOMEM;
    size_t i = table_slot(t, keyof(item), keyof);
    if (t->slots[i]) {
        *existing = t->slots[i];
        return 0;
    }
    t->slots[i] = item;
    t->count++;
    return 0;
}

/* Remove by key with backward-shift deletion, so no tombstones are needed. */
static void *table_del(idx_table *t, const char *key, keyof_fn keyof)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1, i = table_slot(t, key, keyof);
    void *item = t->slots[i];
    if (!item)
        return NULL;
    t->slots[i] = NULL;
    t->count--;
    for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        size_t home = hash_str(keyof(t->slots[j])) & mask;
        /* Move slot j back to the hole when its home is not in (i, j]. */
        bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            t->slots[i] = t->slots[j];
            t->slots[j] = NULL;
            i = j;
        }
    }
    return item;
}

static int table_copy(idx_table *out, const idx_table *t)
{
    *out = (idx_table){.cap = t->cap, .count = t->count};
    if (!t->cap)
        return 0;
    out->slots = malloc(t->cap * sizeof(void *));
    if (!out->slots)
        return UTIL_ENOMEM;
    memcpy(out->slots, t->slots, t->cap * sizeof(void *));
    return 0;
}

/* How many objects make a namespace or a cluster-scoped kind managed; kept up to date as files
 * come and go, so a one-file commit does not rescan 10,000 entries. */
typedef struct count_item {
    size_t n;
    char key[]; /* "ns:NAME" or "kind:GROUP\x1fKIND" */
} count_item;

static const char *count_key(const void *item)
{
    return ((const count_item *)item)->key;
}

static int count_adjust(idx_table *t, const char *key, bool add)
{
    count_item *c = table_get(t, key, count_key);
    void *dup;
    if (!add) {
        if (c && --c->n == 0)
            free(table_del(t, key, count_key));
        return 0;
    }
    if (c) {
        c->n++;
        return 0;
    }
    size_t len = strlen(key);
    if (!(c = malloc(sizeof(*c) + len + 1)))
        return UTIL_ENOMEM;
    c->n = 1;
    memcpy(c->key, key, len + 1);
    if (table_put(t, c, count_key, &dup) < 0) {
        free(c);
        return UTIL_ENOMEM;
    }
    return 0;
}

static int counts_copy(idx_table *out, const idx_table *t)
{
    if (table_copy(out, t) < 0)
        return UTIL_ENOMEM;
    for (size_t i = 0; i < out->cap; i++) {
        const count_item *c = out->slots[i];
        if (!c)
            continue;
        size_t len = strlen(c->key);
        count_item *n = malloc(sizeof(*n) + len + 1);
        if (!n) {
            for (size_t j = 0; j < i; j++)
                if (out->slots[j])
                    free(out->slots[j]);
            for (size_t j = i; j < out->cap; j++)
                out->slots[j] = NULL;
            return UTIL_ENOMEM;
        }
        memcpy(n, c, sizeof(*n) + len + 1);
        out->slots[i] = n;
    }
    return 0;
}

static void counts_free(idx_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i]);
    free(t->slots);
}

/* ---- files and entries ---------------------------------------------------------------- */

static void file_unref(idx_file *f)
{
    if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    for (size_t i = 0; i < f->count; i++)
        free(f->entries[i]);
    free(f->entries);
    free(f->path);
    free(f);
}

/* Cluster-scoped kinds of Kubernetes and common add-ons; the namespace of their manifests is
 * ignored (as the apiserver ignores it). Custom kinds named Cluster* count too. */
static const char *const cluster_kinds[] = {
    "APIService",
    "CSIDriver",
    "CSINode",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
};

bool prov_kind_is_cluster_scoped(const char *group, const char *kind)
{
    (void)group;
    if (!kind)
        return false;
    for (size_t i = 0; i < sizeof(cluster_kinds) / sizeof(*cluster_kinds); i++)
        if (strcmp(kind, cluster_kinds[i]) == 0)
            return true;
    return strncmp(kind, "Cluster", 7) == 0 && kind[7] >= 'A' && kind[7] <= 'Z';
}

/* Make the entry for doc (stealing its reference), or NULL with *skip set when doc is not a
 * Kubernetes object (no apiVersion/kind/metadata.name). The manifest is kept as compact JSON
 * text in the entry's own block: a parsed jansson tree costs about ten times its text, and
 * the index must hold 10,000 manifests in a few MiB (docs/provenance.md). */
static idx_entry *entry_new(json_t *doc, const char *path, const char *default_ns, bool *skip)
{
    const char *api = util_json_str(doc, "apiVersion"), *kind = util_json_str(doc, "kind");
    json_t *meta = json_object_get(doc, "metadata");
    const char *name = util_json_str(meta, "name"), *ns = util_json_str(meta, "namespace");
    *skip = false;
    if (!api || !kind || !*kind || !name || !*name) {
        *skip = true;
        json_decref(doc);
        return NULL;
    }
    const char *slash = strrchr(api, '/');
    size_t glen = slash ? (size_t)(slash - api) : 0;
    if (prov_kind_is_cluster_scoped(NULL, kind))
        ns = "";
    else if (!ns || !*ns)
        ns = default_ns;
    char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
        json_decref(doc);
        return NULL;
    }
    size_t klen = strlen(kind), nslen = strlen(ns), nlen = strlen(name), plen = strlen(path);
    size_t tlen = strlen(text);
    /* Block: key "g\x1fk\x1fns\x1fname\0", the separate strings, the path, the JSON. */
    size_t keylen = glen + klen + nslen + nlen + 4;
    idx_entry *e = malloc(sizeof(*e) + keylen + keylen + plen + 1 + tlen + 1);
    if (!e) {
        free(text);
        json_decref(doc);
        return NULL;
    }
    char *key = (char *)(e + 1), *parts = key + keylen, *p = key;
    memcpy(p, api, glen), p += glen, *p++ = '\x1f';
    memcpy(p, kind, klen), p += klen, *p++ = '\x1f';
    memcpy(p, ns, nslen), p += nslen, *p++ = '\x1f';
    memcpy(p, name, nlen), p += nlen, *p = '\0';
    memcpy(parts, key, keylen);
    char *g = parts, *k = g + glen + 1, *n = k + klen + 1, *nm = n + nslen + 1;
    g[glen] = k[klen] = n[nslen] = '\0';
    char *epath = parts + keylen, *json = epath + plen + 1;
    memcpy(epath, path, plen + 1);
    memcpy(json, text, tlen + 1);
    free(text);
    json_decref(doc);
    e->key = key;
    e->pub = (prov_entry){
        .group = g, .kind = k, .ns = n, .name = nm, .path = epath, .json = json, .json_len = tlen};
    return e;
}

json_t *prov_entry_manifest(const prov_entry *e, util_error *err)
{
    json_error_t je;
    json_t *v = json_loadb(e->json, e->json_len, JSON_DECODE_ANY, &je);
    if (!v)
        util_error_set(err, UTIL_ENOMEM, "cannot read back the manifest of '%s': %s", e->path,
                       je.text);
    return v;
}

static int file_push(idx_file *f, idx_entry *e)
{
    if ((f->count & (f->count - 1)) == 0) { /* 0 or a power of two: grow */
        idx_entry **n = realloc(f->entries, (f->count ? f->count * 2 : 1) * sizeof(*n));
        if (!n)
            return UTIL_ENOMEM;
        f->entries = n;
    }
    f->entries[f->count++] = e;
    return 0;
}

/* Parse one blob into a new file record. */
static int file_load(idx_file **out, git_repository *repo, const git_oid *blob_id, const char *path,
                     const char *default_ns, util_error *err)
{
    git_blob *blob = NULL;
    util_manifest_set set;
    int rc;
    *out = NULL;
    if (git_blob_lookup(&blob, repo, blob_id) < 0)
        return util_error_set(err, PROV_ENOTFOUND, "cannot read '%s' from git: %s", path,
                              git_error_last() ? git_error_last()->message : "unknown error");
    size_t size = (size_t)git_blob_rawsize(blob);
    if (size > LIMIT_MANIFEST_FILE) {
        git_blob_free(blob);
        return util_error_set(err, UTIL_ELIMIT, "'%s' is over %u bytes (LIMIT_MANIFEST_FILE)", path,
                              LIMIT_MANIFEST_FILE);
    }
    util_manifest_set_init(&set);
    rc = util_manifest_parse(&set, path, git_blob_rawcontent(blob), size,
                             UTIL_MANIFEST_EXPAND_LISTS, err);
    git_blob_free(blob);
    if (rc < 0) {
        /* err->source points at path, which the caller owns only for now: keep the text. */
        char where[sizeof(err->msg)];
        util_error_format(err, where, sizeof(where));
        err->source = NULL;
        err->line = err->col = 0;
        memcpy(err->msg, where, sizeof(where));
        util_manifest_set_release(&set);
        return err->code = PROV_EMANIFEST;
    }
    idx_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(path))) {
        free(f);
        util_manifest_set_release(&set);
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    }
    atomic_init(&f->refs, 1);
    for (size_t i = 0; i < set.count; i++) {
        bool skip;
        idx_entry *e = entry_new(json_incref(set.docs[i].value), path, default_ns, &skip);
        if (skip) {
            f->skipped++;
            continue;
        }
        if (!e || file_push(f, e) < 0) {
            free(e);
            util_manifest_set_release(&set);
            file_unref(f);
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
        }
    }
    util_manifest_set_release(&set);
    *out = f;
    return 0;
}

/* ---- the index ------------------------------------------------------------------------ */

prov_index *prov_index_ref(prov_index *idx)
{
    if (idx)
        atomic_fetch_add(&idx->refs, 1);
    return idx;
}

void prov_index_unref(prov_index *idx)
{
    if (!idx || atomic_fetch_sub(&idx->refs, 1) != 1)
        return;
    for (size_t i = 0; i < idx->files.cap; i++)
        file_unref(idx->files.slots[i]);
    free(idx->files.slots);
    free(idx->objects.slots);
    counts_free(&idx->managed);
    free(idx->signer);
    free(idx->paths_key);
    free(idx);
}

static bool is_manifest_name(const char *path)
{
    size_t n = strlen(path);
    return (n > 5 && strcmp(path + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(path + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(path + n - 5, ".json") == 0);
}

/* Is path (a file in the repo) under one of the configured folders? */
static bool path_selected(const prov_index_options *opts, const char *path)
{
    if (!opts->path_count)
        return true;
    for (size_t i = 0; i < opts->path_count; i++) {
        const char *p = opts->paths[i];
        while (p[0] == '.' && p[1] == '/')
            p += 2;
        size_t n = strlen(p);
        while (n && p[n - 1] == '/')
            n--;
        if (n == 0 || (n == 1 && p[0] == '.'))
            return true;
        if (strncmp(path, p, n) == 0 && (path[n] == '/' || path[n] == '\0'))
            return true;
    }
    return false;
}

/* Count e toward the namespace (or, cluster-scoped, the kind) it makes managed. */
static int entry_count(prov_index *idx, const idx_entry *e, bool add)
{
    char key[600];
    const prov_entry *p = &e->pub;
    int rc = 0;
    if (*p->ns) {
        snprintf(key, sizeof(key), "ns:%s", p->ns);
        return count_adjust(&idx->managed, key, add);
    }
    if (strcmp(p->kind, "Namespace") == 0 && !*p->group) {
        snprintf(key, sizeof(key), "ns:%s", p->name);
        rc = count_adjust(&idx->managed, key, add);
    }
    snprintf(key, sizeof(key), "kind:%s\x1f%s", p->group, p->kind);
    return rc < 0 ? rc : count_adjust(&idx->managed, key, add);
}

/* Add a file's entries to the object table; a key already there is a duplicate. */
static int index_add_file(prov_index *idx, idx_file *f, util_error *err)
{
    void *dup;
    if (table_put(&idx->files, f, file_key, &dup) < 0)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (dup) /* cannot happen: a tree has one entry per path */
        return util_error_set(err, UTIL_EINVALID, "'%s' indexed twice", f->path);
    for (size_t i = 0; i < f->count; i++) {
        if (table_put(&idx->objects, f->entries[i], entry_key, &dup) < 0 ||
            (!dup && entry_count(idx, f->entries[i], true) < 0))
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
        if (dup) {
            const prov_entry *a = &((idx_entry *)dup)->pub, *b = &f->entries[i]->pub;
            return util_error_set(
                err, PROV_EDUPLICATE, "%s%s%s/%s %s%s%s is declared twice: in '%s' and in '%s'",
                a->group, *a->group ? "/" : "", a->kind, a->name, *a->ns ? "in namespace '" : "",
                a->ns, *a->ns ? "'" : "", a->path, b->path);
        }
    }
    idx->skipped += f->skipped;
    return 0;
}

static void index_drop_file(prov_index *idx, const char *path)
{
    idx_file *f = table_del(&idx->files, path, file_key);
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++) {
        table_del(&idx->objects, f->entries[i]->key, entry_key);
        entry_count(idx, f->entries[i], false);
    }
    idx->skipped -= f->skipped;
    file_unref(f);
}

static int load_and_add(prov_index *idx, git_repository *repo, const git_oid *blob,
                        const char *path, const prov_index_options *opts, util_error *err)
{
    idx_file *f;
    int rc = file_load(&f, repo, blob, path,
                       opts->default_namespace ? opts->default_namespace : "default", err);
    if (rc < 0)
        return rc;
    if (f->count == 0 && f->skipped == 0) { /* an empty file declares nothing */
        file_unref(f);
        return 0;
    }
    rc = index_add_file(idx, f, err);
    if (rc < 0 && !table_get(&idx->files, f->path, file_key))
        file_unref(f);
    return rc;
}

typedef struct walk_ctx {
    prov_index *idx;
    git_repository *repo;
    const prov_index_options *opts;
    util_error *err;
    int rc;
    util_buf path;
} walk_ctx;

static int walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
    walk_ctx *w = payload;
    const char *name = git_tree_entry_name(entry);
    if (git_tree_entry_type(entry) == GIT_OBJECT_TREE)
        return name[0] == '.' ? 1 : 0; /* positive: skip the hidden folder */
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
        git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK)
        return 0;
    if (name[0] == '.' || !is_manifest_name(name))
        return 0;
    w->path.len = 0;
    if (util_buf_puts(&w->path, root) < 0 || util_buf_puts(&w->path, name) < 0) {
        w->rc = util_error_set(w->err, UTIL_ENOMEM, "out of memory");
        return -1;
    }
    if (!path_selected(w->opts, w->path.data))
        return 0;
    w->rc = load_and_add(w->idx, w->repo, git_tree_entry_id(entry), w->path.data, w->opts, w->err);
    return w->rc < 0 ? -1 : 0;
}

static int index_full(prov_index *idx, git_repository *repo, git_tree *tree,
                      const prov_index_options *opts, util_error *err)
{
    walk_ctx w = {idx, repo, opts, err, 0, {0}};
    util_buf_init(&w.path);
    if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &w) < 0 && w.rc == 0)
        w.rc = util_error_set(err, UTIL_EFAIL, "cannot walk the tree: %s",
                              git_error_last() ? git_error_last()->message : "unknown error");
    util_buf_release(&w.path);
    return w.rc;
}

/* A file to read again once every removal is done. */
typedef struct added_file {
    char *path;
    git_oid blob;
} added_file;

typedef struct diff_walk {
    prov_index *idx;
    git_repository *repo;
    const prov_index_options *opts;
    util_error *err;
    added_file *added;
    size_t count, cap;
    util_buf path;
} diff_walk;

static int note_added(diff_walk *w, const char *path, const git_tree_entry *e)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK || base[0] == '.' ||
        !is_manifest_name(base) || !path_selected(w->opts, path))
        return 0;
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        added_file *n = realloc(w->added, cap * sizeof(*n));
        if (!n)
            return UTIL_ENOMEM;
        w->added = n;
        w->cap = cap;
    }
    if (!(w->added[w->count].path = strdup(path)))
        return UTIL_ENOMEM;
    git_oid_cpy(&w->added[w->count++].blob, git_tree_entry_id(e));
    return 0;
}

static int diff_entries(diff_walk *w, const git_tree_entry *old, const git_tree_entry *new);

/* Every blob under tree (at the current path) is removed (add false) or added (add true). */
static int diff_subtree(diff_walk *w, const git_tree_entry *te, bool add)
{
    git_tree *tree = NULL;
    int rc = 0;
    if (git_tree_lookup(&tree, w->repo, git_tree_entry_id(te)) < 0)
        return util_error_set(w->err, UTIL_EFAIL, "cannot read tree '%s': %s", w->path.data,
                              git_error_last() ? git_error_last()->message : "unknown error");
    size_t n = git_tree_entrycount(tree);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);
        rc = diff_entries(w, add ? NULL : e, add ? e : NULL);
    }
    git_tree_free(tree);
    return rc;
}

/* Compare two trees entry by entry, descending only where the ids differ: a one-file commit
 * reads one path of trees, not the whole repository (git_diff_tree_to_tree iterates all). */
static int diff_trees(diff_walk *w, const git_oid *old_id, const git_oid *new_id)
{
    git_tree *old = NULL, *new = NULL;
    int rc = 0;
    if (git_tree_lookup(&old, w->repo, old_id) < 0 || git_tree_lookup(&new, w->repo, new_id) < 0) {
        rc = util_error_set(w->err, UTIL_EFAIL, "cannot read tree '%s': %s", w->path.data,
                            git_error_last() ? git_error_last()->message : "unknown error");
        goto out;
    }
    size_t no = git_tree_entrycount(old), nn = git_tree_entrycount(new);
    for (size_t i = 0; i < no && rc == 0; i++) {
        const git_tree_entry *o = git_tree_entry_byindex(old, i);
        rc = diff_entries(w, o, git_tree_entry_byname(new, git_tree_entry_name(o)));
    }
    for (size_t i = 0; i < nn && rc == 0; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(new, i);
        if (!git_tree_entry_byname(old, git_tree_entry_name(e)))
            rc = diff_entries(w, NULL, e);
    }
out:
    git_tree_free(new);
    git_tree_free(old);
    return rc;
}

/* One name present in the old tree, the new one, or both. Removals happen at once, additions
 * are noted for later. */
static int diff_entries(diff_walk *w, const git_tree_entry *old, const git_tree_entry *new)
{
    const char *name = git_tree_entry_name(old ? old : new);
    size_t mark = w->path.len;
    int rc = 0;
    if (name[0] == '.') /* hidden files and folders are never indexed */
        return 0;
    if (old && new &&git_oid_equal(git_tree_entry_id(old), git_tree_entry_id(new)) &&
        git_tree_entry_filemode(old) == git_tree_entry_filemode(new))
        return 0;
    if (util_buf_printf(&w->path, "%s%s", mark ? "/" : "", name) < 0)
        return util_error_set(w->err, UTIL_ENOMEM, "out of memory");
    bool old_tree = old && git_tree_entry_type(old) == GIT_OBJECT_TREE;
    bool new_tree = new &&git_tree_entry_type(new) == GIT_OBJECT_TREE;
    if (old_tree && new_tree) {
        rc = diff_trees(w, git_tree_entry_id(old), git_tree_entry_id(new));
    } else {
        if (old && old_tree)
            rc = diff_subtree(w, old, false);
        else if (old && git_tree_entry_type(old) == GIT_OBJECT_BLOB)
            index_drop_file(w->idx, w->path.data);
        if (rc == 0 && new &&new_tree && name[0] != '.')
            rc = diff_subtree(w, new, true);
        else if (rc == 0 && new &&git_tree_entry_type(new) == GIT_OBJECT_BLOB &&
                 note_added(w, w->path.data, new) < 0)
            rc = util_error_set(w->err, UTIL_ENOMEM, "out of memory");
    }
    w->path.len = mark;
    w->path.data[mark] = '\0';
    return rc;
}

/* Re-read only what changed from prev's tree to tree: all removals first, then additions, so
 * an object moving between files in one commit is no duplicate. */
static int index_incremental(prov_index *idx, git_repository *repo, git_tree *tree,
                             const prov_index *prev, const prov_index_options *opts,
                             util_error *err)
{
    diff_walk w = {.idx = idx, .repo = repo, .opts = opts, .err = err};
    util_buf_init(&w.path);
    int rc =
        util_buf_reserve(&w.path, 256) < 0 ? util_error_set(err, UTIL_ENOMEM, "out of memory") : 0;
    if (rc == 0) {
        w.path.data[0] = '\0';
        rc = diff_trees(&w, &prev->tree, git_tree_id(tree));
    }
    for (size_t i = 0; i < w.count; i++) {
        if (rc == 0)
            rc = load_and_add(idx, repo, &w.added[i].blob, w.added[i].path, opts, err);
        free(w.added[i].path);
    }
    free(w.added);
    util_buf_release(&w.path);
    return rc;
}

/* A string naming the options, so an index is only ever diffed against a compatible one. */
static char *options_key(const prov_index_options *opts)
{
    util_buf b;
    util_buf_init(&b);
    int rc = util_buf_puts(&b, opts->default_namespace ? opts->default_namespace : "default");
    for (size_t i = 0; i < opts->path_count && rc == 0; i++)
        rc = util_buf_printf(&b, "\n%s", opts->paths[i]);
    if (rc < 0) {
        util_buf_release(&b);
        return NULL;
    }
    return util_buf_steal(&b, NULL);
}

int prov_index_build(prov_index **out, git_repository *repo, const git_oid *commit_id,
                     const prov_index_options *opts, const prov_index *prev, const char *signer,
                     util_error *err)
{
    static const prov_index_options none = {0};
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    int rc;
    *out = NULL;
    if (!opts)
        opts = &none;
    prov_index *idx = calloc(1, sizeof(*idx));
    if (!idx)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    atomic_init(&idx->refs, 1);
    git_oid_tostr(idx->commit, sizeof(idx->commit), commit_id);
    idx->paths_key = options_key(opts);
    idx->signer = strdup(signer ? signer : "");
    if (!idx->paths_key || !idx->signer) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto fail;
    }
    if (git_commit_lookup(&commit, repo, commit_id) < 0 || git_commit_tree(&tree, commit) < 0) {
        rc = util_error_set(err, PROV_ENOTFOUND, "cannot read commit %s: %s", idx->commit,
                            git_error_last() ? git_error_last()->message : "unknown error");
        goto fail;
    }
    idx->commit_time = (int64_t)git_commit_time(commit);
    git_oid_cpy(&idx->tree, git_tree_id(tree));
    if (prev && strcmp(prev->paths_key, idx->paths_key) != 0)
        prev = NULL; /* built with other options: start over */
    if (prev) {
        if (table_copy(&idx->files, &prev->files) < 0 ||
            table_copy(&idx->objects, &prev->objects) < 0 ||
            counts_copy(&idx->managed, &prev->managed) < 0) {
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < idx->files.cap; i++)
            if (idx->files.slots[i])
                atomic_fetch_add(&((idx_file *)idx->files.slots[i])->refs, 1);
        idx->skipped = prev->skipped;
        rc = index_incremental(idx, repo, tree, prev, opts, err);
    } else {
        rc = index_full(idx, repo, tree, opts, err);
    }
    if (rc < 0)
        goto fail;
    git_tree_free(tree);
    git_commit_free(commit);
    *out = idx;
    return 0;
fail:
    git_tree_free(tree);
    git_commit_free(commit);
    prov_index_unref(idx);
    return rc;
}

const prov_entry *prov_index_find(const prov_index *idx, const char *group, const char *kind,
                                  const char *ns, const char *name)
{
    char buf[1024];
    if (!idx || !kind || !name)
        return NULL;
    int n = snprintf(buf, sizeof(buf), "%s\x1f%s\x1f%s\x1f%s", group ? group : "", kind,
                     ns ? ns : "", name);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL; /* longer than any Kubernetes name allows */
    const idx_entry *e = table_get(&idx->objects, buf, entry_key);
    return e ? &e->pub : NULL;
}

static int cmp_entry_key(const void *a, const void *b)
{
    return strcmp((*(const idx_entry *const *)a)->key, (*(const idx_entry *const *)b)->key);
}

int prov_index_foreach(const prov_index *idx, int (*fn)(void *ctx, const prov_entry *e), void *ctx)
{
    size_t n = 0;
    if (!idx || !idx->objects.count)
        return 0;
    const idx_entry **all = malloc(idx->objects.count * sizeof(*all));
    if (!all)
        return UTIL_ENOMEM;
    for (size_t i = 0; i < idx->objects.cap; i++)
        if (idx->objects.slots[i])
            all[n++] = idx->objects.slots[i];
    qsort(all, n, sizeof(*all), cmp_entry_key);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fn(ctx, &all[i]->pub);
    free(all);
    return rc;
}

const char *prov_index_commit(const prov_index *idx)
{
    return idx->commit;
}
const char *prov_index_signer(const prov_index *idx)
{
    return idx->signer;
}
int64_t prov_index_commit_time(const prov_index *idx)
{
    return idx->commit_time;
}
size_t prov_index_count(const prov_index *idx)
{
    return idx->objects.count;
}
size_t prov_index_skipped(const prov_index *idx)
{
    return idx->skipped;
}
size_t prov_index_files(const prov_index *idx)
{
    return idx->files.count;
}

bool prov_index_manages_namespace(const prov_index *idx, const char *ns)
{
    char key[300];
    if (!idx || !ns || !*ns || strlen(ns) > 253)
        return false;
    snprintf(key, sizeof(key), "ns:%s", ns);
    return table_get(&idx->managed, key, count_key) != NULL;
}

bool prov_index_manages_kind(const prov_index *idx, const char *group, const char *kind)
{
    char key[600];
    if (!idx || !kind)
        return false;
    int n = snprintf(key, sizeof(key), "kind:%s\x1f%s", group ? group : "", kind);
    return n > 0 && (size_t)n < sizeof(key) && table_get(&idx->managed, key, count_key) != NULL;
}
