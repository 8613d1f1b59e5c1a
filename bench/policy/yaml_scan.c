/* yaml_scan.c: the reference for `sealgate check`'s bar: read a file and pull every libyaml
 * event from it, building nothing (bench/policy/run). */
#include <stdio.h>
#include <stdlib.h>

#include <yaml.h>

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    if (!f) {
        fprintf(stderr, "usage: yaml_scan FILE\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        return 2;
    fclose(f);
    yaml_parser_t p;
    yaml_event_t e;
    size_t events = 0, docs = 0;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, buf, (size_t)n);
    for (;;) {
        if (!yaml_parser_parse(&p, &e)) {
            fprintf(stderr, "yaml_scan: %s at line %zu\n", p.problem, p.problem_mark.line + 1);
            return 2;
        }
        yaml_event_type_t t = e.type;
        docs += t == YAML_DOCUMENT_START_EVENT;
        events++;
        yaml_event_delete(&e);
        if (t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    free(buf);
    printf("%zu documents, %zu events\n", docs, events);
    return 0;
}
