/* prov_git.h: fixtures for the provenance tests, made with the real tools: a temp folder, git
 * repositories, SSH keys from ssh-keygen, commits signed by git itself, allowed-signers files. */
#ifndef SEALGATE_TEST_PROV_GIT_H
#define SEALGATE_TEST_PROV_GIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tdir[256];

static void tmp_cleanup(void)
{
    char cmd[300];
    if (tdir[0] && !getenv("KEEP_TMP")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tdir);
    }
}

/* Run a shell command (printf-style) from the temp folder; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", tdir);
    vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    if (WEXITSTATUS(st) != 0 && getenv("VERBOSE"))
        fprintf(stderr, "command failed (%d): %s\n", WEXITSTATUS(st), cmd);
    return WEXITSTATUS(st);
}

/* First line of a command's output into out. */
__attribute__((unused)) static void sh_out(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
__attribute__((unused)) static void sh_out(char *out, size_t size, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", tdir);
    vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
    va_end(ap);
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fgets(out, (int)size, p))
        out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

static void tmp_setup(void)
{
    snprintf(tdir, sizeof(tdir), "%s/prov-test.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tdir)) {
        perror("mkdtemp");
        exit(2);
    }
    atexit(tmp_cleanup);
    /* git must not read the developer's configuration (signing keys, hooks, default branch). */
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("HOME", tdir, 1);
    setenv("GIT_AUTHOR_NAME", "Test", 1);
    setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
    setenv("GIT_COMMITTER_NAME", "Test", 1);
    setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
}

/* Write text to tdir/rel, creating folders. */
static void put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", tdir, rel);
    for (char *p = path + strlen(tdir) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* An SSH key tdir/NAME of TYPE (ed25519, rsa, ecdsa) for NAME@example.com. */
__attribute__((unused)) static int make_key(const char *name, const char *type)
{
    return sh("ssh-keygen -q -t %s -N '' -C %s@example.com -f %s", type, name, name);
}

/* Append NAME's public key to the allowed-signers file FILE. */
__attribute__((unused)) static int trust_key(const char *file, const char *name)
{
    return sh(
        "printf '%%s@example.com namespaces=\"git\" ' %s >> %s && cut -d' ' -f1,2 %s.pub >> %s",
        name, file, name, file);
}

static int git_init(const char *repo)
{
    return sh("git init -q -b main %s", repo);
}

/* Commit everything in repo, signed with key tdir/KEY, or unsigned when key is NULL. */
static int commit(const char *repo, const char *key, const char *msg)
{
    if (!key)
        return sh("git -C %s add -A && git -C %s commit -q --allow-empty -m '%s'", repo, repo, msg);
    return sh("git -C %s add -A && git -C %s -c gpg.format=ssh -c user.signingkey=%s/%s "
              "commit -q -S --allow-empty -m '%s'",
              repo, repo, tdir, key, msg);
}

__attribute__((unused)) static void head_of(const char *repo, char out[64])
{
    sh_out(out, 64, "git -C %s rev-parse HEAD", repo);
}

#endif
