/* adm_log.c: the server's log, one JSON object per line on stderr so that log collectors
 * parse it without rules. Each line is written with one fwrite, so lines from concurrent
 * workers never interleave. */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "admission/adm.h"
#include "util/banned.h"

const char *adm__log_level_name(adm_log_level level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return level <= ADM_LOG_ERROR ? names[level] : "error";
}

void adm__log(adm_log_level min, adm_log_level level, json_t *fields, const char *fmt, ...)
{
    if (level < min) {
        json_decref(fields);
        return;
    }
    char msg[512], when[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    json_t *line =
        json_pack("{s:s, s:s, s:s}", "time", when, "level", adm__log_level_name(level), "msg", msg);
    if (line == NULL) {
        json_decref(fields);
        return;
    }
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    util_buf text;
    util_buf_init(&text);
    int rc = util_json_dump(&text, line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (rc == 0 && util_buf_append(&text, "\n", 1) == 0) {
        fwrite(text.data, 1, text.len, stderr); /* one write per line keeps lines whole */
        fflush(stderr);
    }
    util_buf_release(&text);
}
