/* limits.h: every hard limit on hostile input, in one place, each with why it is what it is.
 * Errors that hit one name it ("request body over 6291456 bytes (limits.body)"). Modules add
 * their limits here rather than in their own files, so a reviewer sees them together. */
#ifndef SEALGATE_LIMITS_H
#define SEALGATE_LIMITS_H

/* The apiserver caps request bodies at 3 MiB for etcd objects; an AdmissionReview holds the
 * object and oldObject, so twice that plus the envelope. Configurable as limits.body. */
#define LIMIT_BODY_DEFAULT (6u * 1024 * 1024)

/* JSON nesting. Real Kubernetes objects stay under 20 levels; 100 leaves room for CRDs while
 * keeping recursive walks far from the stack's end. Configurable as limits.depth. */
#define LIMIT_JSON_DEPTH_DEFAULT 100

/* The memory a request's JSON may take while it is answered (its trees, the rules' temporaries,
 * the answer): 16 times limits.body, at least 16 MiB. The apiserver's reviews take 13 to 15
 * times their text; a body of tiny values takes 67 times (a 6 MiB array of 1s: 400 MiB),
 * which is what the bound refuses. */
#define LIMIT_JSON_MEMORY_FACTOR 16u
#define LIMIT_JSON_MEMORY_MIN    (16u * 1024 * 1024)

/* A manifest file. 64 MiB holds 20,000 Deployments comfortably. */
#define LIMIT_MANIFEST_FILE (256u * 1024 * 1024)

/* YAML nesting, as for JSON. */
#define LIMIT_YAML_DEPTH 100

/* Nodes an alias expansion may produce in one document: stops "billion laughs" documents. */
#define LIMIT_YAML_ALIAS_NODES 100000

/* A rule file's source. Rule files are hand-written; 1 MiB is far beyond any real pack. */
#define LIMIT_RULE_SOURCE (1u * 1024 * 1024)

/* Expression nesting in a rule: bounds the parser's and the evaluator's recursion. */
#define LIMIT_RULE_EXPR_DEPTH 64

/* Evaluation steps one rule may take on one object before it is stopped and reported (fails
 * closed). A PSS rule over a 10-container pod takes a few hundred steps. */
#define LIMIT_RULE_STEPS 100000

/* A regular expression's source in a rule. */
#define LIMIT_REGEX_SOURCE 1024

/* A configuration file. */
#define LIMIT_CONFIG_FILE (1u * 1024 * 1024)

/* A trust file (allowed signers or armoured keys). */
#define LIMIT_TRUST_FILE (4u * 1024 * 1024)

/* A sealed value: Secrets are capped by the apiserver at 1 MiB; sealing adds a third. */
#define LIMIT_SEALED_VALUE (2u * 1024 * 1024)

#endif
