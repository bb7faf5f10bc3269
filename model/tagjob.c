/* tagjob.c — one notebook of a `nbstage tag` run: read, tagged, reported, saved (see
 * tagjob.h).
 */
#include "model/tagjob.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbformat/nblang.h"
#include "nbformat/notebook.h"

char *tagjob_read(const char *path, size_t *len, struct stat *st, char *why, size_t whylen,
                  int *keep, long long *budget, struct read_room *room, int *in_room)
{
    int heap;
    if (!in_room) in_room = &heap;
    *in_room = 0;
    int is_stdin = !strcmp(path, "-");
    /* a regular file, fstat'd into ST; a FIFO put in its place since the walk is
     * refused, not waited on */
    int fd = is_stdin ? STDIN_FILENO : nb_open_regular(path, st, why, whylen);
    if (fd < 0) return NULL;
    if (is_stdin) memset(st, 0, sizeof *st); /* a pipe: no size to go by, no identity to keep */
    /* a read ahead within a window's byte budget only ("" in WHY: over it), charged
     * what it takes of ROOM below: the size and the 2 bytes past it */
    if (budget && tagjob_charge(budget, (long long)st->st_size + (room ? 2 : 0))) {
        why[0] = 0;
        close(fd);
        return NULL;
    }
    /* in ROOM when there is one: room for the size and one byte more, so that the
     * read which finds the end has somewhere to look (a file that grew meanwhile moves
     * to the heap) */
    size_t cap = (size_t)st->st_size + (room ? 2 : 4096), n = 0;
    char *buf = NULL;
    if (room && !is_stdin) {
        pthread_mutex_lock(&room->lock);
        buf = blockmem_take(&room->mem, cap);
        pthread_mutex_unlock(&room->lock);
    }
    *in_room = buf != NULL;
    if (!buf) buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) { /* the file grew while we read it */
            char *p = *in_room ? malloc(cap * 2) : realloc(buf, cap * 2);
            if (!p) {
                if (!*in_room) free(buf);
                buf = NULL;
                break;
            }
            if (*in_room) memcpy(p, buf, n);
            *in_room = 0;
            buf = p;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            if (!*in_room) free(buf);
            if (!is_stdin) close(fd);
            return NULL;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    if (!is_stdin) {
        if (keep && buf && n) *keep = fd;
        else close(fd);
    }
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (n == 0) {
        snprintf(why, whylen, "empty file");
        if (!*in_room) free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static const char *stage_or_none(int s) { return s >= 0 ? stage_key[s] : "none"; }

/* PATH's bytes are now BUF[0..LEN). */
static int holds(const char *path, const char *buf, size_t len)
{
    struct stat st;
    char why[PATH_MAX + 64];
    int fd = nb_open_regular(path, &st, why, sizeof why), same = 0;
    if (fd < 0) return 0;
    if ((size_t)st.st_size == len) {
        char chunk[65536];
        size_t off = 0;
        ssize_t n;
        while (off < len && (n = read(fd, chunk, sizeof chunk)) > 0 && (size_t)n <= len - off &&
               !memcmp(chunk, buf + off, (size_t)n))
            off += (size_t)n;
        same = off == len;
    }
    close(fd);
    return same;
}

static void print_changes(FILE *out, const char *path, const struct tag_result *res)
{
    for (size_t i = 0; i < res->n_changes; i++) {
        const struct tag_cell_change *c = &res->changes[i];
        fprintf(out, "%s#%zu: ", path, c->cell); /* the cell's id, as ingest and label write it */
        switch (c->kind) {
        case TAG_MISSING:
            fprintf(out, "add %s (%.3f)\n", stage_key[c->new_stage], c->new_conf);
            break;
        case TAG_STALE:
            if (c->old_stage == c->new_stage)
                fprintf(out, "repair %s (metadata and tags disagree)\n", stage_key[c->new_stage]);
            else
                fprintf(out, "%s -> %s (%.3f)\n", stage_or_none(c->old_stage),
                        stage_key[c->new_stage], c->new_conf);
            break;
        case TAG_REMOVE:
            fprintf(out, "remove %s (empty or comments only)\n", stage_or_none(c->old_stage));
            break;
        case TAG_REFRESH: /* the same confidence to 3 decimals: its model or metadata changed */
            if (c->old_conf >= 0 && tag_round(c->old_conf) != tag_round(c->new_conf))
                fprintf(out, "%s confidence %.3f -> %.3f\n", stage_key[c->new_stage], c->old_conf,
                        c->new_conf);
            else
                fprintf(out, "%s confidence %.3f (model or metadata refreshed)\n",
                        stage_key[c->new_stage], c->new_conf);
            break;
        case TAG_SAME: break;
        }
    }
}

/* Is NB, as read from BUF, laid out as it would be written?  If not, a rewrite
 * changes more than its tag lines (a file saved with indent 2, or compact), which
 * --dry-run and the "tagged" line say: a team reading the diff should not be
 * surprised.  Only asked of files off the fast path, which splices canonical ones. */
static int laid_out_as_written(const json_t *nb, const char *buf, size_t len)
{
    size_t n = 0;
    char *d = nb_dumps(nb, &n);
    int same = !d || (n == len && !memcmp(d, buf, len)); /* (no memory: not said) */
    free(d);
    return same;
}

/* Each thread's fast-path buffers, kept across its notebooks, freed when it ends
 * (the calling thread's by tagjob_thread_end). */
static pthread_key_t tagfast_key;
static pthread_once_t tagfast_once = PTHREAD_ONCE_INIT;

static void tagfast_destroy(void *tf)
{
    tagfast_free(tf);
    free(tf);
}

static void tagfast_key_make(void) { pthread_key_create(&tagfast_key, tagfast_destroy); }

static struct tagfast *thread_tagfast(void)
{
    pthread_once(&tagfast_once, tagfast_key_make);
    struct tagfast *tf = pthread_getspecific(tagfast_key);
    if (!tf && (tf = calloc(1, sizeof *tf)) && pthread_setspecific(tagfast_key, tf)) {
        free(tf);
        tf = NULL;
    }
    return tf;
}

void tagjob_thread_end(void)
{
    pthread_once(&tagfast_once, tagfast_key_make);
    struct tagfast *tf = pthread_getspecific(tagfast_key);
    if (tf) {
        tagfast_destroy(tf);
        pthread_setspecific(tagfast_key, NULL);
    }
}

/* One notebook being tagged: what the steps of tagjob_tag share. */
struct job_state {
    struct tagjob *j;
    const struct tagjob_options *o;
    FILE *out, *err;
    struct tag_gate *gate;
    const char *name;  /* the path, or "<stdin>": for nb_say, which escapes it */
    const char *shown; /* NAME as messages show it (nb_shown), for the report lines
                        * built with fprintf: a crawled file's name may hold an escape
                        * sequence or a newline */
    int is_stdin, in_place;
    char *buf; /* the file, LEN bytes */
    size_t len;
    struct stat st;
    int old_fd;   /* the file's descriptor, the closers' if it is replaced (-1: none) */
    int borrowed; /* BUF is in the window's read room: not ours to free */
    struct tag_options to;
    json_t *nb;          /* the jansson path's tree */
    char *bytes, *owned; /* what to write, OUTLEN bytes (OWNED: malloc'd here, else
                          * the thread's fast-path buffer or BUF) */
    size_t outlen;
    int same, relaid; /* relaid: the layout changes too */
};

/* What a step of tagjob_tag came to: tagged (BYTES ready unless --check), not for the
 * fast path (the jansson path's then), not Python (left as it is), failed (said). */
enum { JOB_TAGGED, JOB_UNSPLICED, JOB_NOT_PYTHON, JOB_FAILED };

static const char *layout_name(const struct tagjob_options *o)
{
    return o->nbformat_layout ? "nbformat.write's layout" : "the canonical layout";
}

/* -o -, or '-' alone: the notebook itself goes to standard output. */
static int goes_to_stdout(const struct job_state *t)
{
    return (t->o->output && !strcmp(t->o->output, "-")) || (t->is_stdin && !t->o->output);
}

/* The notebook's bytes: taken from its read ahead (J->prep), or read now.  Said, and
 * the job failed, when it cannot be read. */
static int take_notebook(struct job_state *t)
{
    struct tagjob_prep *prep = t->j->prep;
    char why[512];
    if (prep) { /* read ahead: the file is ours now (or lent, in the window's read room) */
        t->buf = prep->buf;
        t->borrowed = prep->in_room;
        t->len = prep->len;
        t->st = prep->st;
        t->old_fd = prep->old_fd;
        prep->buf = NULL;
        prep->old_fd = -1;
        if (!t->buf) snprintf(why, sizeof why, "%s", prep->why);
    } else {
        t->buf = tagjob_read(t->j->path, &t->len, &t->st, why, sizeof why,
                             t->in_place ? &t->old_fd : NULL, NULL, NULL, NULL);
    }
    if (!t->buf) {
        nb_say(t->err, "nbstage tag: %s: %s", t->name, why);
        t->j->failed = 1;
        return -1;
    }
    return 0;
}

/* The fast path: a canonical notebook tagged from its bytes and spliced, no tree
 * (tagfast.h), with the classifications asked for ahead when it was scanned ahead.
 * JOB_UNSPLICED for anything else (and when the language cannot be read from the
 * metadata's bytes), which the jansson path decides. */
static int tag_spliced(struct job_state *t)
{
    struct tagjob *j = t->j;
    const struct tagjob_options *o = t->o;
    struct tagjob_prep *prep = j->prep;
    struct tagfast *tf = thread_tagfast();
    int fast = 1, changed = 0;
    if (!tf || (prep && prep->fast == 1)) /* (the scan said no already) */
        fast = 1;
    else if (prep && prep->fast == 0) { /* scanned and classified ahead */
        if (!prep->lang.python) { /* (then not classified: model/tagrun.c) */
            j->lang = prep->lang;
            return JOB_NOT_PYTHON;
        }
        fast = tagfast_splice(tf, &prep->scan, t->buf, t->len, &t->to, prep->stage, prep->prob,
                              !o->check, &j->res, &changed);
    } else if (!tagfast_scan(&tf->scan, t->buf, t->len, &t->to)) { /* standard input, a big file */
        /* the language before the model's work, which a skip would throw away (unknown,
         * out of memory: the notebook read whole, on the jansson path) */
        int unknown = !o->any_language && nb_lang_of_metadata(t->buf + tf->scan.meta_off,
                                                              tf->scan.meta_end - tf->scan.meta_off, &j->lang);
        if (!unknown && !o->any_language && !j->lang.python) return JOB_NOT_PYTHON;
        if (!unknown) fast = tagfast_classify(tf, t->buf, t->len, &t->to, !o->check, &j->res, &changed);
    }
    if (fast < 0) {
        nb_say(t->err, "nbstage tag: %s: out of memory", t->name);
        j->failed = 1;
        return JOB_FAILED;
    }
    if (fast) return JOB_UNSPLICED;
    j->spliced = 1;
    /* as the jansson path decides it: by the bytes */
    t->same = !changed || (!o->check && tf->out.n == t->len && !memcmp(tf->out.p, t->buf, t->len));
    if (!o->check) {
        t->bytes = changed ? tf->out.p : t->buf;
        t->outlen = changed ? tf->out.n : t->len;
    }
    return JOB_TAGGED;
}

/* The jansson path: the notebook read into a tree (which gives the reason a file is
 * refused), checked, tagged and dumped. */
static int tag_tree(struct job_state *t)
{
    struct tagjob *j = t->j;
    const struct tagjob_options *o = t->o;
    nb_error e;
    t->nb = nb_read_mem(t->buf, t->len, t->name, 0, &e);
    if (!t->nb) {
        nb_say(t->err, "nbstage tag: %s", e.msg);
        j->failed = 1;
        return JOB_FAILED;
    }
    if (!o->any_language && !o->from_outputs) { /* --from-outputs: no model, any language */
        nb_lang_of_tree(t->nb, &j->lang);
        if (!j->lang.python) return JOB_NOT_PYTHON;
    }
    long code;
    long bad_tags = tag_tags_not_a_list_of_strings(t->nb, &code);
    if (bad_tags >= 0) {
        nb_say(t->err, "nbstage tag: %s#%ld: cells[%ld].metadata.tags is not a list of strings, as nbformat "
                       "requires, and a stage tag cannot go into it: make it one (\"tags\": [\"...\"])",
               t->name, code, bad_tags);
        j->failed = 1;
        return JOB_FAILED;
    }
    if (o->nbformat_layout) { /* nbformat.write's layout, as `fmt --nbformat` */
        int laid = nb_rejoin_lines(t->nb);
        nb_strip_transient(t->nb);
        if (laid || nb_split_lines(t->nb)) {
            nb_say(t->err, "nbstage tag: %s: out of memory", t->name);
            j->failed = 1;
            return JOB_FAILED;
        }
    }
    if (o->dry_run || (t->in_place && !o->quiet))
        t->relaid = !laid_out_as_written(t->nb, t->buf, t->len);
    /* --check needs the findings only, not the bytes */
    if (tag_notebook(t->nb, &t->to, &j->res) ||
        (!o->check && !(t->bytes = t->owned = nb_dumps(t->nb, &t->outlen)))) {
        nb_say(t->err, "nbstage tag: %s: out of memory", t->name);
        j->failed = 1;
        return JOB_FAILED;
    }
    t->same = t->bytes && t->outlen == t->len && !memcmp(t->bytes, t->buf, t->len);
    return JOB_TAGGED;
}

/* --check's line: what a run with the same options would change. */
static void report_check(const struct job_state *t)
{
    const struct tag_result *res = &t->j->res;
    if (!t->j->findings) return;
    fprintf(t->out, "%s: %ld missing, %ld stale, %ld on blank cells", t->shown, res->missing, res->stale,
            res->removed);
    if (res->noncode_cleared) fprintf(t->out, ", %ld on markdown or raw cells", res->noncode_cleared);
    if (res->outputs_stripped)
        fprintf(t->out, ", %ld tag output%s to remove", res->outputs_stripped,
                res->outputs_stripped == 1 ? "" : "s");
    fputc('\n', t->out);
}

/* --dry-run's report: the changes per cell, and a rewrite that changes more than
 * them.  A file the real run would refuse to replace fails, said as it would say it. */
static void report_dry_run(const struct job_state *t)
{
    struct tagjob *j = t->j;
    const struct tag_result *res = &j->res;
    nb_error e;
    if (!t->same && !t->is_stdin && nb_save_check(j->path, &e)) {
        nb_say(t->err, "nbstage tag: %s", e.msg);
        j->failed = 1;
        return;
    }
    print_changes(t->out, t->shown, res);
    if (res->noncode_cleared)
        nb_say(t->out, "%s: remove the stage of %ld markdown or raw cell%s (made so after it ran)", t->name,
               res->noncode_cleared, res->noncode_cleared == 1 ? "" : "s");
    if (res->outputs_stripped)
        nb_say(t->out, "%s: remove %ld tag output%s", t->name, res->outputs_stripped,
               res->outputs_stripped == 1 ? "" : "s");
    if (!t->same && !res->n_changes && !res->outputs_stripped && !res->noncode_cleared)
        nb_say(t->out, "%s: rewrite in %s (tags unchanged)", t->name, layout_name(t->o));
    else if (t->relaid)
        nb_say(t->out, "%s: also rewrite in %s (the file is not in it: more than the tag "
                       "lines change)", t->name, layout_name(t->o));
    j->rewritten = !t->same;
}

/* N bytes of DATA to OUT, which is memory: written to stdout, and checked, by
 * deliver (model/tagrun.c). */
static void write_to_stdout(const struct job_state *t, const char *data, size_t n)
{
    t->j->to_stdout = 1;
    if (fwrite(data, 1, n, t->out) != n) {
        nb_say(t->err, "nbstage tag: %s: out of memory", t->name);
        t->j->failed = 1;
    }
}

/* N bytes of DATA to -o, the gate left first.  0 when written, else said and failed. */
static int write_to_output(const struct job_state *t, const char *data, size_t n)
{
    nb_error e;
    tag_gate_leave(t->gate);
    if (nb_save_output(t->o->output, data, n, &e)) {
        nb_say(t->err, "nbstage tag: %s", e.msg);
        t->j->failed = 1;
        return -1;
    }
    return 0;
}

/* The "tagged" line of a file saved in place (not with -q). */
static void say_tagged(const struct job_state *t)
{
    const struct tag_result *res = &t->j->res;
    long n = res->missing + res->stale + res->removed + res->refreshed + res->noncode_cleared;
    long k = res->outputs_stripped;
    fprintf(t->out, "tagged %s (%ld cell%s changed", t->shown, n, n == 1 ? "" : "s");
    if (k) fprintf(t->out, ", %ld tag output%s removed", k, k == 1 ? "" : "s");
    if (t->relaid) fprintf(t->out, "; rewritten in %s", layout_name(t->o));
    fprintf(t->out, ")\n");
}

/* The file replaced by its new bytes, atomically (nb_save_atomic: a kill at any
 * moment leaves it old or new), unless it changed since it was read. */
static void save_in_place(const struct job_state *t)
{
    struct tagjob *j = t->j;
    nb_error e;
    /* From here on only the file system: the checks below look paths up in a
     * folder other threads are creating and renaming files in, and may wait on
     * its lock (measured: access() was the longest wait inside the gate). */
    tag_gate_leave(t->gate);
    /* A read-only file, or one we may not write, nb_save_atomic refuses (rename()
     * would replace it); one saved in place since it was read, it leaves as it
     * is, looked at just before its rename.  Deferred sync (model/fssync.h), unless
     * no descriptor on the file's filesystem could be had for the final syncfs. */
    unsigned flags = fssync_register(t->o->fs, t->st.st_dev, j->path) ? 0 : NB_SAVE_DEFER_SYNC;
    int saved = nb_save_atomic_if(j->path, t->bytes, t->outlen, flags, &t->st, &e);
    /* changed into what this run would write (another `tag` of the same folder, as
     * two black runs do): nothing is lost, and the file is as this run leaves it */
    if (saved == -3 && holds(j->path, t->bytes, t->outlen)) saved = 0;
    if (saved == -3) { /* saved in place while the new version was written */
        nb_say(t->err, "nbstage tag: %s: changed while being tagged, left as it is now", t->name);
        j->failed = 1;
    } else if (saved) {
        nb_say(t->err, "nbstage tag: %s", e.msg);
        j->failed = 1;
    } else {
        j->rewritten = 1;
        if (!t->o->quiet) say_tagged(t);
    }
}

/* A tagged notebook's report, and its bytes where the options send them: --check's
 * findings, --dry-run's changes, standard output, -o, or the file itself (only if its
 * bytes change). */
static void finish_tagged(const struct job_state *t)
{
    struct tagjob *j = t->j;
    const struct tagjob_options *o = t->o;
    /* said in every mode, -q too: the user would take such a cell for one never run */
    for (size_t i = 0; i < j->res.n_unreadable; i++)
        nb_say(t->err, "nbstage tag: %s#%zu: its tag output cannot be read (no known stage "
                       "and confidence in it); tags kept", t->name, j->res.unreadable[i]);
    /* with --strip-tag-outputs, tag outputs left in the file are findings too: the
     * check is what a run with the same options would change */
    j->findings = tag_findings(&j->res) > 0 || j->res.outputs_stripped > 0;
    if (o->check) {
        report_check(t);
    } else if (o->dry_run) {
        report_dry_run(t);
    } else if (goes_to_stdout(t)) {
        write_to_stdout(t, t->bytes, t->outlen);
        j->rewritten = !t->same;
    } else if (o->output) {
        if (!write_to_output(t, t->bytes, t->outlen)) j->rewritten = 1;
    } else if (!t->same) {
        save_in_place(t);
    }
}

/* Not Python (nbformat/nblang.h): the model's stages would mean nothing.  Left
 * byte for byte as it is, in every mode; a notebook to be written out (-o, '-') is
 * written as it came, the stream or file it was meant for not left empty. */
static void leave_not_python(const struct job_state *t)
{
    struct tagjob *j = t->j;
    const struct tagjob_options *o = t->o;
    tag_result_free(&j->res);
    memset(&j->res, 0, sizeof j->res);
    j->not_python = 1;
    if (o->check) {
        /* no finding: nothing to do (the summary counts it) */
    } else if (o->dry_run) {
        nb_say(t->out, "%s: skip, not Python (%s)", t->name, j->lang.name);
    } else if (goes_to_stdout(t)) {
        write_to_stdout(t, t->buf, t->len);
    } else if (o->output) {
        write_to_output(t, t->buf, t->len);
    } else if (!o->quiet) {
        nb_say(t->out, "skipped %s (not Python: %s)", t->name, j->lang.name);
    }
}

/* The old file's descriptor to the closers if the file was replaced (else closed),
 * and what was allocated freed. */
static void release(struct job_state *t)
{
    if (t->old_fd >= 0) {
        if (t->j->rewritten) closers_hold(t->o->held, t->old_fd, (long long)t->st.st_size); /* the closers' */
        else close(t->old_fd);
    }
    free(t->owned);
    json_decref(t->nb);
    if (!t->borrowed) free(t->buf);
}

void tagjob_tag(struct tagjob *j, const struct tagjob_options *o, FILE *out, FILE *err,
                struct tag_gate *gate)
{
    int is_stdin = !strcmp(j->path, "-");
    char shown[NB_SHOWN_MAX]; /* the path as messages show it (nb_shown) */
    struct job_state t = {
        .j = j,
        .o = o,
        .out = out,
        .err = err,
        .gate = gate,
        .name = is_stdin ? "<stdin>" : j->path,
        .shown = is_stdin ? "<stdin>" : nb_shown(j->path, shown, sizeof shown),
        .is_stdin = is_stdin,
        .in_place = !o->check && !o->dry_run && !o->output && !is_stdin,
        .old_fd = -1,
        .to = {
            .model = o->model,
            .cache = o->cache,
            .from_outputs = o->from_outputs,
            .strip_outputs = o->strip_outputs,
            .record = o->dry_run,
        },
    };
    if (take_notebook(&t)) return;
    /* The fast path first; the --nbformat layout is not its business. */
    int step = o->nbformat_layout ? JOB_UNSPLICED : tag_spliced(&t);
    if (step == JOB_UNSPLICED) step = tag_tree(&t);
    if (step == JOB_TAGGED) finish_tagged(&t);
    else if (step == JOB_NOT_PYTHON) leave_not_python(&t);
    release(&t);
}
