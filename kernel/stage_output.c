/* stage_output.c — the live tag the stage kernel shows under a cell (see stage_output.h).
 *
 * Owns: the display_data content (text/plain, the coloured HTML badge, the JSON
 * payload, the classic-Notebook JavaScript that writes cell metadata) and reading a
 * payload back from a saved output.
 *
 * Why the badge is drawn by the JavaScript too: a frontend renders one MIME type per
 * output, and both classic Notebook 6 and JupyterLab prefer application/javascript over
 * text/html for trusted outputs.  So the script puts the badge HTML into its own
 * element; text/html is what untrusted (re-opened) notebooks and HTML exports show.
 */
#include "kernel/stage_output.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One colour per stage, in stage.h's order; white text stays legible on each. */
static const char *const stage_colour[N_STAGES] = {
    "#1f6fb4", /* load: blue */
    "#c45f00", /* prep: dark orange */
    "#23882f", /* train: green */
    "#c62828", /* evaluate: red */
    "#7b4fb0", /* explore: purple */
    "#5f6368", /* imports: grey */
};

/* Four decimals are plenty for a probability and keep the saved JSON short. */
static double round4(double p) { return round(p * 10000.0) / 10000.0; }

/* A growable string; on allocation failure it goes to the "failed" state and every
 * later append is a no-op, so callers check once at the end. */
struct sbuf {
    char *s;
    size_t len, cap;
    int failed;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) { b->failed = 1; return; }
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_puts(struct sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

/* Text for an HTML element or a double-quoted attribute. */
static void sb_put_html(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_putn(b, s, 1);
        }
    }
}

/* A JSON value as a JavaScript literal: ASCII only and "\/" escaped, so that neither
 * odd characters in a model name nor "</script>" (HTML exports inline the script)
 * can end it early. */
static void sb_put_js_literal(struct sbuf *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH |
                                JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    if (!s) { b->failed = 1; return; }
    sb_puts(b, s);
    free(s);
}

static int percent(double confidence) { return (int)lround(confidence * 100.0); }

static char *badge_html(int stage, double confidence, const char *model)
{
    struct sbuf b = {0};
    char pct[16];
    snprintf(pct, sizeof pct, "%d%%", percent(confidence));
    sb_puts(&b, "<span class=\"nbstage-badge nbstage-");
    sb_puts(&b, stage_key[stage]);
    sb_puts(&b, "\" title=\"");
    sb_put_html(&b, stage_name[stage]);
    sb_puts(&b, " (nbstage model ");
    sb_put_html(&b, model);
    sb_puts(&b, ")\" style=\"display:inline-block;padding:1px 8px;border-radius:10px;"
                "background:");
    sb_puts(&b, stage_colour[stage]);
    sb_puts(&b, ";color:#fff;font:600 11px/1.7 sans-serif;letter-spacing:.02em\">");
    sb_puts(&b, stage_key[stage]);
    sb_puts(&b, " <span style=\"font-weight:400;opacity:.85\">");
    sb_puts(&b, pct);
    sb_puts(&b, "</span></span>");
    if (b.failed) { free(b.s); return NULL; }
    return b.s;
}

/* The classic Notebook 6 part.  Notebook 6 evaluates the script with `element` (a
 * jQuery object) before it appends the output to the page, so the cell is looked up
 * one tick later, when the output is in its cell; `this` (the OutputArea) is tried
 * first.  Assigning a new metadata object makes the cell toolbar (tags) redraw; the
 * notebook is marked dirty only when something changed, because re-opening a trusted
 * notebook runs the saved script again. */
static const char js_body[] =
    "var el = element && element.jquery ? element[0] : element;\n"
    "if (!el) return;\n"
    "if (html) el.innerHTML = html;\n"
    "var J = window.Jupyter;\n"
    "if (!J || !J.notebook || !J.notebook.get_cells) return;\n"
    "var tries = 0;\n"
    "function find_cell() {\n"
    "  var cells = J.notebook.get_cells();\n"
    "  for (var i = 0; i < cells.length; i++) {\n"
    "    var c = cells[i];\n"
    "    if ((self && c.output_area === self) ||\n"
    "        (c.element && c.element[0] && c.element[0].contains(el))) return c;\n"
    "  }\n"
    "  return null;\n"
    "}\n"
    "function apply() {\n"
    "  var cell = find_cell();\n"
    "  if (!cell || !document.body.contains(el)) {\n"
    "    if (++tries < 40) setTimeout(apply, 50);\n"
    "    return;\n"
    "  }\n"
    "  var area = el.closest ? el.closest('.output_area') : null;\n"
    "  if (area && !html) area.style.display = 'none';\n"
    "  if (area && at_top && area.parentNode && area.parentNode.firstChild !== area)\n"
    "    area.parentNode.insertBefore(area, area.parentNode.firstChild);\n"
    "  var old = cell.metadata || {}, md = {}, k, i;\n"
    "  for (k in old) if (Object.prototype.hasOwnProperty.call(old, k)) md[k] = old[k];\n"
    "  var tags = Array.isArray(old.tags) ? old.tags : [], out = [], at = -1;\n"
    "  for (i = 0; i < tags.length; i++) {\n"
    "    if (typeof tags[i] === 'string' && tags[i].indexOf('stage:') === 0) {\n"
    "      if (at < 0) at = out.length;\n"
    "    } else out.push(tags[i]);\n"
    "  }\n"
    "  out.splice(at < 0 ? out.length : at, 0, 'stage:' + p.stage);\n"
    "  var ws = old.workflow_stage;\n"
    "  if (ws && ws.stage === p.stage && ws.confidence === p.confidence &&\n"
    "      ws.model === p.model && JSON.stringify(out) === JSON.stringify(tags)) return;\n"
    "  md.workflow_stage = {stage: p.stage, confidence: p.confidence, model: p.model};\n"
    "  md.tags = out;\n"
    "  cell.metadata = md;\n"
    "  if (J.notebook.set_dirty) J.notebook.set_dirty(true);\n"
    "}\n"
    "setTimeout(apply, 0);\n";

/* The script as saved in every tagged cell's output, so it goes without indentation
 * and line breaks: JS_BODY's lines are written so that joining them is still valid. */
static void sb_put_compact_js(struct sbuf *b, const char *js)
{
    while (*js) {
        while (*js == ' ') js++;
        const char *nl = strchr(js, '\n');
        size_t n = nl ? (size_t)(nl - js) : strlen(js);
        sb_putn(b, js, n);
        js += n + (nl ? 1 : 0);
    }
}

static char *metadata_js(const json_t *payload, const char *html, int top)
{
    struct sbuf b = {0};
    json_t *h = json_string(html ? html : "");
    if (!h) return NULL;
    sb_puts(&b, "/* nbstage: the stage badge; in classic Notebook also the cell's "
                "workflow_stage and stage: tag */\n"
                "(function (element, self) {\n"
                "var p = ");
    sb_put_js_literal(&b, payload);
    sb_puts(&b, ";\nvar html = ");
    sb_put_js_literal(&b, h);
    sb_puts(&b, top ? ";\nvar at_top = true;\n" : ";\nvar at_top = false;\n");
    sb_put_compact_js(&b, js_body);
    sb_puts(&b, "\n})(typeof element !== 'undefined' ? element : null, this);\n");
    json_decref(h);
    if (b.failed) { free(b.s); return NULL; }
    return b.s;
}

static json_t *make_payload(int stage, const float probs[N_STAGES], const char *model)
{
    json_t *p = json_object(), *dist = json_object();
    if (!p || !dist) goto fail;
    if (json_object_set_new(p, "stage", json_string(stage_key[stage])) ||
        json_object_set_new(p, "confidence", json_real(round4(probs[stage]))) ||
        json_object_set_new(p, "model", json_string(model)))
        goto fail;
    for (int s = 0; s < N_STAGES; s++)
        if (json_object_set_new(dist, stage_key[s], json_real(round4(probs[s])))) goto fail;
    if (json_object_set_new(p, "probabilities", dist)) { dist = NULL; goto fail; }
    return p;
fail:
    json_decref(dist);
    json_decref(p);
    return NULL;
}

json_t *stage_output_content(int stage, const float probs[N_STAGES], const char *model_name,
                             const struct stage_display_options *opt)
{
    static const struct stage_display_options defaults = {0, 0, 0.0};
    if (!opt) opt = &defaults;
    if (stage < 0 || stage >= N_STAGES || !probs) return NULL;
    for (int s = 0; s < N_STAGES; s++)
        if (!isfinite(probs[s]) || probs[s] < 0.0f || probs[s] > 1.0001f) return NULL;
    if (probs[stage] < opt->min_confidence) return NULL;
    /* jansson refuses strings that are not UTF-8; a model name should be, but a bad
     * one must not cost the cell its tag. */
    json_t *probe = model_name ? json_string(model_name) : NULL;
    const char *model = probe ? model_name : "unknown";
    json_decref(probe);

    json_t *payload = make_payload(stage, probs, model);
    json_t *content = json_object(), *data = json_object(), *meta = json_object();
    char *html = NULL, *js = NULL;
    if (!payload || !content || !data || !meta) goto fail;
    double confidence = json_real_value(json_object_get(payload, "confidence"));

    if (!opt->no_badge) {
        char plain[128];
        snprintf(plain, sizeof plain, "stage: %s (%d%%)", stage_key[stage], percent(confidence));
        html = badge_html(stage, confidence, model);
        if (!html || json_object_set_new(data, "text/plain", json_string(plain)) ||
            json_object_set_new(data, "text/html", json_string(html)))
            goto fail;
    }
    js = metadata_js(payload, html, opt->position_top);
    if (!js || json_object_set_new(data, "application/javascript", json_string(js)) ||
        json_object_set(data, STAGE_MIME, payload) ||
        json_object_set(meta, "nbstage", payload) ||
        json_object_set_new(content, "data", data))
        goto fail;
    data = NULL;
    if (json_object_set_new(content, "metadata", meta)) { meta = NULL; goto fail; }
    meta = NULL;
    if (json_object_set_new(content, "transient", json_object())) goto fail;
    free(html);
    free(js);
    json_decref(payload);
    return content;
fail:
    free(html);
    free(js);
    json_decref(payload);
    json_decref(data);
    json_decref(meta);
    json_decref(content);
    return NULL;
}

/* A payload is an object with a known "stage" key and a "confidence" in [0, 1]. */
static int read_payload(const json_t *p, int *stage, double *confidence)
{
    if (!json_is_object(p)) return -1;
    const char *key = json_string_value(json_object_get(p, "stage"));
    const json_t *c = json_object_get(p, "confidence");
    if (!key || !json_is_number(c)) return -1;
    int s = stage_from_key(key);
    double v = json_number_value(c);
    if (s < 0 || s >= N_STAGES || !isfinite(v) || v < 0.0 || v > 1.0) return -1;
    *stage = s;
    *confidence = v;
    return 0;
}

int stage_output_parse(const json_t *output, int *stage, double *confidence)
{
    if (!json_is_object(output) || !stage || !confidence) return -1;
    /* The output's metadata is what nbstage writes first; the MIME bundle is the
     * fallback for frontends that drop output metadata. */
    const json_t *meta = json_object_get(output, "metadata");
    if (read_payload(json_object_get(meta, "nbstage"), stage, confidence) == 0) return 0;
    const json_t *data = json_object_get(output, "data");
    return read_payload(json_object_get(data, STAGE_MIME), stage, confidence);
}
