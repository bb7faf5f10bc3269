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
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        char said[PATH_MAX + 64];
        snprintf(why, whylen, "%s", nb_path_strerror(path, errno, said, sizeof said));
        return NULL;
    }
    if (is_stdin) {
        memset(st, 0, sizeof *st); /* a pipe: no size to go by, no identity to keep */
    } else if (fstat(fd, st)) {
        snprintf(why, whylen, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    if (!is_stdin && S_ISDIR(st->st_mode)) {
        snprintf(why, whylen, "is a directory, not a notebook");
        close(fd);
        return NULL;
    }
    if (!is_stdin && !S_ISREG(st->st_mode)) {
        snprintf(why, whylen, "not a regular file");
        close(fd);
        return NULL;
    }
    /* a read ahead within a window's byte budget only ("" in WHY: over it) */
    if (budget && __atomic_sub_fetch(budget, (long long)st->st_size, __ATOMIC_RELAXED) < 0) {
        /* given back: one large file would otherwise leave the window's smaller ones
         * all to be read at their save */
        __atomic_add_fetch(budget, (long long)st->st_size, __ATOMIC_RELAXED);
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
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    int same = 0;
    if (fd < 0) return 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len) {
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

void tagjob_tag(struct tagjob *j, const struct tagjob_options *o, FILE *out, FILE *err,
                struct tag_gate *gate)
{
    char why[512];
    struct stat st;
    size_t len, outlen = 0;
    int is_stdin = !strcmp(j->path, "-");
    const char *name = is_stdin ? "<stdin>" : j->path;
    const char *layout = o->nbformat_layout ? "nbformat.write's layout" : "the canonical layout";
    int in_place = !o->check && !o->dry_run && !o->output && !is_stdin, old_fd = -1;
    struct tagjob_prep *prep = j->prep;
    char *buf;
    int borrowed = 0; /* BUF is in the window's read room: not ours to free */
    if (prep) { /* read ahead: the file is ours now (or lent, in the window's read room) */
        buf = prep->buf;
        borrowed = prep->in_room;
        len = prep->len;
        st = prep->st;
        old_fd = prep->old_fd;
        prep->buf = NULL;
        prep->old_fd = -1;
        if (!buf) snprintf(why, sizeof why, "%s", prep->why);
    } else {
        buf = tagjob_read(j->path, &len, &st, why, sizeof why, in_place ? &old_fd : NULL, NULL, NULL,
                          NULL);
    }
    if (!buf) {
        fprintf(err, "nbstage tag: %s: %s\n", name, why);
        j->failed = 1;
        return;
    }
    nb_error e;
    json_t *nb = NULL;
    char *bytes = NULL, *owned = NULL;
    int same = 0, relaid = 0; /* relaid: the layout changes too */
    struct tag_options to = {
        .model = o->model,
        .cache = o->cache,
        .from_outputs = o->from_outputs,
        .strip_outputs = o->strip_outputs,
        .record = o->dry_run,
    };
    /* The fast path first: a canonical notebook spliced, no tree (tagfast.h).  The
     * --nbformat layout is not its business. */
    int fast = 1;
    if (!o->nbformat_layout) {
        struct tagfast *tf = thread_tagfast();
        int changed = 0;
        if (!tf || (prep && prep->fast == 1)) /* (the scan said no already) */
            fast = 1;
        else if (prep && prep->fast == 0) { /* scanned and classified ahead */
            if (!prep->lang.python) { /* (then not classified: model/tagrun.c) */
                j->lang = prep->lang;
                goto other_language;
            }
            fast = tagfast_splice(tf, &prep->scan, buf, len, &to, prep->ans.stage, prep->ans.prob,
                                  !o->check, &j->res, &changed);
        } else if (!tagfast_scan(&tf->scan, buf, len, &to)) { /* standard input, a big file */
            /* the language before the model's work, which a skip would throw away (unknown,
             * out of memory: the notebook read whole, below) */
            int unknown = !o->any_language && nb_lang_of_metadata(buf + tf->scan.meta_off,
                                                                  tf->scan.meta_end - tf->scan.meta_off, &j->lang);
            if (!unknown && !o->any_language && !j->lang.python) goto other_language;
            if (!unknown) fast = tagfast_classify(tf, buf, len, &to, !o->check, &j->res, &changed);
        }
        if (fast < 0) {
            fprintf(err, "nbstage tag: %s: out of memory\n", name);
            j->failed = 1;
            goto done;
        }
        if (fast == 0) {
            j->spliced = 1;
            /* as the jansson path decides it: by the bytes */
            same = !changed || (!o->check && tf->out_len == len && !memcmp(tf->out, buf, len));
            if (!o->check) {
                bytes = changed ? tf->out : buf;
                outlen = changed ? tf->out_len : len;
            }
        }
    }
    if (fast) {
        nb = nb_read_mem(buf, len, name, 0, &e);
        if (!nb) {
            fprintf(err, "nbstage tag: %s\n", e.msg);
            j->failed = 1;
            goto done;
        }
        if (!o->any_language && !o->from_outputs) { /* --from-outputs: no model, any language */
            nb_lang_of_tree(nb, &j->lang);
            if (!j->lang.python) goto other_language;
        }
        long code;
        long bad_tags = tag_tags_not_a_list_of_strings(nb, &code);
        if (bad_tags >= 0) {
            fprintf(err, "nbstage tag: %s#%ld: cells[%ld].metadata.tags is not a list of strings, as nbformat "
                         "requires, and a stage tag cannot go into it: make it one (\"tags\": [\"...\"])\n",
                    name, code, bad_tags);
            j->failed = 1;
            goto done;
        }
        if (o->nbformat_layout) { /* nbformat.write's layout, as `fmt --nbformat` */
            int laid = nb_rejoin_lines(nb);
            nb_strip_transient(nb);
            if (laid || nb_split_lines(nb)) {
                fprintf(err, "nbstage tag: %s: out of memory\n", name);
                j->failed = 1;
                goto done;
            }
        }
        if (o->dry_run || (in_place && !o->quiet))
            relaid = !laid_out_as_written(nb, buf, len);
        /* --check needs the findings only, not the bytes */
        if (tag_notebook(nb, &to, &j->res) ||
            (!o->check && !(bytes = owned = nb_dumps(nb, &outlen)))) {
            fprintf(err, "nbstage tag: %s: out of memory\n", name);
            j->failed = 1;
            goto done;
        }
        same = bytes && outlen == len && !memcmp(bytes, buf, len);
    }
    /* said in every mode, -q too: the user would take such a cell for one never run */
    for (size_t i = 0; i < j->res.n_unreadable; i++)
        fprintf(err, "nbstage tag: %s#%zu: its tag output cannot be read (no known stage "
                     "and confidence in it); tags kept\n", name, j->res.unreadable[i]);
    /* with --strip-tag-outputs, tag outputs left in the file are findings too: the
     * check is what a run with the same options would change */
    j->findings = tag_findings(&j->res) > 0 || j->res.outputs_stripped > 0;
    if (o->check) {
        if (j->findings) {
            fprintf(out, "%s: %ld missing, %ld stale, %ld on blank cells", name, j->res.missing,
                    j->res.stale, j->res.removed);
            if (j->res.noncode_cleared)
                fprintf(out, ", %ld on markdown or raw cells", j->res.noncode_cleared);
            if (j->res.outputs_stripped)
                fprintf(out, ", %ld tag output%s to remove", j->res.outputs_stripped,
                        j->res.outputs_stripped == 1 ? "" : "s");
            fputc('\n', out);
        }
    } else if (o->dry_run) {
        /* the real run would refuse to replace it: said as it would say it */
        if (!same && !is_stdin && nb_save_check(j->path, &e)) {
            fprintf(err, "nbstage tag: %s\n", e.msg);
            j->failed = 1;
            goto done;
        }
        print_changes(out, name, &j->res);
        if (j->res.noncode_cleared)
            fprintf(out, "%s: remove the stage of %ld markdown or raw cell%s (made so after it ran)\n", name,
                    j->res.noncode_cleared, j->res.noncode_cleared == 1 ? "" : "s");
        if (j->res.outputs_stripped)
            fprintf(out, "%s: remove %ld tag output%s\n", name, j->res.outputs_stripped,
                    j->res.outputs_stripped == 1 ? "" : "s");
        if (!same && !j->res.n_changes && !j->res.outputs_stripped && !j->res.noncode_cleared)
            fprintf(out, "%s: rewrite in %s (tags unchanged)\n", name, layout);
        else if (relaid)
            fprintf(out, "%s: also rewrite in %s (the file is not in it: more than the tag "
                         "lines change)\n", name, layout);
        j->rewritten = !same;
    } else if ((o->output && !strcmp(o->output, "-")) || (is_stdin && !o->output)) {
        j->to_stdout = 1; /* OUT is memory: written to stdout, and checked, by deliver */
        if (fwrite(bytes, 1, outlen, out) != outlen) {
            fprintf(err, "nbstage tag: %s: out of memory\n", name);
            j->failed = 1;
        }
        j->rewritten = !same;
    } else if (o->output) {
        tag_gate_leave(gate);
        if (nb_save_output(o->output, bytes, outlen, &e)) {
            fprintf(err, "nbstage tag: %s\n", e.msg);
            j->failed = 1;
        } else {
            j->rewritten = 1;
        }
    } else if (!same) {
        /* From here on only the file system: the checks below look paths up in a
         * folder other threads are creating and renaming files in, and may wait on
         * its lock (measured: access() was the longest wait inside the gate). */
        tag_gate_leave(gate);
        /* A read-only file, or one we may not write, nb_save_atomic refuses (rename()
         * would replace it); one saved in place since it was read, it leaves as it
         * is, looked at just before its rename.  Deferred sync (model/fssync.h), unless
         * no descriptor on the file's filesystem could be had for the final syncfs. */
        unsigned flags = fssync_register(o->fs, st.st_dev, j->path) ? 0 : NB_SAVE_DEFER_SYNC;
        int saved = nb_save_atomic_if(j->path, bytes, outlen, flags, &st, &e);
        /* changed into what this run would write (another `tag` of the same folder, as
         * two black runs do): nothing is lost, and the file is as this run leaves it */
        if (saved == -3 && holds(j->path, bytes, outlen)) saved = 0;
        if (saved == -3) { /* saved in place while the new version was written */
            fprintf(err, "nbstage tag: %s: changed while being tagged, left as it is now\n", j->path);
            j->failed = 1;
        } else if (saved) {
            fprintf(err, "nbstage tag: %s\n", e.msg);
            j->failed = 1;
        } else {
            j->rewritten = 1;
            long n = j->res.missing + j->res.stale + j->res.removed + j->res.refreshed + j->res.noncode_cleared;
            long k = j->res.outputs_stripped;
            if (!o->quiet) {
                fprintf(out, "tagged %s (%ld cell%s changed", j->path, n, n == 1 ? "" : "s");
                if (k) fprintf(out, ", %ld tag output%s removed", k, k == 1 ? "" : "s");
                if (relaid) fprintf(out, "; rewritten in %s", layout);
                fprintf(out, ")\n");
            }
        }
    }
    goto done;
other_language:
    /* Not Python (nbformat/nblang.h): the model's stages would mean nothing.  Left
     * byte for byte as it is, in every mode; a notebook to be written out (-o, '-') is
     * written as it came, the stream or file it was meant for not left empty. */
    tag_result_free(&j->res);
    memset(&j->res, 0, sizeof j->res);
    j->not_python = 1;
    if (o->check) {
        /* no finding: nothing to do (the summary counts it) */
    } else if (o->dry_run) {
        fprintf(out, "%s: skip, not Python (%s)\n", name, j->lang.name);
    } else if ((o->output && !strcmp(o->output, "-")) || (is_stdin && !o->output)) {
        j->to_stdout = 1;
        if (fwrite(buf, 1, len, out) != len) {
            fprintf(err, "nbstage tag: %s: out of memory\n", name);
            j->failed = 1;
        }
    } else if (o->output) {
        tag_gate_leave(gate);
        if (nb_save_output(o->output, buf, len, &e)) {
            fprintf(err, "nbstage tag: %s\n", e.msg);
            j->failed = 1;
        }
    } else if (!o->quiet) {
        fprintf(out, "skipped %s (not Python: %s)\n", name, j->lang.name);
    }
done:
    if (old_fd >= 0) {
        if (j->rewritten) closers_hold(o->held, old_fd, (long long)st.st_size); /* the closers' */
        else close(old_fd);
    }
    free(owned);
    json_decref(nb);
    if (!borrowed) free(buf);
}
