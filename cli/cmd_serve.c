/* cmd_serve.c: `sealgate serve [--config FILE] [--listen ADDR:PORT] [--check]`: the admission
 * webhook (docs/configuration.md). Without --config it serves the embedded default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission/adm.h"
#include "cli/cli.h"
#include "util/limits.h"
#include "util/banned.h"

static const char serve_help[] =
    "usage: sealgate serve [--config FILE] [--listen HOST:PORT] [--log-level LEVEL]\n"
    "                      [--state DIR] [--check]\n"
    "\n"
    "Serve the admission webhook over HTTPS: POST /validate, POST /mutate, GET /healthz,\n"
    "/readyz and /metrics. Without --config: 127.0.0.1:8443, a self-signed certificate made\n"
    "under the state folder, the bundled packs in enforce mode.\n"
    "\n"
    "  --config FILE      the server configuration (docs/configuration.md)\n"
    "  --listen ADDR      override `listen`\n"
    "  --log-level LEVEL  debug, info, warn or error (overrides `logLevel`)\n"
    "  --state DIR        where the self-signed pair lives (default $XDG_STATE_HOME/sealgate\n"
    "                     or ./.state)\n"
    "  --check            validate the configuration and exit: 0 valid, 2 not\n"
    "\n"
    "Signals: SIGHUP reloads the rules; SIGTERM drains requests in flight and exits 0.\n";

typedef struct serve_opts {
    const char *config, *listen, *log_level, *state;
    bool check;
} serve_opts;

/* The value of an option given as "--opt VALUE" or "--opt=VALUE", or NULL when argv[*i] is
 * not that option. */
static const char *serve_opt(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int serve_parse_args(serve_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--check") == 0)
            o->check = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(serve_help, stdout);
            return 1;
        } else if ((v = serve_opt(argc, argv, &i, "--config", &missing)))
            o->config = v;
        else if ((v = serve_opt(argc, argv, &i, "--listen", &missing)))
            o->listen = v;
        else if ((v = serve_opt(argc, argv, &i, "--log-level", &missing)))
            o->log_level = v;
        else if ((v = serve_opt(argc, argv, &i, "--state", &missing)))
            o->state = v;
        else if (missing)
            return cli_usage("serve", "%s needs a value", argv[i]);
        else
            return cli_usage("serve", "unknown option '%s' (see sealgate serve --help)", argv[i]);
        if (missing)
            return cli_usage("serve", "%s needs a value", argv[i]);
    }
    return 0;
}

/* Load --config into cfg, printing a located error with the source line on failure. */
static int serve_load_config(adm_config *cfg, const char *path)
{
    util_buf text;
    util_buf_init(&text);
    util_error err;
    util_error_clear(&err);
    int rc = util_file_read(&text, path, LIMIT_CONFIG_FILE, &err);
    if (rc == 0)
        rc = adm_config_parse(cfg, path, text.data ? text.data : "", text.len, &err);
    if (rc < 0)
        cli_fail("serve", &err, text.data, text.len);
    util_buf_release(&text);
    return rc < 0 ? CLI_USAGE : 0;
}

static int serve_apply_overrides(adm_config *cfg, const serve_opts *o)
{
    if (o->listen != NULL) {
        free(cfg->listen);
        cfg->listen = strdup(o->listen);
    }
    if (o->state != NULL) {
        free(cfg->state_dir);
        cfg->state_dir = strdup(o->state);
    }
    if (o->log_level != NULL) {
        static const char *const levels[] = {"debug", "info", "warn", "error"};
        size_t i;
        for (i = 0; i < 4 && strcmp(o->log_level, levels[i]) != 0; i++)
            ;
        if (i == 4)
            return cli_usage("serve", "--log-level must be debug, info, warn or error");
        cfg->log_level = (adm_log_level)i;
    }
    return 0;
}

int cli_serve(int argc, char **argv)
{
    serve_opts o = {0};
    int rc = serve_parse_args(&o, argc, argv);
    if (rc != 0)
        return rc == 1 ? CLI_OK : rc;
    adm_config cfg;
    adm_config_init(&cfg);
    if (o.config != NULL && (rc = serve_load_config(&cfg, o.config)) != 0)
        goto out_release;
    if ((rc = serve_apply_overrides(&cfg, &o)) != 0)
        goto out_release;
    if (o.check) {
        printf("%s: valid\n", o.config ? o.config : "embedded default");
        goto out_release;
    }
    if (adm_signals_block() < 0) {
        rc = cli_usage("serve", "cannot block signals");
        goto out_release;
    }
    adm_server *srv = NULL;
    util_error err;
    util_error_clear(&err);
    if (adm_server_new(&srv, &cfg, &err) < 0 || adm_server_start(srv, &err) < 0) {
        rc = cli_fail("serve", &err, NULL, 0);
        adm_server_free(srv);
        goto out_release;
    }
    if (adm_server_state_dir(srv) != NULL)
        fprintf(stderr,
                "sealgate serve: self-signed certificate and key in %s/ (tls.crt, tls.key)\n",
                adm_server_state_dir(srv));
    fprintf(stderr, "sealgate serve: listening on https://%s (port %u)\n",
            cfg.listen ? cfg.listen : "127.0.0.1:8443", adm_server_port(srv));
    rc = adm_server_run(srv) < 0 ? CLI_USAGE : CLI_OK;
    adm_server_free(srv);
out_release:
    adm_config_release(&cfg);
    return rc;
}
