/* cmd_install_kernel.c — `nbstage install-kernel`: makes the stage kernel selectable in
 * Jupyter, or takes it away again.
 *
 * Owns: the command line, the spec's folder name (Jupyter's lower-case kernel name, or
 * the folder there that differs from it only in case), finding nbstage-kernel beside
 * this program, checking the kernel to wrap exists (and is not itself a stage
 * kernel, nor, unless --any-language, one of another language than Python by the rule
 * the batch commands leave such notebooks alone by: nbformat/nblang.h), and the
 * defaults taken from it (display name, language, interrupt mode, resources), and
 * warnings when the kernel could not read the --model given or Jupyter does not search
 * the folder the spec went into.  kernel/kernelspec.h writes the files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kernel/kernelspec.h"
#include "kernel/kernelspec_find.h"
#include "model/commands.h"
#include "model/model.h"
#include "nbformat/nblang.h"
#include "nbformat/jsonload.h"
#include "nbformat/notebook.h"
#include "nbformat/sharefile.h"

static const char usage_text[] =
    "usage: nbstage install-kernel [--wrap NAME] [--name N] [--display-name D]\n"
    "                              [--user | --sys-prefix | --prefix P] [--remove]\n"
    "                              [--model FILE] [--tag-position top|bottom]\n"
    "                              [--no-badge] [--min-confidence P] [--any-language]\n"
    "\n"
    "Installs the kernelspec of the stage kernel, which runs the kernel NAME (default\n"
    "python3) and tags every executed cell with its workflow stage.\n"
    "\n"
    "options:\n"
    "  --wrap NAME          the kernelspec to wrap (default python3)\n"
    "  --name N             the new kernelspec's name (default nbstage, or\n"
    "                       nbstage-NAME), in lower case as Jupyter names kernels\n"
    "  --display-name D     its name in Jupyter's menus (default \"Python 3 (workflow\n"
    "                       stages)\", or the wrapped one's + \" (workflow stages)\")\n"
    "  --user               into the user's Jupyter data folder (the default)\n"
    "  --sys-prefix         into the active environment's share/jupyter (/usr for\n"
    "                       Debian's)\n"
    "  --prefix P           into P/share/jupyter (Jupyter looks there when\n"
    "                       JUPYTER_PATH names it; a warning says when it does not)\n"
    "  --remove             remove the kernelspec N (its whole folder, as jupyter\n"
    "                       kernelspec remove does) from that place instead\n"
    "  --any-language       wrap a kernel whose language is not Python too (refused\n"
    "                       without it: its cells' stages would be the Python model's\n"
    "                       guesses, most often wrong); passed on to nbstage-kernel,\n"
    "                       which tags such a kernel's cells only when given it\n"
    "  --model FILE, --tag-position top|bottom, --no-badge, --min-confidence P\n"
    "                       passed on to nbstage-kernel (see nbstage-kernel --help);\n"
    "                       a --model that does not exist is refused; one it cannot\n"
    "                       read is named (the spec is still installed: the kernel\n"
    "                       reads the file each time it starts)\n"
    "  -h, --help           this help\n"
    "\n"
    "exit: 0 done, 1 nothing to remove, 2 usage or I/O error.\n";

struct install_args {
    const char *wrap, *name, *display_name, *prefix, *model, *position, *min_confidence;
    enum kernelspec_scope scope;
    int scope_given, remove, no_badge, any_language;
};

static int set_scope(struct install_args *a, enum kernelspec_scope s)
{
    if (a->scope_given && a->scope != s) {
        fprintf(stderr, "nbstage install-kernel: choose one of --user, --sys-prefix, --prefix\n");
        return -1;
    }
    a->scope = s, a->scope_given = 1;
    return 0;
}

/* 0 and fills A; 1 after --help; -1 on a usage error (already reported).  getopt_long,
 * as every other command parses its options: a hand-made loop took no abbreviation
 * (`--sys` for --sys-prefix, which tag's `--dry` for --dry-run is) and worded -Z
 * otherwise than getopt does. */
static int parse_args(int argc, char **argv, struct install_args *a)
{
    enum { O_WRAP = 256, O_NAME, O_DISPLAY, O_PREFIX, O_MODEL, O_POSITION, O_MINCONF, O_USER,
           O_SYS_PREFIX, O_REMOVE, O_NO_BADGE, O_ANY_LANGUAGE };
    static const struct option longopts[] = {
        {"wrap", required_argument, NULL, O_WRAP},
        {"name", required_argument, NULL, O_NAME},
        {"display-name", required_argument, NULL, O_DISPLAY},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"model", required_argument, NULL, O_MODEL},
        {"tag-position", required_argument, NULL, O_POSITION},
        {"min-confidence", required_argument, NULL, O_MINCONF},
        {"user", no_argument, NULL, O_USER},
        {"sys-prefix", no_argument, NULL, O_SYS_PREFIX},
        {"remove", no_argument, NULL, O_REMOVE},
        {"no-badge", no_argument, NULL, O_NO_BADGE},
        {"any-language", no_argument, NULL, O_ANY_LANGUAGE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->scope = KS_USER;
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    int c, li;
    while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        const char **value = NULL;
        switch (c) {
        case 'h': fputs(usage_text, stdout); return 1;
        case O_USER: if (set_scope(a, KS_USER)) return -1; continue;
        case O_SYS_PREFIX: if (set_scope(a, KS_SYS_PREFIX)) return -1; continue;
        case O_REMOVE: a->remove = 1; continue;
        case O_NO_BADGE: a->no_badge = 1; continue;
        case O_ANY_LANGUAGE: a->any_language = 1; continue;
        case O_WRAP: value = &a->wrap; break;
        case O_NAME: value = &a->name; break;
        case O_DISPLAY: value = &a->display_name; break;
        case O_PREFIX: value = &a->prefix; break;
        case O_MODEL: value = &a->model; break;
        case O_POSITION: value = &a->position; break;
        case O_MINCONF: value = &a->min_confidence; break;
        default: cmd_usage_error(argv[0], usage_text); return -1; /* getopt said why */
        }
        if (!*optarg) {
            nb_say(stderr, "nbstage install-kernel: --%s needs a non-empty value", longopts[li].name);
            return -1;
        }
        *value = optarg;
        if (c == O_PREFIX && set_scope(a, KS_PREFIX)) return -1;
    }
    if (optind < argc) {
        nb_say(stderr, "nbstage install-kernel: unexpected argument '%s' (it takes options only)", argv[optind]);
        cmd_usage_error(argv[0], usage_text);
        return -1;
    }
    if (a->position && strcmp(a->position, "top") && strcmp(a->position, "bottom")) {
        nb_say(stderr, "nbstage install-kernel: --tag-position \"%s\": expected top or bottom",
               a->position);
        return -1;
    }
    if (a->min_confidence) {
        char *end;
        double p = strtod(a->min_confidence, &end);
        if (end == a->min_confidence || *end || !(p >= 0 && p <= 1)) {
            nb_say(stderr, "nbstage install-kernel: --min-confidence \"%s\": expected a number "
                           "in [0, 1]", a->min_confidence);
            return -1;
        }
    }
    if (!a->wrap) a->wrap = "python3";
    return 0;
}

/* PATH of nbstage-kernel: beside this program, whether in a build tree or installed. */
static int kernel_program(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        nb_say(stderr, "nbstage install-kernel: /proc/self/exe: %s", strerror(errno));
        return -1;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash) *slash = 0;
    if (snprintf(out, cap, "%s/nbstage-kernel", self) >= (int)cap) {
        nb_say(stderr, "nbstage install-kernel: %s: path too long", self);
        return -1;
    }
    if (access(out, X_OK) != 0) {
        nb_say(stderr, "nbstage install-kernel: %s: %s (build it with `make`)", out,
               strerror(errno));
        return -1;
    }
    return 0;
}

/* The kernel.json of ipykernel's built-in python3 kernelspec (kernel/kernelspec_find.h),
 * as far as install-kernel reads it: ipykernel.kernelspec.get_kernel_dict's names.  Its
 * "metadata" (whether debugpy is there) depends on a Python we do not run: left out. */
static json_t *native_spec_json(void)
{
    return json_pack("{s:s, s:s}", "display_name", "Python 3 (ipykernel)", "language", "python");
}

/* 1 when the spec KS (its kernel.json WRAPPED) is a stage kernel: written by nbstage,
 * or running nbstage-kernel anywhere in its argv (/usr/bin/env nbstage-kernel ...).
 * Wrapping one would start stage kernels forever; the kernel would refuse at start
 * (main_kernel.c), but better said now. */
static int is_stage_kernel(const struct found_kernelspec *ks, json_t *wrapped)
{
    if (json_is_object(json_object_get(json_object_get(wrapped, "metadata"), "nbstage"))) return 1;
    for (size_t i = 0; i < ks->argc; i++) {
        const char *base = strrchr(ks->argv[i], '/');
        if (strcmp(base ? base + 1 : ks->argv[i], "nbstage-kernel") == 0) return 1;
    }
    return 0;
}

/* --name N where Jupyter already lists another kernel N (`--name ir`, over the R
 * kernel): said, as the name of the kernel it wraps is refused (a stage kernel of ours
 * in another folder is no news). */
static void warn_if_it_hides(const char *name, const char *kdir)
{
    struct found_kernelspec other;
    char err[4400], path[4200], mine[PATH_MAX], theirs[PATH_MAX];
    if (kernelspec_find(name, &other, err, sizeof err)) return;
    snprintf(path, sizeof path, "%s/kernel.json", other.dir);
    json_t *spec = other.builtin ? native_spec_json() : nb_json_load_file(path, 0, NULL);
    int same = !other.builtin && realpath(kdir, mine) && realpath(other.dir, theirs) &&
               !strncmp(theirs, mine, strlen(mine)) && theirs[strlen(mine)] == '/';
    if (!same && !is_stage_kernel(&other, spec))
        nb_say(stderr, "nbstage install-kernel: warning: --name \"%s\" is the name of %s%s (%s): "
                       "Jupyter will list one of the two only", name,
               other.builtin ? "ipykernel's built-in kernel" : "the kernel in ", other.builtin ? "" : other.dir,
               json_is_string(json_object_get(spec, "display_name"))
                    ? json_string_value(json_object_get(spec, "display_name")) : "no display name");
    json_decref(spec);
    kernelspec_found_free(&other);
}

/* The folder in KDIR for the kernel NAME: Jupyter knows kernels by their folder's name
 * in lower case (jupyter_client lists "MyStage/" as mystage, and `jupyter kernelspec
 * install` writes names in lower case), so an existing folder whose name differs only
 * in case is NAME's (replaced or removed, never a second one beside it), and a new one
 * is NAME in lower case.  Returns OUT. */
static const char *spec_folder(const char *kdir, const char *name, char *out, size_t cap)
{
    if (strlen(name) >= cap) return name; /* too long for any folder: refused later */
    size_t i = 0;
    for (; name[i]; i++) out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = 0;
    DIR *d = opendir(kdir);
    if (!d) return out;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcasecmp(e->d_name, name) == 0 && strlen(e->d_name) < cap) {
            memcpy(out, e->d_name, strlen(e->d_name) + 1);
            if (strcmp(e->d_name, name) == 0) break; /* the exact name first */
        }
    closedir(d);
    return out;
}

/* The line saying what was done could not be written (a full disk, stdout closed):
 * said with the reason, exit 2, as every command does; what was done stays done. */
static int said(const char *done)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return EXIT_OK;
    nb_say(stderr, "nbstage install-kernel: <stdout>: write error: %s (the kernelspec is %s)",
           strerror(errno ? errno : EIO), done);
    return EXIT_USAGE;
}

/* One word of an old kernelspec's argv (or KEY=word of its env) to the line TO, after
 * a space: quoted '...' when it holds a space, a tab or a quote, as a shell would need
 * it, and shown as messages show names (nb_put_shown: a newline, an escape sequence
 * or a backslash in it escaped), for kernel.json is anybody's text. */
static void say_word(FILE *to, const char *key, const char *w)
{
    int quote = strpbrk(w, " \t\"'") != NULL;
    fputc(' ', to);
    if (key) {
        nb_put_shown(to, key, strlen(key));
        fputc('=', to);
    }
    if (quote) fputc('\'', to);
    nb_put_shown(to, w, strlen(w));
    if (quote) fputc('\'', to);
}

/* A reinstall replaces the kernelspec of that name, as `jupyter kernelspec install`
 * does; where the one replaced ran another command (another nbstage-kernel, a --model
 * or option of the user's own that `make run` or a plain reinstall does not repeat),
 * it is said, so that the user can put it back.  OLD: the kernel.json that was there. */
static void say_replaced(json_t *old, const char *installed, int display_given)
{
    json_t *old_argv = json_object_get(old, "argv");
    if (!json_is_array(old_argv)) return;
    char path[4200];
    if (snprintf(path, sizeof path, "%s/kernel.json", installed) >= (int)sizeof path) return;
    json_t *now = nb_json_load_file(path, 0, NULL);
    /* each note made of its words is written whole (nb_line_begin), in one write(2) */
    struct nb_line line;
    if (!json_equal(old_argv, json_object_get(now, "argv"))) {
        FILE *to = nb_line_begin(&line, stderr);
        fprintf(to, "nbstage install-kernel: note: it replaces a kernelspec that ran:");
        size_t i;
        json_t *v;
        json_array_foreach(old_argv, i, v)
        {
            const char *w = json_is_string(v) ? json_string_value(v) : "?";
            say_word(to, NULL, w);
        }
        fputc('\n', to);
        nb_line_end(&line);
    }
    /* what a reinstall drops besides argv: a kernelspec's env (the README's other way
     * to set the kernel's options) and a display name of the user's */
    json_t *old_env = json_object_get(old, "env");
    if (json_object_size(old_env) && !json_equal(old_env, json_object_get(now, "env"))) {
        FILE *to = nb_line_begin(&line, stderr);
        fprintf(to, "nbstage install-kernel: note: it replaces a kernelspec whose \"env\" set:");
        const char *k;
        json_t *v;
        json_object_foreach(old_env, k, v)
        {
            const char *w = json_is_string(v) ? json_string_value(v) : "?";
            say_word(to, k, w);
        }
        fputc('\n', to);
        nb_line_end(&line);
    }
    json_t *old_name = json_object_get(old, "display_name");
    const char *on = json_string_value(old_name), *def = " (workflow stages)";
    size_t ol = on ? strlen(on) : 0, dl = strlen(def);
    int was_default = ol >= dl && !strcmp(on + ol - dl, def); /* as install-kernel names them */
    if (on && !display_given && !was_default && !json_equal(old_name, json_object_get(now, "display_name")))
        nb_say(stderr, "nbstage install-kernel: note: it replaces a kernelspec shown as \"%s\" "
                       "(--display-name keeps a name of yours)", json_string_value(old_name));
    json_decref(now);
}

/* The files and folders not nbstage's that a removal took (R), said on stderr: WHEN
 * says whether the removal went through or stopped after them. */
static void say_others(const struct kernelspec_removal *r, const char *when)
{
    if (!r->n_others) return;
    char more[64] = "";
    if (r->n_listed < r->n_others) snprintf(more, sizeof more, " and %d more", r->n_others - r->n_listed);
    nb_say(stderr, "nbstage install-kernel: note: its folder also held %s%s, not nbstage's, removed %s "
                   "(as `jupyter kernelspec remove` removes a kernelspec's whole folder)",
           r->others, more, when);
}

/* --remove: the spec's folder as `jupyter kernelspec remove` removes it, whole
 * (kernel/kernelspec.h); what went besides the spec's own files is said, so that
 * nothing of the user's goes unsaid, also when the removal stopped part way. */
static int do_remove(const char *kdir, const char *name)
{
    char err[4400];
    struct kernelspec_removal r;
    int rc = kernelspec_remove(kdir, name, &r, err, sizeof err);
    if (rc < 0) {
        nb_say(stderr, "nbstage install-kernel: %s", err);
        say_others(&r, "before it stopped");
        return EXIT_USAGE;
    }
    if (rc == 1) {
        nb_say(stderr, "nbstage install-kernel: no kernelspec \"%s\" in %s", name, kdir);
        return EXIT_FINDINGS;
    }
    nb_say(stdout, "Removed kernelspec %s from %s", name, kdir);
    if (r.link)
        nb_say(stderr, "nbstage install-kernel: note: %s/%s was a symbolic link: the link is removed, "
                       "the folder it points to is left as it was", kdir, name);
    say_others(&r, "with it");
    return said("removed");
}

/* One install-kernel call: its options and what its steps hand each other; a member is
 * zeroed until its step fills it. */
struct install_call {
    struct install_args a;
    int default_wrap;              /* --wrap python3, in any case */
    const char *name;              /* the spec's name, then its folder's (spec_folder) */
    char name_buf[300];            /* the default name */
    char kdir[4096];               /* the kernels folder of the scope chosen */
    char folder[4096];             /* spec_folder's answer */
    char kernel[PATH_MAX];         /* nbstage-kernel */
    struct found_kernelspec found; /* the kernel wrapped */
    json_t *wrapped;               /* its kernel.json */
    const char *language;          /* its "language", or NULL */
    const char *display;           /* --display-name, else the default */
    char display_buf[1024];
    char model_abs[PATH_MAX];      /* --model made absolute */
    const char *options[10];       /* passed on to nbstage-kernel, NULL-terminated */
};

/* The spec's name: --name, else nbstage (or nbstage-NAME for another kernel); -1 said
 * when Jupyter could not take it for a folder's name. */
static int choose_name(struct install_call *c)
{
    c->default_wrap = strcasecmp(c->a.wrap, "python3") == 0;
    c->name = c->a.name;
    if (!c->name) {
        snprintf(c->name_buf, sizeof c->name_buf, c->default_wrap ? "nbstage" : "nbstage-%s", c->a.wrap);
        c->name = c->name_buf;
    }
    if (!kernelspec_name_ok(c->name)) {
        nb_say(stderr, "nbstage install-kernel: kernel name \"%s\": use letters, digits, "
                       "'.', '_' and '-'", c->name);
        return -1;
    }
    return 0;
}

/* The kernels folder of the scope chosen, and the name of the spec's folder in it
 * (spec_folder: an existing one that differs only in case is the name's); -1 said. */
static int find_spec_folder(struct install_call *c)
{
    char err[4400];
    if (kernelspec_kernels_dir(c->a.scope, c->a.prefix, c->kdir, sizeof c->kdir, err, sizeof err)) {
        nb_say(stderr, "nbstage install-kernel: %s", err);
        return -1;
    }
    c->name = spec_folder(c->kdir, c->name, c->folder, sizeof c->folder);
    return 0;
}

/* A name that would hide the kernel wrapped is refused (-1 said); one that another
 * kernel Jupyter lists has is said (warn_if_it_hides). */
static int check_name(const struct install_call *c)
{
    if (strcasecmp(c->name, c->a.wrap) == 0) {
        nb_say(stderr, "nbstage install-kernel: --name \"%s\" would hide the kernel it wraps; "
                       "choose another name", c->name);
        return -1;
    }
    warn_if_it_hides(c->name, c->kdir);
    return 0;
}

/* The kernel to wrap found as Jupyter finds it, and its kernel.json read; -1 said when
 * there is none (then nothing is left to free). */
static int find_wrapped(struct install_call *c)
{
    char err[4400], spec_path[4200];
    if (kernelspec_find(c->a.wrap, &c->found, err, sizeof err)) {
        nb_say(stderr, "nbstage install-kernel: --wrap: %s", err);
        return -1;
    }
    snprintf(spec_path, sizeof spec_path, "%s/kernel.json", c->found.dir);
    /* (found already validated the file) */
    c->wrapped = c->found.builtin ? native_spec_json() : nb_json_load_file(spec_path, 0, NULL);
    return 0;
}

/* The kernel wrapped refused (-1 said) when it is a stage kernel itself, or not a
 * Python one without --any-language; its language kept. */
static int check_wrapped(struct install_call *c)
{
    if (is_stage_kernel(&c->found, c->wrapped)) {
        nb_say(stderr, "nbstage install-kernel: --wrap %s: %s is itself a stage kernel",
               c->a.wrap, c->found.dir);
        return -1;
    }
    const json_t *language_v = json_object_get(c->wrapped, "language");
    c->language = json_string_value(language_v);
    /* The rules and the model read Python: an R or Julia kernel's every cell would get
     * a stage that means nothing, as tag would give an R notebook's without
     * --any-language.  No "language" (or a blank one) is Python, as for a notebook. */
    struct nb_lang lang;
    nb_lang_of_name(c->language, json_string_length(language_v), &lang);
    if (!lang.python && !c->a.any_language) {
        nb_say(stderr, "nbstage install-kernel: --wrap %s: its language is %s, not Python: "
                       "the stage kernel would give its cells stages that mean nothing "
                       "(--any-language installs it all the same)", c->a.wrap, lang.name);
        return -1;
    }
    return 0;
}

/* The name in Jupyter's menus: --display-name, else the wrapped kernel's (or --wrap's)
 * with " (workflow stages)". */
static void choose_display(struct install_call *c)
{
    const char *wrapped_display = json_string_value(json_object_get(c->wrapped, "display_name"));
    c->display = c->a.display_name;
    if (!c->display && c->default_wrap) c->display = "Python 3 (workflow stages)";
    if (!c->display) {
        snprintf(c->display_buf, sizeof c->display_buf, "%s (workflow stages)",
                 wrapped_display ? wrapped_display : c->a.wrap);
        c->display = c->display_buf;
    }
}

/* The options passed on to nbstage-kernel, in its argv's order; -1 said when --model
 * cannot be made absolute. */
static int kernel_options(struct install_call *c)
{
    const struct install_args *a = &c->a;
    const char **options = c->options;
    int n_opt = 0;
    /* the kernel starts in the notebook's folder: give it an absolute model path */
    if (a->model) {
        if (!realpath(a->model, c->model_abs)) {
            nb_say(stderr, "nbstage install-kernel: --model %s: %s", a->model, strerror(errno));
            return -1;
        }
        options[n_opt++] = "--model", options[n_opt++] = c->model_abs;
    }
    if (a->position) options[n_opt++] = "--tag-position", options[n_opt++] = a->position;
    if (a->no_badge) options[n_opt++] = "--no-badge";
    if (a->min_confidence) options[n_opt++] = "--min-confidence", options[n_opt++] = a->min_confidence;
    /* asked for: the kernel would otherwise relay a kernel of another language untagged
     * (kernel/main_kernel.c) */
    if (a->any_language) options[n_opt++] = "--any-language";
    options[n_opt] = NULL;
    return 0;
}

/* The spec written (kernel/kernelspec.h), said on stdout, and what the one it replaced
 * ran that this one does not (say_replaced); -1 said when it could not be written. */
static int install_spec(const struct install_call *c)
{
    /* Jupyter interrupts the stage kernel as its spec says, and a signal-mode interrupt
     * reaches the child too (passed on, kernel/child.h): the child's own mode is the
     * one that works for it, "message" forwarded by the proxy, "signal" (the default)
     * sent. */
    const char *mode = json_string_value(json_object_get(c->wrapped, "interrupt_mode"));
    struct kernelspec_spec spec = {
        .name = c->name,
        .display_name = c->display,
        .language = c->language ? c->language : "python",
        .interrupt_mode = mode && strcmp(mode, "message") == 0 ? "message" : "signal",
        .metadata = json_object_get(c->wrapped, "metadata"),
        .kernel_path = c->kernel,
        .wrap = c->a.wrap,
        .options = c->options,
        .resource_dir = c->found.builtin ? NULL : c->found.dir, /* (its logos: in a Python we do not run) */
    };
    char installed[4096], old_path[4200], err[4400];
    json_t *old = NULL; /* NULL: nothing there (or unreadable) */
    if (snprintf(old_path, sizeof old_path, "%s/%s/kernel.json", c->kdir, c->name) < (int)sizeof old_path)
        old = nb_json_load_file(old_path, 0, NULL);
    if (kernelspec_install(c->kdir, &spec, installed, sizeof installed, err, sizeof err)) {
        nb_say(stderr, "nbstage install-kernel: %s", err);
        json_decref(old);
        return -1;
    }
    nb_say(stdout, "Installed kernelspec %s in %s", c->name, installed);
    nb_say(stdout, "  \"%s\", wraps %s (%s)", c->display, c->a.wrap,
           c->found.builtin ? "ipykernel's built-in kernelspec" : c->found.dir);
    say_replaced(old, installed, c->a.display_name != NULL);
    json_decref(old);
    return 0;
}

/* As jupyter_client's install_kernel_spec warns ("The kernelspec may not be found"):
 * --prefix P is a place Jupyter looks only when told. */
static void warn_if_not_searched(const struct install_call *c)
{
    if (kernelspec_dir_searched(c->kdir)) return;
    char share[sizeof c->kdir]; /* P/share/jupyter, KDIR being P/share/jupyter/kernels */
    memcpy(share, c->kdir, sizeof share);
    char *slash = strrchr(share, '/');
    if (slash) *slash = 0;
    nb_say(stderr, "nbstage install-kernel: warning: %s/kernels is not among the folders "
                   "Jupyter searches for kernels: it will not list %s until JUPYTER_PATH "
                   "names %s", share, c->name, share);
}

/* The model the kernel will read checked now, when the spec is already in place: said
 * when it cannot be read, or when it may not be the one the user means. */
static void warn_about_model(const struct install_call *c)
{
    if (c->a.model) {
        /* The kernel loads it at each start and, failing, relays without tags, saying so
         * in the server's log and in the first cell run: a truncated copy or a file of
         * another version would show in Jupyter as badges that never come, until then. */
        char why[1024];
        nbs_model *m = model_load(c->model_abs, why, sizeof why);
        if (m) model_free(m);
        else nb_say(stderr, "nbstage install-kernel: warning: --model %s: the stage kernel cannot read it, and "
                            "will run without stage tags until it can: %s", c->a.model, why);
    } else {
        /* The kernel, started by Jupyter, takes the shipped model beside itself, or
         * NBSTAGE_MODEL if Jupyter's own environment has it: this one's is not recorded
         * in the kernelspec.  The shipped one gone, the kernel runs untagged (an
         * installation with its share/ removed). */
        char shipped[4096], missing[NB_ERROR_MAX];
        const char *env = getenv("NBSTAGE_MODEL");
        if (env && *env)
            nb_say(stderr, "nbstage install-kernel: warning: NBSTAGE_MODEL=%s is not recorded in the kernelspec: "
                           "the stage kernel reads it only where Jupyter's environment has it too (--model "
                           "records it)", env);
        if (share_file_find("default.nbsm", shipped, sizeof shipped))
            nb_say(stderr, "nbstage install-kernel: warning: no model: %s: the stage kernel will run without "
                           "stage tags until it is there",
                   share_file_missing("default.nbsm", "or install the kernel again with --model FILE", missing,
                                      sizeof missing));
    }
}

/* Frees what find_wrapped took. */
static void install_call_free(struct install_call *c)
{
    json_decref(c->wrapped);
    kernelspec_found_free(&c->found);
}

int cmd_install_kernel(int argc, char **argv)
{
    struct install_call c = {0};
    int prc = parse_args(argc, argv, &c.a);
    if (prc) return prc > 0 ? EXIT_OK : EXIT_USAGE;
    if (choose_name(&c) || find_spec_folder(&c)) return EXIT_USAGE;
    if (c.a.remove) return do_remove(c.kdir, c.name);
    if (check_name(&c) || kernel_program(c.kernel, sizeof c.kernel) || find_wrapped(&c))
        return EXIT_USAGE;
    int rc = EXIT_USAGE;
    if (check_wrapped(&c)) goto out;
    choose_display(&c);
    if (kernel_options(&c) || install_spec(&c)) goto out;
    warn_if_not_searched(&c);
    warn_about_model(&c);
    rc = said("installed");
out:
    install_call_free(&c);
    return rc;
}
