/* stage_output.c — the live tag the stage kernel shows under a cell (see stage_output.h).
 *
 * Owns: the display_data content (text/plain, the coloured HTML badge, the JSON
 * payload, the classic-Notebook JavaScript that writes cell metadata) and reading a
 * payload back from a saved output.
 *
 * Why templates: the content is published for every executed cell before its idle,
 * so it is built once per stage when the kernel starts (model name, options, badge,
 * script, all escaped), with marker bytes where the numbers go; a cell's content is
 * then one copy of its stage's template with the numbers put in (a few microseconds,
 * where building and serialising the JSON tree took 50-200).
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

static int percent(double confidence) { return (int)lround(confidence * 100.0); }

/* Marker bytes in the prebuilt templates, where the per-cell parts go.  Every JSON
 * string escapes bytes below 0x20, and a model name has them replaced, so they occur
 * nowhere else in a template. */
#define MK_CONF '\x01'  /* the confidence, a JSON number: 0.93 */
#define MK_PCT '\x02'   /* the confidence in percent, an integer: 93 */
#define MK_PROBS '\x03' /* the six probabilities, a JSON object */

static int is_marker(char c) { return c == MK_CONF || c == MK_PCT || c == MK_PROBS; }

/* Appends S as the inside of a JSON (and JavaScript) string literal: ASCII only and
 * "\/" escaped, so that neither odd characters in a model name nor "</script>" (HTML
 * exports inline the script) can end it early; marker bytes pass through as they are. */
static void sb_put_escaped(struct sbuf *b, const char *s)
{
    while (*s) {
        size_t n = 0;
        while (s[n] && !is_marker(s[n])) n++;
        if (n) {
            json_t *str = json_stringn(s, n);
            char *lit = str ? json_dumps(str, JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH | JSON_ENCODE_ANY)
                            : NULL;
            json_decref(str);
            if (!lit) { b->failed = 1; return; }
            sb_putn(b, lit + 1, strlen(lit) - 2); /* without the quotes */
            free(lit);
        }
        if (is_marker(s[n])) sb_putn(b, &s[n++], 1);
        s += n;
    }
}

static void sb_put_literal(struct sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    sb_put_escaped(b, s);
    sb_puts(b, "\"");
}

/* Attributes in single quotes: the HTML is carried twice, once inside the script's
 * string literal, where a double quote costs three more bytes of escapes (\\\"). */
static char *badge_html(int stage, const char *model)
{
    struct sbuf b = {0};
    sb_puts(&b, "<span class='nbstage-badge nbstage-");
    sb_puts(&b, stage_key[stage]);
    sb_puts(&b, "' title='");
    sb_put_html(&b, stage_name[stage]);
    sb_puts(&b, " (nbstage model ");
    sb_put_html(&b, model);
    sb_puts(&b, ")' style='display:inline-block;padding:1px 8px;border-radius:10px;"
                "background:");
    sb_puts(&b, stage_colour[stage]);
    sb_puts(&b, ";color:#fff;font:600 11px/1.7 sans-serif;letter-spacing:.02em'>");
    sb_puts(&b, stage_key[stage]);
    sb_puts(&b, " <span style='font-weight:400;opacity:.85'>\x02%</span></span>");
    if (b.failed) { free(b.s); return NULL; }
    return b.s;
}

/* The classic Notebook 6 part, saved in every tagged cell's output, hence terse.
 * Notebook 6 evaluates the script with `element` (a jQuery object) before it appends
 * the output to the page, so the cell is looked up one tick later, when the output is
 * in its cell; `this` (the OutputArea) is tried first.  The badge goes into the
 * element: Notebook 6 and JupyterLab render application/javascript, not text/html,
 * for trusted outputs.  The stage: tag replaces an older one where it was.  Assigning
 * a new metadata object makes the cell toolbar (tags) redraw; the notebook is marked
 * dirty only when something changed, because re-opening a trusted notebook runs the
 * saved script again.  JS_HEAD, then w's stage, confidence and model, the badge HTML
 * and the position, then JS_TAIL. */
static const char js_head[] =
    "/* nbstage badge; Notebook 6: cell workflow_stage, stage: tag */\n"
    "(function(e,o){var w={stage:";
static const char js_tail[] =
    ",el=e&&e.jquery?e[0]:e,J=window.Jupyter,n=0;"
    "if(!el)return;if(html)el.innerHTML=html;"
    "if(!J||!J.notebook||!J.notebook.get_cells)return;"
    "function f(){var c=J.notebook.get_cells(),x=null,i,a,m,g,u=[],k=-1,q;"
    "for(i=0;i<c.length&&!x;i++)if((o&&c[i].output_area===o)||"
    "(c[i].element&&c[i].element[0]&&c[i].element[0].contains(el)))x=c[i];"
    "if(!x||!document.body.contains(el)){if(++n<40)setTimeout(f,50);return}"
    "a=el.closest?el.closest('.output_area'):null;if(a&&!html)a.style.display='none';"
    "if(a&&at_top&&a.parentNode&&a.parentNode.firstChild!==a)"
    "a.parentNode.insertBefore(a,a.parentNode.firstChild);"
    "m=x.metadata||{};g=Array.isArray(m.tags)?m.tags:[];"
    "for(i=0;i<g.length;i++)if(typeof g[i]==='string'&&g[i].indexOf('stage:')===0)"
    "{if(k<0)k=u.length}else u.push(g[i]);"
    "u.splice(k<0?u.length:k,0,'stage:'+w.stage);q=m.workflow_stage;"
    "if(q&&q.stage===w.stage&&q.confidence===w.confidence&&q.model===w.model&&"
    "JSON.stringify(u)===JSON.stringify(g))return;"
    "x.metadata=Object.assign({},m,{workflow_stage:w,tags:u});"
    "if(J.notebook.set_dirty)J.notebook.set_dirty(true)}"
    "setTimeout(f,0)})(typeof element!=='undefined'?element:null,this);\n";

static char *metadata_js(int stage, const char *model, const char *html, int top)
{
    struct sbuf b = {0};
    sb_puts(&b, js_head);
    sb_put_literal(&b, stage_key[stage]);
    sb_puts(&b, ",confidence:\x01,model:");
    sb_put_literal(&b, model);
    sb_puts(&b, "},html=");
    sb_put_literal(&b, html ? html : "");
    sb_puts(&b, top ? ",at_top=true" : ",at_top=false");
    sb_puts(&b, js_tail);
    if (b.failed) { free(b.s); return NULL; }
    return b.s;
}

/* The display_data content of STAGE with the markers in place of the numbers. */
static char *content_template(int stage, const char *model, const struct stage_display_options *opt)
{
    struct sbuf b = {0}, payload = {0};
    char *html = opt->no_badge ? NULL : badge_html(stage, model);
    char *js = metadata_js(stage, model, html, opt->position_top);
    sb_puts(&payload, "{\"stage\":");
    sb_put_literal(&payload, stage_key[stage]);
    sb_puts(&payload, ",\"confidence\":\x01,\"model\":");
    sb_put_literal(&payload, model);
    sb_puts(&payload, ",\"probabilities\":\x03}");
    sb_puts(&b, "{\"data\":{");
    if (!opt->no_badge) {
        sb_puts(&b, "\"text/plain\":\"stage: ");
        sb_puts(&b, stage_key[stage]);
        sb_puts(&b, " (\x02%)\",\"text/html\":");
        if (html) sb_put_literal(&b, html); else b.failed = 1;
        sb_puts(&b, ",");
    }
    sb_puts(&b, "\"application/javascript\":");
    if (js) sb_put_literal(&b, js); else b.failed = 1;
    sb_puts(&b, ",\"" STAGE_MIME "\":");
    if (payload.s) sb_puts(&b, payload.s);
    sb_puts(&b, "},\"metadata\":{\"nbstage\":");
    if (payload.s) sb_puts(&b, payload.s);
    sb_puts(&b, "},\"transient\":{}}");
    free(html);
    free(js);
    if (payload.failed || b.failed) { free(payload.s); free(b.s); return NULL; }
    free(payload.s);
    return b.s;
}

struct stage_output {
    char *tmpl[N_STAGES];
    size_t len[N_STAGES];
    double min_confidence;
};

struct stage_output *stage_output_new(const char *model_name,
                                      const struct stage_display_options *opt)
{
    static const struct stage_display_options defaults = {0, 0, 0.0};
    if (!opt) opt = &defaults;
    /* jansson refuses strings that are not UTF-8; a model name should be, but a bad
     * one must not cost the cell its tag.  Control bytes would read as markers. */
    json_t *probe = model_name ? json_string(model_name) : NULL;
    char *model = strdup(probe ? model_name : "unknown");
    json_decref(probe);
    struct stage_output *so = calloc(1, sizeof *so);
    if (!model || !so) { free(model); free(so); return NULL; }
    for (char *c = model; *c; c++)
        if ((unsigned char)*c < 0x20) *c = '?';
    so->min_confidence = opt->min_confidence;
    for (int s = 0; s < N_STAGES; s++) {
        if (!(so->tmpl[s] = content_template(s, model, opt))) {
            free(model);
            stage_output_free(so);
            return NULL;
        }
        so->len[s] = strlen(so->tmpl[s]);
    }
    free(model);
    return so;
}

void stage_output_free(struct stage_output *so)
{
    if (!so) return;
    for (int s = 0; s < N_STAGES; s++) free(so->tmpl[s]);
    free(so);
}

/* Writes the decimal digits of V (>= 0) at OUT; returns their count. */
static size_t put_uint(char *out, unsigned long v)
{
    char tmp[24];
    size_t n = 0;
    do tmp[n++] = (char)('0' + v % 10), v /= 10; while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* P (in [0, 1.0001]) rounded to four decimals, as a JSON number that reads back as
 * round4(P): "0.93", "1.0", "0.0" (k / 10000 exactly, which parses to the double
 * nearest it).  Digit by digit: snprintf was a fifth of a stage tag's CPU. */
static size_t put_prob(char *out, double p)
{
    long k = lround(p * 10000.0);
    size_t n = put_uint(out, (unsigned long)(k / 10000));
    out[n++] = '.';
    int frac = (int)(k % 10000), digits = 4;
    while (digits > 1 && frac % 10 == 0) frac /= 10, digits--;
    for (int d = digits - 1; d >= 0; d--, frac /= 10) out[n + (size_t)d] = (char)('0' + frac % 10);
    return n + (size_t)digits;
}

char *stage_output_text(const struct stage_output *so, int stage, const float probs[N_STAGES])
{
    if (!so || stage < 0 || stage >= N_STAGES || !probs) return NULL;
    for (int s = 0; s < N_STAGES; s++)
        if (!isfinite(probs[s]) || probs[s] < 0.0f || probs[s] > 1.0001f) return NULL;
    if (probs[stage] < so->min_confidence) return NULL;
    char conf[24], pct[16], dist[256];
    size_t nconf = put_prob(conf, probs[stage]);
    size_t npct = put_uint(pct, (unsigned long)percent(round4(probs[stage])));
    size_t nd = 0;
    for (int s = 0; s < N_STAGES; s++) { /* {"load":0.01,...}: keys are short, fixed */
        dist[nd++] = s ? ',' : '{';
        dist[nd++] = '"';
        size_t kl = strlen(stage_key[s]);
        memcpy(dist + nd, stage_key[s], kl);
        nd += kl;
        dist[nd++] = '"';
        dist[nd++] = ':';
        nd += put_prob(dist + nd, probs[s]);
    }
    dist[nd++] = '}';
    const char *t = so->tmpl[stage];
    size_t len = so->len[stage];
    char *out = malloc(len + 4 * (nconf + npct + nd) + 1); /* each marker occurs at most 4 times */
    if (!out) return NULL;
    char *o = out;
    for (;;) {
        size_t n = strcspn(t, "\x01\x02\x03");
        memcpy(o, t, n);
        o += n, t += n;
        if (!*t) break;
        const char *v = *t == MK_CONF ? conf : *t == MK_PCT ? pct : dist;
        size_t vn = *t == MK_CONF ? nconf : *t == MK_PCT ? npct : nd;
        memcpy(o, v, vn);
        o += vn, t++;
    }
    *o = 0;
    return out;
}

json_t *stage_output_content(int stage, const float probs[N_STAGES], const char *model_name,
                             const struct stage_display_options *opt)
{
    struct stage_output *so = stage_output_new(model_name, opt);
    char *text = stage_output_text(so, stage, probs);
    json_t *content = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    stage_output_free(so);
    return content;
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
