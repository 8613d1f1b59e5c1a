/* util_error.c: errors as values. Filling an error never allocates; printing one shows the
 * source line with a caret under the column when the caller still has the text. */
#include "util/util.h"

#include <string.h>

#include "util/banned.h"

void util_error_clear(util_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof(*err));
}

int util_error_vset(util_error *err, int code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

int util_error_set(util_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    util_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int util_error_at(util_error *err, int code, const char *source, unsigned line, unsigned col,
                  const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return code;
    err->source = source;
    err->line = line;
    err->col = col;
    va_start(ap, fmt);
    util_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void util_error_prefix(util_error *err, const char *fmt, ...)
{
    char prefix[128], old[sizeof(err->msg)];
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Cut the old message rather than the prefix when the two do not fit. */
    snprintf(err->msg, sizeof(err->msg), "%s: %.*s", prefix, (int)(sizeof(old) - 130), old);
}

const char *util_error_format(const util_error *err, char *buf, size_t size)
{
    if (err->source && err->line)
        snprintf(buf, size, "%s:%u:%u: %s", err->source, err->line, err->col, err->msg);
    else if (err->source)
        snprintf(buf, size, "%s: %s", err->source, err->msg);
    else
        snprintf(buf, size, "%s", err->msg);
    return buf;
}

void util_linecol(const char *text, size_t len, size_t offset, unsigned *line, unsigned *col)
{
    unsigned l = 1, c = 1;
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Print line `line` of text and a caret under byte column col; tabs are kept so the caret
 * lines up in a terminal. */
static void print_caret(FILE *out, const char *text, size_t len, unsigned line, unsigned col)
{
    size_t start = 0, end;
    for (unsigned l = 1; l < line; l++) {
        const char *nl = memchr(text + start, '\n', len - start);
        if (!nl)
            return;
        start = (size_t)(nl - text) + 1;
    }
    end = start;
    while (end < len && text[end] != '\n')
        end++;
    if (end - start > 200)
        return; /* a minified line helps nobody */
    fprintf(out, "    %.*s\n    ", (int)(end - start), text + start);
    for (unsigned c = 1; c < col && start + c - 1 < end; c++)
        fputc(text[start + c - 1] == '\t' ? '\t' : ' ', out);
    fputs("^\n", out);
}

void util_error_print(FILE *out, const util_error *err, const char *text, size_t len)
{
    char buf[512];
    fprintf(out, "%s\n", util_error_format(err, buf, sizeof(buf)));
    if (text && err->line && err->col)
        print_caret(out, text, len, err->line, err->col);
}
