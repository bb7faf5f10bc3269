/* tagging.h — stage tags in a notebook tree: reading, comparing, applying, removing.
 *
 * Owns: what a tagged code cell looks like and the rules for changing one.
 *   metadata.workflow_stage = {"confidence": 0.93, "model": "...", "stage": "train"}
 *   metadata.tags           = [..., "stage:train", ...]
 * A cell has at most one "stage:" tag; an older one is replaced where it stood, other
 * tags are kept in their order.  Empty and comment-only code cells (pysrc_is_blank)
 * carry no tag and lose a stale one; a "tags" list left empty by that removal is
 * dropped.  Markdown and raw cells are never touched.  Confidences are rounded to 3
 * decimals so their repr is short and a re-read gives the same double: that is what
 * makes a second run byte-identical.
 * Also the kernel's live tag outputs (model/stage_output.h): reading a cell's stage
 * from them (--from-outputs, and `summary --saved`) and removing them
 * (--strip-tag-outputs).  A tag output is a display output with the kernel's marks
 * (the payload's MIME type, or "nbstage" in its metadata), its payload readable or not:
 * one that cannot be read gives no stage but is still removed.  Also the lines-of-code count `summary` shows per cell.
 * Works on jansson trees only: no files, no threads (callers run one notebook per
 * thread; the model is read-only).
 */
#ifndef NBSTAGE_TAGGING_H
#define NBSTAGE_TAGGING_H

#include <jansson.h>
#include <stddef.h>

#include "labeling/stage.h"
#include "model/model.h"

#define TAG_PREFIX "stage:"
#define TAG_KEEP (-4) /* "leave this cell as it is" (from-outputs, no output found) */
/* Apart from the model's answers, so that an answer passed on unchecked is never read
 * as "keep the old tag" (MODEL_NO_MEMORY was -3 too). */
_Static_assert(TAG_KEEP != STAGE_NONE && TAG_KEEP != MODEL_NO_MEMORY && TAG_KEEP < 0,
               "TAG_KEEP must be no stage and no answer of the model");

/* What one code cell should carry. */
struct cell_tag {
    int stage;         /* 0..N_STAGES-1; STAGE_NONE: no tag at all; TAG_KEEP: leave alone */
    double confidence; /* already rounded (tag_round) */
    const char *model; /* borrowed */
};

/* How a cell's current tag relates to the wanted one. */
enum tag_change {
    TAG_SAME = 0,  /* nothing to do */
    TAG_MISSING,   /* no tag, one wanted */
    TAG_STALE,     /* another stage, or metadata and tags disagree, or several stage: tags */
    TAG_REMOVE,    /* a blank cell carries a tag */
    TAG_REFRESH,   /* same stage, other confidence or model (not a --check finding) */
};

/* Confidence rounded to 3 decimals, as written: the kernel's stage_confidence. */
double tag_round(double p);

/* The stage a cell says it has: metadata.workflow_stage.stage, else its first
 * "stage:" tag; STAGE_NONE when neither.  *CONF (may be NULL) gets the stored
 * confidence or -1. */
int tag_current(const json_t *cell, double *conf);

enum tag_change tag_compare(const json_t *cell, const struct cell_tag *want);

/* Makes CELL carry WANT.  0 or -1: out of memory (CELL may be half changed), or a
 * stage for a cell whose "tags" is not a list (CELL untouched; see below). */
int tag_apply(json_t *cell, const struct cell_tag *want);

/* A cell's stage from the kernel's live tag output (the last readable one if several).
 * 0 and fills WANT (model: the payload's, or "nbstage-kernel"); -1 when the cell has
 * no tag output; -2 when it has some but none can be read. */
int tag_from_outputs(const json_t *cell, struct cell_tag *want);

/* Removes the kernel's stage outputs from CELL; how many. */
int tag_strip_outputs(json_t *cell);

/* ---- one notebook */

struct classcache;

struct tag_options {
    const nbs_model *model; /* classifies each code cell; unused with from_outputs */
    struct classcache *cache; /* optional: model's answers shared across notebooks
                               * (model/classcache.h; same results, duplicates cheap) */
    int from_outputs;       /* stage from the live tag output instead */
    int strip_outputs;      /* remove the live tag outputs */
    int record;             /* fill tag_result.changes (for --dry-run) */
    int count_lines;        /* fill tag_result.lines (a second pass over each source) */
};

struct tag_cell_change {
    size_t cell;           /* index among the code cells, from 0 (as in the ids path#index) */
    enum tag_change kind;
    int old_stage, new_stage;
    double old_conf, new_conf; /* -1 when none */
};

struct tag_result {
    long code_cells;         /* every code cell */
    long tagged;             /* code cells carrying a tag afterwards */
    long blank;              /* empty or comment-only */
    long kept;               /* from_outputs: no stage output, left as it was */
    size_t *unreadable;      /* from_outputs: the cells (code cells from 0) kept because
                              * their tag outputs cannot be read (malloc'd) */
    size_t n_unreadable;
    long per_stage[N_STAGES];/* tags carried afterwards, by stage */
    long lines[N_STAGES];    /* count_lines: their lines of code (no comments, no blank lines) */
    long missing, stale, removed, refreshed; /* cells per tag_change */
    long outputs_stripped;
    long noncode_cleared;    /* markdown or raw cells whose stage marks were removed */
    struct tag_cell_change *changes; /* record: one per changed cell (malloc'd) */
    size_t n_changes;
};

/* The first code cell (index among all cells) whose metadata "tags" is there but not
 * a list of strings, as nbformat's schema wants, else -1; *CODE (when not NULL) gets
 * its index among the code cells, as cells are named path#K.  tag refuses such a notebook:
 * writing its stage tag would replace the value ("tags": "mine"), which is the user's,
 * or add to a list the schema refuses (["mine", 1]) and write it back as valid. */
long tag_tags_not_a_list_of_strings(const json_t *nb, long *code);

/* Tags every code cell of NB (a validated v4 tree) in place.  0, or -1 when out of
 * memory.  Free RES->changes and RES->unreadable with tag_result_free. */
int tag_notebook(json_t *nb, const struct tag_options *opt, struct tag_result *res);
void tag_result_free(struct tag_result *res);
/* Counts CELL's change KIND in RES and, with RECORD, appends it to RES->changes; both
 * tag paths use it.  -1 when out of memory. */
int tag_result_add(struct tag_result *res, int record, size_t cell, enum tag_change kind,
                   int old_stage, double old_conf, const struct cell_tag *want);

/* Findings for --check: cells whose tag is missing or stale, or blank, markdown or raw
 * cells with one. */
long tag_findings(const struct tag_result *res);

/* Lines of code in SRC: lines with something besides white space (Python's: U+00A0,
 * U+3000 and the others pysrc_space_len knows) once comments are stripped. */
long tag_code_lines(const char *src, size_t len);

#endif
