/* options.c — parsing the stage kernel's options (see options.h). */
#include "kernel/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char options_usage[] =
    "usage: nbstage-kernel -f CONNECTION_FILE [--wrap NAME] [--model FILE]\n"
    "                      [--tag-position top|bottom] [--no-badge] [--min-confidence P]\n"
    "A Jupyter kernel that runs the kernel NAME (default python3) as its child, relays\n"
    "every message, and tags each executed cell with its workflow stage.\n"
    "  --tag-position top     (default) the tag is published as soon as the cell has\n"
    "                         started and is classified: usually its first output\n"
    "  --tag-position bottom  the tag is published when the cell is done: its last output\n"
    "                         (but before a clear_output(wait=True) that a display update\n"
    "                         follows, which the frontend would otherwise apply to it)\n"
    "  --no-badge             no visible badge, only the stage in the output's metadata\n"
    "  --min-confidence P     no tag when the model is less sure than P (0..1)\n"
    "  --version              the version of nbstage\n"
    "Environment: NBSTAGE_WRAP, NBSTAGE_MODEL, NBSTAGE_TAG_POSITION, NBSTAGE_NO_BADGE,\n"
    "NBSTAGE_MIN_CONFIDENCE (the command line wins).\n";

static int set_position(struct kernel_options *o, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "top") == 0) o->display.position_top = 1;
    else if (strcmp(v, "bottom") == 0) o->display.position_top = 0;
    else { snprintf(err, errlen, "tag position \"%s\": expected top or bottom", v); return -1; }
    return 0;
}

static int set_min_confidence(struct kernel_options *o, const char *v, char *err, size_t errlen)
{
    char *end;
    double p = strtod(v, &end);
    if (end == v || *end || !(p >= 0 && p <= 1)) {
        snprintf(err, errlen, "minimum confidence \"%s\": expected a number in [0, 1]", v);
        return -1;
    }
    o->display.min_confidence = p;
    return 0;
}

static int set_no_badge(struct kernel_options *o, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0) o->display.no_badge = 1;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || !*v) o->display.no_badge = 0;
    else { snprintf(err, errlen, "NBSTAGE_NO_BADGE=\"%s\": expected 1 or 0", v); return -1; }
    return 0;
}

static int from_env(struct kernel_options *o, char *err, size_t errlen)
{
    const char *v;
    if ((v = getenv("NBSTAGE_WRAP")) && *v) o->wrap = v;
    if ((v = getenv("NBSTAGE_MODEL")) && *v) o->model = v;
    if ((v = getenv("NBSTAGE_TAG_POSITION")) && *v && set_position(o, v, err, errlen)) return -1;
    if ((v = getenv("NBSTAGE_NO_BADGE")) && set_no_badge(o, v, err, errlen)) return -1;
    if ((v = getenv("NBSTAGE_MIN_CONFIDENCE")) && *v && set_min_confidence(o, v, err, errlen))
        return -1;
    return 0;
}

/* The value of option NAME at ARGV[*I]: "--name=value" or "--name value". */
static const char *value_of(const char *name, int argc, char **argv, int *i)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] == 0 && *i + 1 < argc) return argv[++*i];
    return NULL;
}

int options_parse(int argc, char **argv, struct kernel_options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->wrap = "python3";
    o->display.position_top = 1; /* early publication: off the idle's critical path */
    if (from_env(o, err, errlen)) return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { o->help = 1; return 0; }
        if (strcmp(a, "--version") == 0) { o->version = 1; return 0; }
        else if (strcmp(a, "--no-badge") == 0) o->display.no_badge = 1;
        else if ((v = value_of("-f", argc, argv, &i)) || (v = value_of("--connection-file", argc, argv, &i)))
            o->connection_file = v;
        else if ((v = value_of("--wrap", argc, argv, &i))) o->wrap = v;
        else if ((v = value_of("--model", argc, argv, &i))) o->model = v;
        else if ((v = value_of("--tag-position", argc, argv, &i))) {
            if (set_position(o, v, err, errlen)) return -1;
        } else if ((v = value_of("--min-confidence", argc, argv, &i))) {
            if (set_min_confidence(o, v, err, errlen)) return -1;
        } else {
            snprintf(err, errlen, "unknown option or missing value: \"%s\"", a);
            return -1;
        }
    }
    if (!o->connection_file) { snprintf(err, errlen, "no connection file (-f FILE)"); return -1; }
    if (!o->wrap[0]) { snprintf(err, errlen, "--wrap: empty kernel name"); return -1; }
    return 0;
}
