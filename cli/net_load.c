/* net_load.c: the binary's side of net.h: find sealgate-net.so beside the running executable
 * (or in the installed layout), check that it comes from the same build, and run a verb in it.
 * The places are fixed relative to /proc/self/exe: no environment variable or search path
 * can make sealgate load code from elsewhere. */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/net.h"
#include "cli_build_id.h"
#include "util/banned.h"

const char *cli_net_build_id(void)
{
    return CLI_BUILD_ID;
}

/* The folder of the running executable, with a final '/', into dir; false when unknown. */
static bool net_exe_dir(char *dir, size_t size, char *why, size_t why_size)
{
    ssize_t n = readlink("/proc/self/exe", dir, size - 1);
    if (n < 0 || (size_t)n >= size - 1) {
        snprintf(why, why_size, "cannot read /proc/self/exe: %s",
                 n < 0 ? strerror(errno) : "path too long");
        return false;
    }
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash) {
        snprintf(why, why_size, "/proc/self/exe is not a path: '%.200s'", dir);
        return false;
    }
    slash[1] = '\0';
    return true;
}

/* Load the module at place->path, filling place->why on failure. */
static const cli_net_entry *net_load(cli_net_place *place)
{
    void *handle = dlopen(place->path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *e = dlerror();
        size_t n = strlen(place->path);
        if (e && strncmp(e, place->path, n) == 0 && strncmp(e + n, ": ", 2) == 0)
            e += n + 2; /* the path is printed before the reason already */
        snprintf(place->why, sizeof(place->why), "%s", e ? e : "dlopen failed");
        return NULL;
    }
    const cli_net_entry *entry = dlsym(handle, CLI_NET_SYMBOL);
    if (!entry) {
        const char *e = dlerror();
        snprintf(place->why, sizeof(place->why), "not a sealgate module: %s",
                 e ? e : "no " CLI_NET_SYMBOL);
        return NULL;
    }
    /* build_id is the one field read before the builds are known to agree (net.h). */
    if (!entry->build_id || strcmp(entry->build_id, CLI_BUILD_ID) != 0) {
        snprintf(place->why, sizeof(place->why),
                 "built from other sources (module build %.64s, this binary %s): install the "
                 "binary and the module of one build together",
                 entry->build_id ? entry->build_id : "(none)", CLI_BUILD_ID);
        return NULL;
    }
    return entry;
}

int cli_net_open(cli_net *net)
{
    static const char *const places[CLI_NET_NPLACES] = CLI_NET_PLACES;
    char dir[PATH_MAX];

    memset(net, 0, sizeof(*net));
    if (!net_exe_dir(dir, sizeof(dir), net->tried[0].why, sizeof(net->tried[0].why))) {
        snprintf(net->tried[0].path, sizeof(net->tried[0].path), "%s", CLI_NET_MODULE);
        net->ntried = 1;
        return -1;
    }
    for (size_t i = 0; i < CLI_NET_NPLACES; i++) {
        cli_net_place *place = &net->tried[net->ntried++];
        int n =
            snprintf(place->path, sizeof(place->path), "%s%s%s", dir, places[i], CLI_NET_MODULE);
        if (n < 0 || (size_t)n >= sizeof(place->path)) {
            snprintf(place->why, sizeof(place->why), "path too long");
            continue;
        }
        struct stat st;
        if (stat(place->path, &st) != 0) {
            snprintf(place->why, sizeof(place->why), "%s", strerror(errno));
            continue;
        }
        net->entry = net_load(place);
        return net->entry ? 0 : -1;
    }
    return -1;
}

void cli_net_explain(const cli_net *net, const char *verb, FILE *out)
{
    if (verb)
        fprintf(out, "sealgate %s: this verb lives in the module %s, which could not be loaded:\n",
                verb, CLI_NET_MODULE);
    for (size_t i = 0; i < net->ntried; i++)
        fprintf(out, "%s%s: %s\n", verb ? "  " : "    ", net->tried[i].path, net->tried[i].why);
}

int cli_net_run(int argc, char **argv)
{
    cli_net net;
    if (cli_net_open(&net) != 0) {
        cli_net_explain(&net, argv[0], stderr);
        return CLI_USAGE;
    }
    return net.entry->run(argc, argv);
}
