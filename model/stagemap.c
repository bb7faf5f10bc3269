/* stagemap.c — a notebook's stage map and its text, JSON and SVG renderings
 * (see stagemap.h). */
#include "model/stagemap.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/notebook.h"

/* One colour per stage, the same in the terminal (xterm-256 index) and in SVG; each
 * stage also has a letter, so the map reads without colour too. */
static const struct {
    char letter;
    int xterm;
    const char *rgb;
} look[N_STAGES] = {
    [STAGE_LOAD] = {'L', 33, "#1f77b4"},
    [STAGE_PREP] = {'P', 208, "#ff7f0e"},
    [STAGE_TRAIN] = {'T', 160, "#d62728"},
    [STAGE_EVALUATE] = {'E', 34, "#2ca02c"},
    [STAGE_EXPLORE] = {'X', 37, "#17becf"},
    [STAGE_IMPORTS] = {'I', 244, "#7f7f7f"},
};
#define BLANK_RGB "#e8e8e8"
#define UNTAGGED_RGB "#ffffff"
#define BLOCKS_PER_ROW 60

int stagemap_init(struct stagemap *m, const char *name, const char *model)
{
    memset(m, 0, sizeof *m);
    m->name = strdup(name ? name : "");
    m->model = strdup(model ? model : "");
    if (!m->name || !m->model) {
        stagemap_free(m);
        return -1;
    }
    return 0;
}

int stagemap_add(struct stagemap *m, int stage, double confidence, long lines)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        struct stagemap_cell *p = realloc(m->cells, cap * sizeof *p);
        if (!p) return -1;
        m->cells = p;
        m->cap = cap;
    }
    if (stage >= N_STAGES || stage < STAGEMAP_UNTAGGED) stage = STAGEMAP_UNTAGGED;
    m->cells[m->n++] = (struct stagemap_cell){stage, confidence, lines};
    m->code_lines += lines;
    if (stage >= 0) {
        m->counts[stage]++;
        m->lines[stage] += lines;
        m->staged_lines += lines;
    } else if (stage == STAGEMAP_BLANK) {
        m->blank++;
    } else {
        m->untagged++;
    }
    return 0;
}

void stagemap_free(struct stagemap *m)
{
    free(m->name);
    free(m->model);
    free(m->cells);
    memset(m, 0, sizeof *m);
}

static char stagemap_letter(int stage)
{
    if (stage >= 0 && stage < N_STAGES) return look[stage].letter;
    return stage == STAGEMAP_BLANK ? '.' : '?';
}

char *stagemap_sequence(const struct stagemap *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int first = 1;
    for (size_t i = 0; i < m->n;) {
        int s = m->cells[i].stage;
        if (s == STAGEMAP_BLANK) { i++; continue; }
        /* a run: the same stage, blank cells in between not breaking it */
        size_t run = 0, j = i;
        while (j < m->n && (m->cells[j].stage == s || m->cells[j].stage == STAGEMAP_BLANK)) {
            if (m->cells[j].stage == s) run++;
            j++;
        }
        fprintf(f, "%s%s", first ? "" : " > ", s >= 0 ? stage_key[s] : "untagged");
        if (run > 1) fprintf(f, " x%zu", run);
        first = 0;
        i = j;
    }
    if (fclose(f)) { free(buf); return NULL; }
    return buf;
}

/* Each stage's share of the staged lines in UNIT-ths, totalling UNIT (stage_shares:
 * largest remainder; six stages of one line each, rounded on their own, showed 100.2%). */
static void shares(const struct stagemap *m, long unit, long out[N_STAGES])
{
    stage_shares(m->lines, unit, out);
}

static void print_block(FILE *out, int stage, int color)
{
    char c = stagemap_letter(stage);
    if (!color) {
        fputc(c, out);
    } else if (stage >= 0) {
        /* the letter, bold white on the stage's colour */
        fprintf(out, "\033[1;38;5;231;48;5;%dm%c\033[0m", look[stage].xterm, c);
    } else {
        fprintf(out, "\033[2m%c\033[0m", c); /* dim: blank or untagged */
    }
}

/* SEQ broken before a " > " where a line would pass WIDTH characters (0: never), each
 * line after the first beginning "> "; a run longer than a line stays whole.  The
 * lines joined by '\n' (*LINES of them), malloc'd; NULL when out of memory. */
static char *wrap_sequence(const char *seq, size_t width, size_t *lines)
{
    char *buf = NULL;
    size_t len = 0, col = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    *lines = 1;
    for (const char *p = seq; *p;) {
        const char *sep = strstr(p, " > ");
        size_t n = sep ? (size_t)(sep - p) : strlen(p);
        if (p == seq) {
            col = n;
        } else if (width && col + 3 + n > width) {
            fputs("\n> ", f);
            col = 2 + n;
            ++*lines;
        } else {
            fputs(" > ", f);
            col += 3 + n;
        }
        fwrite(p, 1, n, f);
        p += n + (sep ? 3 : 0);
    }
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The sequence, indented by 2, within COLUMNS (0: on one line). */
static void print_sequence(FILE *out, const char *seq, int columns)
{
    size_t lines, width = columns > 0 ? (columns > 3 ? (size_t)columns - 2 : 1) : 0;
    char *wrapped = wrap_sequence(seq, width, &lines);
    const char *text = wrapped ? wrapped : seq;
    fputs("  ", out);
    for (const char *p = text; *p; p++) {
        if (*p == '\n') fputs("\n  ", out);
        else fputc(*p, out);
    }
    fputc('\n', out);
    free(wrapped);
}

/* The columns TEXT[0..N) takes: one a character (a byte that does not continue a UTF-8
 * sequence; a wide CJK character taken for one). */
static size_t text_columns(const char *text, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)text[i] & 0xc0) != 0x80;
    return c;
}

/* The header's words after the name: "12 code cells (1 blank), 30 lines of code;
 * stages from MODEL".  malloc'd; NULL when out of memory. */
static char *header_rest(const struct stagemap *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    long code = (long)m->n;
    fprintf(f, "%ld code cell%s", code, code == 1 ? "" : "s");
    if (m->blank && m->untagged)
        fprintf(f, " (%ld blank, %ld untagged)", m->blank, m->untagged);
    else if (m->blank || m->untagged)
        fprintf(f, " (%ld %s)", m->blank ? m->blank : m->untagged, m->blank ? "blank" : "untagged");
    fprintf(f, ", %ld line%s of code; stages from %s", m->code_lines, m->code_lines == 1 ? "" : "s", m->model);
    if (fclose(f)) { free(buf); return NULL; }
    return buf;
}

/* REST after a space, the line having COL columns, within WIDTH (0: on one line):
 * broken after a clause's ", " or "; " (outside parentheses) where the next clause
 * would pass WIDTH, and within a clause at a space only when the clause alone is
 * longer than a line (then on lines of its own); each line after the first indented
 * by 2, as the sequence's are.  A word longer than a line (a long model name) stays
 * whole. */
static void print_fitted(FILE *out, const char *rest, size_t col, size_t width)
{
    if (!width) { fprintf(out, " %s\n", rest); return; }
    int alone = 0; /* the clause before was broken: this one starts a line */
    for (const char *p = rest; *p;) {
        /* the clause at P: up to the space after a ',' or ';' outside parentheses */
        size_t n = 0;
        for (int depth = 0; p[n]; n++) {
            depth += p[n] == '(' ? 1 : p[n] == ')' ? -1 : 0;
            if (depth <= 0 && (p[n] == ',' || p[n] == ';') && p[n + 1] == ' ') { n++; break; }
        }
        size_t cols = text_columns(p, n);
        if (!alone && col + 1 + cols <= width) {
            fputc(' ', out);
            fwrite(p, 1, n, out);
            col += 1 + cols;
        } else if (2 + cols <= width) {
            fputs("\n  ", out);
            fwrite(p, 1, n, out);
            col = 2 + cols;
            alone = 0;
        } else { /* word by word, a parenthesis kept whole when it fits on a line */
            fputs("\n ", out);
            col = 1;
            for (size_t i = 0; i < n;) {
                size_t w = strcspn(p + i, " ");
                if (p[i] == '(') {
                    size_t close = strcspn(p + i, ")"), group = close + strcspn(p + i + close, " ");
                    if (i + close < n && 2 + text_columns(p + i, group) <= width) w = group;
                }
                if (i + w > n) w = n - i;
                size_t wc = text_columns(p + i, w);
                if (col > 1 && col + 1 + wc > width) {
                    fputs("\n  ", out);
                    col = 2;
                } else {
                    fputc(' ', out);
                    col++;
                }
                fwrite(p + i, 1, w, out);
                col += wc;
                i += w;
                while (i < n && p[i] == ' ') i++;
            }
            alone = 1;
        }
        p += n;
        while (*p == ' ') p++;
    }
    fputc('\n', out);
}

/* The header, "NAME: 12 code cells (1 blank), 30 lines of code; stages from MODEL",
 * within COLUMNS (0: on one line): below some 80 columns a path and a model's name ran
 * past the edge, where the blocks and the sequence were fitted.  The name stays whole
 * on the first line. */
static void print_header(FILE *out, const struct stagemap *m, int color, int columns)
{
    fprintf(out, "%s%s%s:", color ? "\033[1m" : "", m->name, color ? "\033[0m" : "");
    char *rest = header_rest(m);
    size_t col = text_columns(m->name, strlen(m->name)) + 1;
    print_fitted(out, rest ? rest : "", col, columns > 0 ? (size_t)columns : 0);
    free(rest);
}

/* The table of stages: for each its block, key, cells, lines and share of lines (the
 * shares by largest remainder, totalling 100.0% when any line has a stage).  Into a
 * pipe and from 36 columns up, 36 wide as it always was; on a narrower terminal the
 * columns close up to what their numbers need (31 for counts of up to 5 digits), then
 * drop the lines (their share stays), then the cells.  The narrowest is 19 columns,
 * "  L evaluate 100.0%": the block, the key and the share are the table's point, and
 * a terminal narrower than that wraps its lines. */
#define TABLE_WIDTH 36
static void print_table(FILE *out, const struct stagemap *m, int color, int columns)
{
    long tenths[N_STAGES];
    shares(m, 1000, tenths);
    if (columns <= 0 || columns >= TABLE_WIDTH) {
        fprintf(out, "  %-3s%-10s %6s %6s %6s\n", "", "stage", "cells", "lines", "share");
        for (int s = 0; s < N_STAGES; s++) {
            fputs("  ", out);
            print_block(out, s, color);
            fprintf(out, "  %-10s %6ld %6ld %3ld.%ld%%\n", stage_key[s], m->counts[s], m->lines[s],
                    tenths[s] / 10, tenths[s] % 10);
        }
        return;
    }
    int wc = 5, wl = 5; /* "cells", "lines", or their widest number */
    for (int s = 0; s < N_STAGES; s++) {
        int c = snprintf(NULL, 0, "%ld", m->counts[s]), l = snprintf(NULL, 0, "%ld", m->lines[s]);
        if (c > wc) wc = c;
        if (l > wl) wl = l;
    }
    int base = 2 + 1 + 1 + 8 + 1 + 6; /* indent, block, key ("evaluate"), share */
    int show_lines = base + 1 + wc + 1 + wl <= columns, show_cells = base + 1 + wc <= columns;
    fprintf(out, "    %-8s", "stage");
    if (show_cells) fprintf(out, " %*s", wc, "cells");
    if (show_lines) fprintf(out, " %*s", wl, "lines");
    fprintf(out, " %6s\n", "share");
    for (int s = 0; s < N_STAGES; s++) {
        fputs("  ", out);
        print_block(out, s, color);
        fprintf(out, " %-8s", stage_key[s]);
        if (show_cells) fprintf(out, " %*ld", wc, m->counts[s]);
        if (show_lines) fprintf(out, " %*ld", wl, m->lines[s]);
        fprintf(out, " %3ld.%ld%%\n", tenths[s] / 10, tenths[s] % 10);
    }
}

void stagemap_print_text(FILE *out, const struct stagemap *m, int color, int columns)
{
    /* 60 blocks a row, as in the SVG; on a narrower terminal a multiple of 10 that fits
     * (10 at least), so that rows do not wrap at the terminal's edge */
    size_t per_row = BLOCKS_PER_ROW;
    if (columns > 0 && (size_t)columns < 2 + BLOCKS_PER_ROW)
        per_row = columns >= 2 + 20 ? (size_t)(columns - 2) / 10 * 10 : 10;
    print_header(out, m, color, columns);
    for (size_t i = 0; i < m->n; i++) {
        if (i % per_row == 0) fputs(i ? "\n  " : "  ", out);
        print_block(out, m->cells[i].stage, color);
    }
    if (m->n) fputc('\n', out);
    char *seq = stagemap_sequence(m);
    if (seq && *seq) print_sequence(out, seq, columns);
    free(seq);
    print_table(out, m, color, columns);
}

json_t *stagemap_json(const struct stagemap *m)
{
    json_t *cells = json_array(), *stages = json_object();
    char *seq = stagemap_sequence(m);
    json_t *o = json_object();
    char *name = nb_utf8_lossy(m->name); /* JSON strings are UTF-8, file names bytes */
    if (!cells || !stages || !seq || !o || !name) goto oom;
    for (size_t i = 0; i < m->n; i++) {
        const struct stagemap_cell *c = &m->cells[i];
        /* "index": among the code cells from 0, as in nbstage's cell ids (path#index) */
        json_t *jc = json_pack("{s:I, s:o, s:o, s:I}", "index", (json_int_t)i, "stage",
                               c->stage >= 0 ? json_string(stage_key[c->stage]) : json_null(),
                               "confidence",
                               c->confidence >= 0 ? json_real(c->confidence) : json_null(),
                               "lines", (json_int_t)c->lines);
        if (!jc || json_array_append_new(cells, jc)) goto oom;
    }
    long ten_thousandths[N_STAGES];
    shares(m, 10000, ten_thousandths); /* totalling 1, as the text's total 100.0% */
    for (int s = 0; s < N_STAGES; s++) {
        /* 4 decimals: a share, not a measurement to the last bit */
        double sh = (double)ten_thousandths[s] / 10000.0;
        json_t *js = json_pack("{s:I, s:I, s:f}", "cells", (json_int_t)m->counts[s], "lines",
                               (json_int_t)m->lines[s], "share", sh);
        if (!js || json_object_set_new(stages, stage_key[s], js)) goto oom;
    }
    /* set_new takes the value even when it fails: CELLS and STAGES are O's from here */
    int bad = json_object_set_new(o, "notebook", json_string(name));
    bad |= json_object_set_new(o, "model", json_string(m->model));
    bad |= json_object_set_new(o, "code_cells", json_integer((json_int_t)m->n));
    bad |= json_object_set_new(o, "blank", json_integer(m->blank));
    bad |= json_object_set_new(o, "untagged", json_integer(m->untagged));
    bad |= json_object_set_new(o, "lines", json_integer(m->code_lines));
    bad |= json_object_set_new(o, "stages", stages);
    bad |= json_object_set_new(o, "sequence", json_string(seq));
    bad |= json_object_set_new(o, "cells", cells);
    stages = cells = NULL;
    if (bad) goto oom;
    free(seq);
    free(name);
    return o;
oom:
    json_decref(cells);
    json_decref(stages);
    json_decref(o);
    free(seq);
    free(name);
    return NULL;
}

/* ---------------------------------------------------------------- SVG */

/* A title's width in bold 12 px sans, over- rather than underestimated (a name cut off
 * at the picture's edge; the width once counted 7.5 px a byte, and an all-capitals name
 * ran 80 px past it): capitals and m, w about 10-11 px, other ASCII 7.5, a character of
 * two or more bytes 12 (CJK is square), the bytes after its first none. */
static long title_px(const char *name)
{
    double px = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p >= 0x80) px += (*p & 0xc0) == 0xc0 ? 12 : 0;
        else if ((*p >= 'A' && *p <= 'Z') || *p == 'm' || *p == 'w') px += 11;
        else px += 7.5;
    }
    return (long)px + 1;
}

/* TEXT (valid UTF-8) as XML character data: markup characters as entities; the
 * characters XML 1.0 forbids that valid UTF-8 may still hold are escaped as nb_shown
 * escapes bytes: U+FFFE and U+FFFF (EF BF BE, EF BF BF) as "\xef\xbf\xbe", and a
 * control character (none reaches here: a name comes through svg_name) as "\x1b". */
static void xml_text(FILE *out, const char *text)
{
    for (const char *s = text; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                fprintf(out, "\\x%02x", c);
            } else if (!memcmp(s, "\xef\xbf", 2) && ((unsigned char)s[2] & 0xfe) == 0xbe) {
                fprintf(out, "\\xef\\xbf\\x%02x", (unsigned char)s[2]);
                s += 2;
            } else {
                fputc(c, out);
            }
        }
    }
}

/* A notebook's name as the picture shows it: as messages and the text map show it
 * (nb_shown: a control character, a backslash and a byte that is not UTF-8 escaped,
 * \n, \\, \xff), which is valid UTF-8 for XML and names the file losslessly, where
 * U+FFFD once stood for any byte that was not UTF-8. */
static void svg_name(FILE *out, const char *name)
{
    char buf[NB_SHOWN_MAX];
    xml_text(out, nb_shown(name, buf, sizeof buf));
}

/* The picture's measures, in px: margins, a block and the gaps around it, a title's,
 * a sequence line's and the legend's height, a legend entry's width. */
enum { PAD = 16, CELL_W = 14, GAP = 2, CELL_H = 22, ROW_GAP = 10, TITLE_H = 18,
       SEQ_H = 16, LEGEND_H = 28, LEGEND_W = 110 };

/* What the picture holds, worked out before it is written: its size comes first. */
struct svg_layout {
    long width, height;
    long blank, untagged; /* such blocks in all the maps: a legend entry each if any */
    char **seqs;          /* each map's sequence broken into lines (NULL: out of memory) */
    size_t *seq_lines;    /* how many lines each */
};

/* A map's rows of blocks: one for a notebook without code cells too (its title and
 * sequence still take their place). */
static long block_rows(const struct stagemap *m)
{
    return m->n ? (long)((m->n + BLOCKS_PER_ROW - 1) / BLOCKS_PER_ROW) : 1;
}

/* Each map's sequence broken into lines within the picture's WIDTH (at most about 7 px
 * a character in 12 px sans): a long one ran off the picture's edge.  Returns the
 * lines in all; one a map when out of memory. */
static long wrap_sequences(const struct stagemap *maps, size_t n, long width, struct svg_layout *L)
{
    size_t seq_width = (size_t)(width - 2 * PAD) / 7;
    L->seqs = calloc(n ? n : 1, sizeof *L->seqs);
    L->seq_lines = calloc(n ? n : 1, sizeof *L->seq_lines);
    long seq_total = 0;
    for (size_t k = 0; L->seqs && L->seq_lines && k < n; k++) {
        char *seq = stagemap_sequence(&maps[k]);
        L->seqs[k] = seq ? wrap_sequence(seq, seq_width, &L->seq_lines[k]) : NULL;
        free(seq);
        if (!L->seqs[k]) L->seq_lines[k] = 1; /* out of memory: an empty line */
        seq_total += (long)L->seq_lines[k];
    }
    if (!L->seqs || !L->seq_lines) seq_total = (long)n;
    return seq_total;
}

/* The picture's size: as wide as the widest row of blocks, the longest title or the
 * legend; as high as the legend and every map's title, rows and sequence lines. */
static void svg_measure(const struct stagemap *maps, size_t n, struct svg_layout *L)
{
    size_t widest = 0;
    long rows = 0;
    for (size_t k = 0; k < n; k++) {
        L->blank += maps[k].blank;
        L->untagged += maps[k].untagged;
        size_t w = maps[k].n < BLOCKS_PER_ROW ? maps[k].n : BLOCKS_PER_ROW;
        if (w > widest) widest = w;
        rows += block_rows(&maps[k]);
    }
    long width = 2 * PAD + (long)widest * (CELL_W + GAP);
    for (size_t k = 0; k < n; k++) {
        char buf[NB_SHOWN_MAX];
        long w = 2 * PAD + title_px(nb_shown(maps[k].name, buf, sizeof buf)); /* room for the title */
        if (w > width) width = w;
    }
    /* the legend: the stages, and the blank and untagged blocks when there are some
     * (light grey and white boxes were explained nowhere but in their tooltips) */
    int legend = N_STAGES + (L->blank > 0) + (L->untagged > 0);
    if (width < 2 * PAD + legend * LEGEND_W) width = 2 * PAD + legend * LEGEND_W;
    long seq_total = wrap_sequences(maps, n, width, L);
    L->width = width;
    L->height = PAD + LEGEND_H + (long)n * (TITLE_H + ROW_GAP) + seq_total * SEQ_H +
                rows * (CELL_H + GAP) + PAD;
}

static void svg_layout_free(struct svg_layout *L, size_t n)
{
    for (size_t k = 0; L->seqs && k < n; k++) free(L->seqs[k]);
    free(L->seqs);
    free(L->seq_lines);
}

/* The legend at Y: a box and the key of each stage, then boxes for blank and untagged
 * blocks when the maps have some. */
static void svg_legend(FILE *out, long y, const struct svg_layout *L)
{
    for (int s = 0; s < N_STAGES; s++) {
        long x = PAD + s * LEGEND_W;
        fprintf(out,
                "<rect x=\"%ld\" y=\"%ld\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
                "<text x=\"%ld\" y=\"%ld\">%s</text>\n",
                x, y, CELL_W, CELL_W, look[s].rgb, x + CELL_W + 4, y + CELL_W - 3, stage_key[s]);
    }
    for (int e = N_STAGES, which = 0; which < 2; which++) {
        if (!(which ? L->untagged : L->blank)) continue;
        long x = PAD + e++ * LEGEND_W;
        fprintf(out,
                "<rect x=\"%ld\" y=\"%ld\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                "stroke=\"#999\" stroke-width=\"0.5\"/><text x=\"%ld\" y=\"%ld\">%s</text>\n",
                x, y, CELL_W, CELL_W, which ? UNTAGGED_RGB : BLANK_RGB, x + CELL_W + 4,
                y + CELL_W - 3, which ? "untagged" : "blank");
    }
}

/* M's blocks from Y down, BLOCKS_PER_ROW a row, each with a tooltip: its index among
 * the code cells, its stage, the confidence when known, its lines. */
static void svg_blocks(FILE *out, const struct stagemap *m, long y)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct stagemap_cell *c = &m->cells[i];
        long x = PAD + (long)(i % BLOCKS_PER_ROW) * (CELL_W + GAP);
        long cy = y + (long)(i / BLOCKS_PER_ROW) * (CELL_H + GAP);
        const char *fill = c->stage >= 0 ? look[c->stage].rgb
                           : c->stage == STAGEMAP_BLANK ? BLANK_RGB : UNTAGGED_RGB;
        fprintf(out,
                "<rect x=\"%ld\" y=\"%ld\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                "stroke=\"#999\" stroke-width=\"0.5\"><title>#%zu: %s",
                x, cy, CELL_W, CELL_H, fill, i,
                c->stage >= 0 ? stage_key[c->stage]
                : c->stage == STAGEMAP_BLANK ? "blank" : "untagged");
        if (c->confidence >= 0) fprintf(out, " (%.0f%%)", 100.0 * c->confidence);
        fprintf(out, ", %ld line%s</title></rect>\n", c->lines, c->lines == 1 ? "" : "s");
    }
}

/* SEQ's NL lines ('\n' between them) from Y down, one <text> a line.  Returns the y
 * below them. */
static long svg_sequence(FILE *out, const char *seq, size_t nl, long y)
{
    for (size_t l = 0; l < nl; l++) {
        const char *end = strchr(seq, '\n');
        char *line = strndup(seq, end ? (size_t)(end - seq) : strlen(seq));
        fprintf(out, "<text x=\"%d\" y=\"%ld\" fill=\"#444\">", PAD, y + SEQ_H - 4);
        xml_text(out, line ? line : "");
        fprintf(out, "</text>\n");
        free(line);
        y += SEQ_H;
        seq = end ? end + 1 : seq + strlen(seq);
    }
    return y;
}

/* The K-th map from Y down, in a <g>: its title, its blocks, its sequence.  Returns
 * the y where the next one goes. */
static long svg_notebook(FILE *out, const struct stagemap *m, const struct svg_layout *L,
                         size_t k, long y)
{
    /* the name as messages show it; SVG folds runs of spaces into one unless told not to */
    fprintf(out, "<g class=\"notebook\">\n<text x=\"%d\" y=\"%ld\" font-weight=\"bold\" "
                 "xml:space=\"preserve\">", PAD, y + TITLE_H - 5);
    svg_name(out, m->name);
    fprintf(out, "</text>\n");
    y += TITLE_H;
    svg_blocks(out, m, y);
    y += block_rows(m) * (CELL_H + GAP);
    const char *seq = L->seqs && L->seqs[k] ? L->seqs[k] : "";
    size_t nl = L->seqs && L->seq_lines ? L->seq_lines[k] : 1;
    y = svg_sequence(out, seq, nl, y);
    fprintf(out, "</g>\n");
    return y + ROW_GAP;
}

int stagemap_write_svg(FILE *out, const struct stagemap *maps, size_t n)
{
    struct svg_layout L = {0};
    svg_measure(maps, n, &L);
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%ld\" height=\"%ld\" "
            "viewBox=\"0 0 %ld %ld\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            L.width, L.height, L.width, L.height);
    svg_legend(out, PAD, &L);
    long y = PAD + LEGEND_H;
    for (size_t k = 0; k < n; k++) y = svg_notebook(out, &maps[k], &L, k, y);
    svg_layout_free(&L, n);
    fprintf(out, "</svg>\n");
    if (ferror(out)) {
        if (!errno) errno = EIO;
        return -1;
    }
    return 0;
}
