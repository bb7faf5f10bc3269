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
 * JupyterLab gives the script nothing but its element, so it carries its own copy of
 * the badge; Notebook 6 gives it the output's metadata too, so the stage it writes into
 * the cell is read from there.
 *
 * Why terse: the content is signed (HMAC-SHA256, the proxy's main cost per tag), sent,
 * parsed by the client and saved in the notebook for every executed cell.  It was 2.5 KB
 * (payload twice, a longer script carrying the stage again); now about 2.1 KB.
 */
#include "model/stage_output.h"
#include "nbformat/bytebuf.h"
#include "nbformat/jsonload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One colour per stage, in stage.h's order; white text on each has a contrast of at
 * least 5:1 (WCAG AA asks 4.5:1 of 11 px text: the orange and the green were 4.2 and
 * 4.5, the percentage, at opacity .85, 3.5 to 4.9). */
static const char *const stage_colour[N_STAGES] = {
    "#1f6fb4", /* load: blue */
    "#b05200", /* prep: dark orange */
    "#1e7b2a", /* train: green */
    "#c62828", /* evaluate: red */
    "#7b4fb0", /* explore: purple */
    "#5f6368", /* imports: grey */
};

double stage_confidence(double p)
{
    if (!(p > 0)) return 0.0; /* also NaN */
    if (p >= 1) return 1.0;
    return round(p * 1000.0) / 1000.0;
}

/* The pieces built here are read as C strings (a template is strlen'd, ws appended
 * whole): putz keeps the NUL.  256 bytes first; they are built once, at the start. */
static void sb_putn(struct bytebuf *b, const char *s, size_t n) { bytebuf_putz(b, s, n, 256); }
static void sb_puts(struct bytebuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

/* Text for an HTML element or a double-quoted attribute. */
static void sb_put_html(struct bytebuf *b, const char *s)
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

/* Appends S as the inside of a JSON string literal, ASCII only (\uXXXX escapes, which
 * JavaScript reads alike, so U+2028 cannot end a script's string either); marker bytes
 * pass through as they are.  JS: S goes into a JavaScript string literal, and "</" is
 * written "<\/" there, so that "</script>" cannot end the script early where an HTML
 * export inlines it.  Other slashes stay as they are: escaped, each would cost bytes
 * twice over in the saved notebook. */
static void sb_put_escaped(struct bytebuf *b, const char *s, int js)
{
    while (*s) {
        size_t n = 0;
        while (s[n] && !is_marker(s[n])) n++;
        if (n) {
            json_t *str = json_stringn(s, n);
            char *lit = str ? json_dumps(str, JSON_ENSURE_ASCII | JSON_ENCODE_ANY) : NULL;
            json_decref(str);
            if (!lit) { b->oom = 1; return; }
            size_t len = strlen(lit) - 2; /* without the quotes */
            for (const char *c = lit + 1, *e = lit + 1 + len; c < e;) {
                const char *lt = js ? memchr(c, '<', (size_t)(e - c)) : NULL;
                size_t k = lt ? (size_t)(lt - c) + 1 : (size_t)(e - c);
                sb_putn(b, c, k);
                c += k;
                if (lt && c < e && *c == '/') sb_puts(b, "\\");
            }
            free(lit);
        }
        if (is_marker(s[n])) sb_putn(b, &s[n++], 1);
        s += n;
    }
}

static void sb_put_literal(struct bytebuf *b, const char *s)
{
    sb_puts(b, "\"");
    sb_put_escaped(b, s, 0);
    sb_puts(b, "\"");
}

/* The badge's two closing tags: the script's copy goes without them (below). */
#define BADGE_END "</span></span>"

/* Attributes in single quotes: the HTML is carried twice, once inside the script's
 * string literal, where a double quote costs three more bytes of escapes (\\\"). */
static char *badge_html(int stage, const char *model)
{
    struct bytebuf b = {0};
    sb_puts(&b, "<span class='nbstage-badge nbstage-");
    sb_puts(&b, stage_key[stage]);
    /* what a screen reader says beside "train 93%" */
    sb_puts(&b, "' title='");
    sb_put_html(&b, stage_name[stage]);
    sb_puts(&b, "; the percentage: confidence of ");
    sb_put_html(&b, model);
    sb_puts(&b, "' style='display:inline-block;padding:1px 8px;border-radius:10px;"
                "background:");
    sb_puts(&b, stage_colour[stage]);
    sb_puts(&b, ";color:#fff;font:600 11px/1.7 sans-serif'>");
    sb_puts(&b, stage_key[stage]);
    sb_puts(&b, " <span style='font-weight:400'>\x02%" BADGE_END);
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

/* The classic Notebook 6 part, saved in every tagged cell's output, hence terse.
 * Notebook 6 evaluates the script inside OutputArea's append_javascript, where `md` is
 * the output's metadata, `element` (a jQuery object) its element and `this` the
 * OutputArea: the script takes the cell's workflow_stage from md.nbstage rather than
 * carry a copy.  JupyterLab evaluates it with `element` only (a DOM node), and there it
 * only draws the badge: the badge goes into the element because Notebook 6 and
 * JupyterLab render application/javascript, not text/html, for trusted outputs.  An
 * HTML export (nbconvert, File > Download as > HTML) runs the script from a <script>
 * inside the output's element, and nbconvert 6's lab template gives every such element
 * the same id, so its `element` is the first cell's: the script's own parent, where
 * there is one (document.currentScript; null where a frontend evaluates it), is the
 * element then.  Its
 * HTML goes without the closing tags, which the HTML parser supplies at the end of
 * innerHTML's input.  The cell is looked up one tick later, when the output is in its
 * cell (Notebook 6 runs the script before it appends the output to the page).  The
 * stage: tag replaces an older one where it was; "tags" that is not a list (the
 * notebook's schema wants one) is the user's and kept, only workflow_stage set, as
 * `nbstage tag` refuses to replace it.  Assigning a new metadata object makes
 * the cell toolbar (tags) redraw; the notebook is marked dirty only when something
 * changed (fields compared one by one: a notebook saved by Python has its keys sorted).
 * Only a live output writes the cell's metadata.  Notebook 6 runs the saved scripts
 * again whenever it loads outputs from JSON: opening a trusted notebook, trusting one
 * (which reloads the page), File > Revert to Checkpoint (which loads the checkpoint into
 * the page it has, `_fully_loaded` still set, so that flag cannot tell), and a cell
 * pasted or undeleted (which carries its metadata with it anyway).  Then the script only
 * draws and places the badge and leaves the cell's metadata as it was saved, so that a
 * stage tag the user set by hand is not put back to the kernel's.  What tells them
 * apart is the output's own record in the OutputArea (the object whose metadata is
 * `md`): one made from an iopub message has the message's `transient` (the kernel
 * always sends {}), and one loaded from JSON has none, as nbformat saves none and
 * Notebook 6's toJSON drops it.  `typeof x<'u'` is `typeof x!='undefined'`, shorter
 * ("undefined" is the one typeof result that sorts after "u").  JS_HEAD, the badge
 * HTML, the position, JS_TAIL. */
static const char js_head[] = "/* nbstage */(function(e,o,d){var html=\"";
static const char js_tail[] =
    ",s=document.currentScript,el=s?s.parentNode:e&&e.jquery?e[0]:e,N=window.Jupyter,p=d&&d.nbstage,n=0,"
    "K=['stage','confidence','model'],w={},J=JSON.stringify;"
    "if(!el)return;if(html)el.innerHTML=html;N=N&&N.notebook;"
    "if(!N||!N.get_cells||!p)return;K.forEach(k=>w[k]=p[k]);"
    "function c(){return N.get_cells().find(y=>y.output_area===o||y.element?.[0]?.contains(el))}"
    "function f(){var x=c(),a;if(!x||!el.isConnected){if(++n<40)setTimeout(f,50);return}"
    "a=el.closest('.output_area');if(a&&!html)a.style.display='none';"
    "if(a&&at_top&&a.previousSibling)a.parentNode.prepend(a)}"
    "o?.events?.one('output_added.OutputArea',(_,v)=>{var x=c(),m,g,u=[],i=-1,q,b;v=v.output;"
    "if(!x||v.metadata!=d||!v.transient)return;"
    "m=x.metadata||{};g=m.tags;b=g===void 0||Array.isArray(g);"
    "(b&&g||[]).forEach(t=>typeof t=='string'&&!t.indexOf('stage:')?i<0&&(i=u.length):u.push(t));"
    "b?u.splice(i<0?u.length:i,0,'stage:'+w.stage):u=g;q=m.workflow_stage;"
    "if(q&&K.every(k=>q[k]===w[k])&&J(u)==J(g))return;"
    "x.metadata=Object.assign({},m,{workflow_stage:w,tags:u});N.set_dirty(true)});"
    "setTimeout(f,0)})(typeof element<'u'?element:null,this,typeof md<'u'?md:null)";

static char *metadata_js(const char *html, int top)
{
    struct bytebuf b = {0};
    sb_puts(&b, js_head);
    if (html) { /* without BADGE_END */
        size_t n = strlen(html) - (sizeof BADGE_END - 1);
        char *open = strndup(html, n);
        if (open) sb_put_escaped(&b, open, 1); else b.oom = 1;
        free(open);
    }
    sb_puts(&b, top ? "\",at_top=true" : "\",at_top=false");
    sb_puts(&b, js_tail);
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

/* The display_data content of STAGE with the markers in place of the numbers.  The
 * payload goes into the data whole; the output's metadata carries what a cell's
 * metadata.workflow_stage holds (stage, confidence, model), which the script and
 * `nbstage tag --from-outputs` read, without the six probabilities. */
static char *content_template(int stage, const char *model, const struct stage_display_options *opt)
{
    struct bytebuf b = {0}, ws = {0};
    char *html = opt->no_badge ? NULL : badge_html(stage, model);
    char *js = metadata_js(html, opt->position_top);
    sb_puts(&ws, "{\"stage\":");
    sb_put_literal(&ws, stage_key[stage]);
    sb_puts(&ws, ",\"confidence\":\x01,\"model\":");
    sb_put_literal(&ws, model);
    sb_puts(&b, "{\"data\":{");
    if (!opt->no_badge) {
        sb_puts(&b, "\"text/plain\":\"stage: ");
        sb_puts(&b, stage_key[stage]);
        sb_puts(&b, " (\x02%)\",\"text/html\":");
        if (html) sb_put_literal(&b, html); else b.oom = 1;
        sb_puts(&b, ",");
    }
    sb_puts(&b, "\"application/javascript\":");
    if (js) sb_put_literal(&b, js); else b.oom = 1;
    sb_puts(&b, ",\"" STAGE_MIME "\":");
    if (ws.p) sb_puts(&b, ws.p);
    sb_puts(&b, ",\"probabilities\":\x03}},\"metadata\":{\"nbstage\":");
    if (ws.p) sb_puts(&b, ws.p);
    sb_puts(&b, "}},\"transient\":{}}");
    free(html);
    free(js);
    if (ws.oom || b.oom) { free(ws.p); free(b.p); return NULL; }
    free(ws.p);
    return b.p;
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

/* P (in [0, 1.0001]) rounded to DIGITS decimals (3 or 4), as a JSON number that reads
 * back as the double nearest k / 10^DIGITS: "0.93", "1.0", "0.0".  Digit by digit:
 * snprintf was a fifth of a stage tag's CPU.  Four decimals are plenty for the
 * probabilities and keep the saved JSON short; the confidence has stage_confidence's
 * three. */
static size_t put_decimal(char *out, double p, int digits)
{
    long scale = digits == 3 ? 1000 : 10000;
    long k = lround(p * (double)scale);
    size_t n = put_uint(out, (unsigned long)(k / scale));
    out[n++] = '.';
    int frac = (int)(k % scale);
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
    double c = stage_confidence(probs[stage]);
    size_t nconf = put_decimal(conf, c, 3);
    size_t npct = put_uint(pct, (unsigned long)percent(c));
    size_t nd = 0;
    for (int s = 0; s < N_STAGES; s++) { /* {"load":0.01,...}: keys are short, fixed */
        dist[nd++] = s ? ',' : '{';
        dist[nd++] = '"';
        size_t kl = strlen(stage_key[s]);
        memcpy(dist + nd, stage_key[s], kl);
        nd += kl;
        dist[nd++] = '"';
        dist[nd++] = ':';
        nd += put_decimal(dist + nd, probs[s], 4);
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
    json_t *content = text ? nb_json_loads(text, 0, NULL) : NULL;
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
