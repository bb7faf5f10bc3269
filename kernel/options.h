/* options.h — the stage kernel's command line and environment.
 *
 *   nbstage-kernel -f CONNECTION_FILE [--wrap NAME] [--model FILE]
 *                  [--tag-position top|bottom] [--no-badge] [--min-confidence P]
 *                  [--any-language]
 *
 * Each option also reads from the environment (the kernelspec's "env" can set them):
 * NBSTAGE_WRAP, NBSTAGE_MODEL, NBSTAGE_TAG_POSITION, NBSTAGE_NO_BADGE (1/0),
 * NBSTAGE_MIN_CONFIDENCE, NBSTAGE_ANY_LANGUAGE (1/0).  The command line wins.  "--opt=value" works too.
 * The tag position defaults to top: the tag is then published as soon as it may be,
 * while the cell runs (kernel/tagorder.h).
 *
 * Only Jupyter starts the kernel, and it restarts one that exits at once, five times,
 * before it shows it dead: a display option with a bad value (from argv or the
 * environment) and an option the kernel does not know are therefore warnings, named
 * in WARNINGS for the server's log, and the kernel runs without them (as ipykernel
 * runs past options it does not know).  Only a missing connection file or an empty or
 * missing --wrap, without which nothing can run, are errors.
 *
 * What the log says is also said where the user looks: options_notice turns the
 * warnings (and why the session has no stage tags, when it has none) into the text the
 * proxy shows once, in the first executed cell's outputs (kernel/tagorder.h, "The
 * notice").  A good --no-badge or --min-confidence is the user's choice, not a failure:
 * the cells go without a visible badge or a tag then, and nothing is said.
 *
 * A traitlets setting (what a frontend's extra_arguments add to the kernelspec's argv:
 * nbconvert's --ExecutePreprocessor.extra_arguments, jupyter console's) is the wrapped
 * kernel's: kept in CHILD_ARGS, in order, as given, and given to it after its own argv,
 * where jupyter_client would have put it.  A setting is what traitlets' parser (which
 * ipykernel reads its argv with) takes as one: "--Class.trait=value", or the key alone,
 * "--Class.trait", and its value in the next argument (then kept as those two), the
 * value being what argparse takes for one (not "--debug" or "-x": the key alone is then
 * warned about, as missing its value, where ipykernel alone would stop at start).
 *
 * --any-language: a wrapped kernel whose language is not Python (nbformat/nblang.h's
 * rule, as install-kernel reads it) is relayed untagged without it, by whatever route
 * it was chosen (a hand-written kernelspec, NBSTAGE_WRAP); main_kernel.c decides.
 */
#ifndef NBSTAGE_OPTIONS_H
#define NBSTAGE_OPTIONS_H

#include <stddef.h>

#include "model/stage_output.h"

enum { OPTIONS_CHILD_ARGS = 64 };

struct kernel_options {
    const char *connection_file;          /* -f */
    const char *wrap;                     /* kernelspec name, default "python3" */
    int wrap_from_env;                    /* WRAP is NBSTAGE_WRAP's: the log names that */
    const char *model;                    /* NULL: model_default_path() */
    int model_from_env;                   /* MODEL is NBSTAGE_MODEL's (model_default_path's
                                             too, which names it so in errors) */
    struct stage_display_options display; /* position, badge, minimum confidence */
    int any_language;                     /* tag a kernel of another language than Python */
    int help;                             /* --help given */
    int version;                          /* --version given */
    char warnings[1024];                  /* "" or lines, each ending in '\n': what was ignored */
    const char *child_args[OPTIONS_CHILD_ARGS]; /* traitlets settings' arguments, argv's */
    int n_child_args;
};

/* 0 and fills O (with what it ignored in O->warnings); -1 with the reason in ERR
 * (no -f, an empty or missing --wrap or -f value). */
int options_parse(int argc, char **argv, struct kernel_options *o, char *err, size_t errlen);

/* The notice for the user (see above) into OUT (CAP bytes, cut to fit, always whole
 * lines when CAP allows): "nbstage: no stage tags in this session: NO_TAGS\n" when
 * NO_TAGS is not NULL (the reason, as the log gives it: "PATH: what is wrong with it"),
 * then "nbstage: warning: W\n" for each line W of O's warnings.  "" when there is
 * nothing to say: a model loaded, and no option ignored. */
void options_notice(const struct kernel_options *o, const char *no_tags, char *out, size_t cap);

/* --help's text, a printf format: its first %s is the shipped model's path (where the
 * program looks for it, found or not: PREFIX/share/nbstage/default.nbsm once
 * installed, not the checkout's share/default.nbsm), its second what follows the path:
 * ",\n<indent>which is missing" when it is not there, else "" (as classify --help).
 * Its usage lines have no %. */
extern const char options_usage[];

#endif
