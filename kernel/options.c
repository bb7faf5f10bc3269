/* options.c — parsing the stage kernel's options (see options.h). */
#include "kernel/options.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nbformat/notebook.h" /* nb_shown, nb_error_fmt */

const char options_usage[] =
    "usage: nbstage-kernel -f CONNECTION_FILE [--wrap NAME] [--model FILE]\n"
    "                      [--tag-position top|bottom] [--no-badge]\n"
    "                      [--min-confidence P] [--any-language]\n"
    "A Jupyter kernel that runs the kernel NAME (default python3) as its child,\n"
    "relays every message, and tags each executed cell with its workflow stage.\n"
    "  -f, --connection-file FILE\n"
    "                         the connection file Jupyter starts the kernel with (its\n"
    "                         kernelspec's argv says -f {connection_file})\n"
    "  --wrap NAME            the kernelspec to run as child (default python3), found\n"
    "                         where Jupyter finds kernelspecs (JUPYTER_PATH, ...)\n"
    "  --model FILE           the model (default: the shipped one,\n"
    "                         %s%s)\n"
    "  --tag-position top     (default) the tag is published as soon as the cell has\n"
    "                         started and is classified: usually its first output\n"
    "  --tag-position bottom  the tag is published when the cell is done: its last\n"
    "                         output (but before a clear_output(wait=True) that a\n"
    "                         display update follows, which the frontend would\n"
    "                         otherwise apply to it)\n"
    "  --no-badge             no badge, only the stage in the output's metadata\n"
    "  --min-confidence P     no tag when the model is less sure than P (0..1)\n"
    "  --any-language         tag the cells of a kernel whose language is not Python\n"
    "                         too (without it such a kernel is relayed untagged, as\n"
    "                         its stages would be the Python model's guesses)\n"
    "  -h, --help             this help\n"
    "  --version              the version of nbstage\n"
    "Environment: NBSTAGE_WRAP, NBSTAGE_MODEL, NBSTAGE_TAG_POSITION,\n"
    "NBSTAGE_NO_BADGE, NBSTAGE_MIN_CONFIDENCE, NBSTAGE_ANY_LANGUAGE (the command\n"
    "line wins; NBSTAGE_NO_BADGE and NBSTAGE_ANY_LANGUAGE are 1 or 0).\n"
    "A bad value or an unknown option is named on stderr (the Jupyter server's log)\n"
    "and, once, in the first executed cell's outputs, and ignored: the kernel runs\n"
    "as if it were not given.  So is a model that cannot be read (the kernel then\n"
    "runs untagged).\n";

/* Adds one line to O's warnings.  A and B, an option and its value as the user gave
 * them, are shown as messages show names (nb_shown): a newline in a value would split
 * the line, and the lines reach the server's log and the notebook.  A line longer than
 * the room left is cut as messages are (nb_error_fmt: its start and its end, the
 * reason, with "..." between, each cut between UTF-8 characters; a cut at a byte count
 * left half a character in the log and the notebook); none is added once there is no
 * room for a cut one (16 bytes, with its newline). */
static void warn(struct kernel_options *o, const char *fmt, const char *a, const char *b)
{
    size_t used = strlen(o->warnings), room = sizeof o->warnings - used - 1; /* (the newline) */
    char sa[NB_SHOWN_MAX], sb[NB_SHOWN_MAX];
    if (room < 16) return;
    nb_error_fmt(o->warnings + used, room, fmt, nb_shown(a, sa, sizeof sa), nb_shown(b, sb, sizeof sb));
    used = strlen(o->warnings);
    o->warnings[used] = '\n', o->warnings[used + 1] = 0;
}

/* The setters take WHAT, the option's name as the user wrote it ("--tag-position" or
 * "NBSTAGE_TAG_POSITION"); a bad value is a warning and leaves the option as it was. */
static void set_position(struct kernel_options *o, const char *what, const char *v)
{
    if (strcmp(v, "top") == 0) o->display.position_top = 1;
    else if (strcmp(v, "bottom") == 0) o->display.position_top = 0;
    else warn(o, "%s \"%s\": expected top or bottom; ignored", what, v);
}

static void set_min_confidence(struct kernel_options *o, const char *what, const char *v)
{
    char *end;
    double p = strtod(v, &end);
    if (end == v || *end || !(p >= 0 && p <= 1))
        warn(o, "%s \"%s\": expected a number in [0, 1]; ignored", what, v);
    else
        o->display.min_confidence = p;
}

/* A yes/no variable WHAT into *FLAG. */
static void set_flag(struct kernel_options *o, const char *what, const char *v, int *flag)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(v, yes[i]) == 0) { *flag = 1; return; }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(v, no[i]) == 0) { *flag = 0; return; }
    warn(o, "%s \"%s\": expected 1 or 0; ignored", what, v);
}

static void from_env(struct kernel_options *o)
{
    const char *v;
    if ((v = getenv("NBSTAGE_WRAP")) && *v) { o->wrap = v; o->wrap_from_env = 1; }
    if ((v = getenv("NBSTAGE_MODEL")) && *v) { o->model = v; o->model_from_env = 1; }
    if ((v = getenv("NBSTAGE_TAG_POSITION")) && *v) set_position(o, "NBSTAGE_TAG_POSITION", v);
    if ((v = getenv("NBSTAGE_NO_BADGE"))) set_flag(o, "NBSTAGE_NO_BADGE", v, &o->display.no_badge);
    if ((v = getenv("NBSTAGE_ANY_LANGUAGE"))) set_flag(o, "NBSTAGE_ANY_LANGUAGE", v, &o->any_language);
    if ((v = getenv("NBSTAGE_MIN_CONFIDENCE")) && *v) set_min_confidence(o, "NBSTAGE_MIN_CONFIDENCE", v);
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

/* 1 for an ASCII character of Python's \w (a word character, as re matches it). */
static int word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* 1 when the N bytes at A are a key traitlets' argument parser takes for any name
 * (loader.py's class_trait_opt_pattern, ^-?-[A-Za-z]\w*(\.\w+)*$), with a dot at least
 * when DOTTED: a setting's "--Class.trait" (or "-Class.trait").  A key without one is
 * an alias or flag of the kernel's own (--debug, --matplotlib), not ours to pass on.
 * Only ASCII: a non-ASCII word character, which Python's \w also takes, has no use in
 * a class or trait name. */
static int traitlets_key(const char *a, size_t n, int dotted)
{
    size_t i = a[0] == '-' && n > 1 && a[1] == '-' ? 2 : 1;
    if (n <= i || a[0] != '-' || !isalpha((unsigned char)a[i])) return 0;
    int dots = 0;
    for (i++; i < n; i++) {
        if (a[i] == '.') {
            if (i + 1 >= n || !word_char(a[i + 1])) return 0;
            dots++;
        } else if (!word_char(a[i])) {
            return 0;
        }
    }
    return dots > 0 || !dotted;
}

/* 1 for a setting in one argument, "--Class.trait=value" (the value may be empty). */
static int traitlets_setting(const char *a)
{
    const char *eq = strchr(a, '=');
    return eq && traitlets_key(a, (size_t)(eq - a), 1);
}

/* 1 for a setting's key alone, "--Class.trait", whose value is the next argument. */
static int traitlets_key_alone(const char *a)
{
    return !strchr(a, '=') && traitlets_key(a, strlen(a), 1);
}

/* 1 when V, the argument after a key alone, is that setting's value, as argparse (which
 * traitlets parses ipykernel's argv with) takes it: anything not starting with '-', a
 * lone "-", a negative number (-1, -.5), and, starting with '-', one with a space in it
 * unless argparse reads it as an option all the same (a "--name=a b" setting, or
 * one of ipykernel's one-letter options -c, -f, -m and argparse's -h followed by its
 * value, "-c x").  Anything else (--debug, -x, a missing value) is no value: ipykernel
 * alone stops at start then ("expected one argument"). */
static int traitlets_value(const char *v)
{
    if (v[0] != '-' || v[1] == 0) return 1;
    const char *d = v + 1;
    while (isdigit((unsigned char)*d)) d++;
    if (*d == '.' && isdigit((unsigned char)d[1])) /* argparse's ^-\d+$|^-\d*\.\d+$ */
        for (d++; isdigit((unsigned char)*d);) d++;
    else if (d == v + 1)
        d = NULL; /* not a number: no digit */
    if (d && *d == 0) return 1;
    if (!strchr(v, ' ')) return 0;
    const char *eq = strchr(v, '=');
    if (eq && traitlets_key(v, (size_t)(eq - v), 0)) return 0;
    return !(v[1] != '-' && strchr("cfhm", v[1]));
}

/* Keeps the wrapped kernel's N arguments at ARGV (a setting: one, or a key alone and
 * its value) for it, in order; a warning, naming the first, when they do not fit. */
static void keep_for_child(struct kernel_options *o, char **argv, int n)
{
    if (o->n_child_args + n > OPTIONS_CHILD_ARGS) { /* the 64 below is OPTIONS_CHILD_ARGS */
        _Static_assert(OPTIONS_CHILD_ARGS == 64, "the warning names the limit");
        warn(o, "too many --Class.trait settings (at most 64 arguments): \"%s\"%s; ignored", argv[0],
             n > 1 ? " and its value" : "");
        return;
    }
    for (int k = 0; k < n; k++) o->child_args[o->n_child_args++] = argv[k];
}

int options_parse(int argc, char **argv, struct kernel_options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->wrap = "python3";
    o->display.position_top = 1; /* early publication: off the idle's critical path */
    from_env(o); /* the command line, read next, wins */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { o->help = 1; return 0; }
        if (strcmp(a, "--version") == 0) { o->version = 1; return 0; }
        else if (strcmp(a, "--no-badge") == 0) o->display.no_badge = 1;
        else if (strcmp(a, "--any-language") == 0) o->any_language = 1;
        else if ((v = value_of("-f", argc, argv, &i)) || (v = value_of("--connection-file", argc, argv, &i)))
            o->connection_file = v;
        else if ((v = value_of("--wrap", argc, argv, &i))) { o->wrap = v; o->wrap_from_env = 0; }
        else if ((v = value_of("--model", argc, argv, &i))) {
            if (*v) o->model = v, o->model_from_env = 0; /* an empty one is ignored, as NBSTAGE_MODEL="" is */
            else warn(o, "%s \"%s\": no file named; ignored", "--model", v);
        }
        else if ((v = value_of("--tag-position", argc, argv, &i))) set_position(o, "--tag-position", v);
        else if ((v = value_of("--min-confidence", argc, argv, &i)))
            set_min_confidence(o, "--min-confidence", v);
        else if (strcmp(a, "-f") == 0 || strcmp(a, "--connection-file") == 0 || strcmp(a, "--wrap") == 0) {
            snprintf(err, errlen, "%s needs a value", a);
            return -1;
        } else if (traitlets_setting(a)) {
            keep_for_child(o, argv + i, 1); /* the wrapped kernel's */
        } else if (traitlets_key_alone(a) && i + 1 < argc && traitlets_value(argv[i + 1])) {
            keep_for_child(o, argv + i, 2); /* traitlets' other form, "--Class.trait value" */
            i++;
        } else
            warn(o, "unknown option or missing value: \"%s\"%s; ignored", a, "");
    }
    if (!o->connection_file) { snprintf(err, errlen, "no connection file (-f FILE)"); return -1; }
    if (!o->wrap[0]) { snprintf(err, errlen, "--wrap: empty kernel name"); return -1; }
    return 0;
}

/* Appends "nbstage: PREFIX" and LEN bytes of TEXT and a newline to OUT (USED bytes in
 * it), when the whole line fits in CAP. */
static void notice_line(char *out, size_t cap, size_t *used, const char *prefix, const char *text,
                        size_t len)
{
    int n = snprintf(out + *used, cap - *used, "nbstage: %s%.*s\n", prefix, (int)len, text);
    if (n >= 0 && (size_t)n < cap - *used) *used += (size_t)n;
    else out[*used] = 0; /* a line cut short would say less than it seems to */
}

void options_notice(const struct kernel_options *o, const char *no_tags, char *out, size_t cap)
{
    size_t used = 0;
    if (!cap) return;
    out[0] = 0;
    if (no_tags) { /* the reason names the model's path as given: shown as messages show it */
        char shown[NB_SHOWN_MAX];
        const char *s = nb_shown(no_tags, shown, sizeof shown);
        notice_line(out, cap, &used, "no stage tags in this session: ", s, strlen(s));
    }
    for (const char *w = o->warnings, *nl; (nl = strchr(w, '\n')); w = nl + 1)
        notice_line(out, cap, &used, "warning: ", w, (size_t)(nl - w));
}
