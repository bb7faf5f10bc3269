/* metrics.c — scoring predicted stages against true ones (see metrics.h).
 *
 * Owns: the confusion matrix and everything read off it (its SVG picture written by
 * outfile, nbformat/outfile.h).  The classification report reproduces scikit-learn's
 * classification_report(digits=3) byte for byte: the classes shown are those present
 * in the truth or the predictions (sklearn's default `labels=None`), a metric whose
 * denominator is zero is 0.0 (sklearn's zero_division default, minus the warning),
 * and macro averages run over the classes shown.  The F-score is 2tp / (2tp + fp + fn),
 * as scikit-learn's current source computes it; older releases (1.2, Debian's
 * python3-sklearn) went through precision and recall, whose rounding can put an exact
 * tie one up in the third decimal (26/32 = 0.8125: they print 0.813, we and current
 * releases 0.812).
 */
#include "labeling/metrics.h"

#include <string.h>

#include "nbformat/notebook.h"
#include "nbformat/outfile.h"

void confusion_add(struct confusion *c, int truth, int predicted)
{
    if (truth < 0 || truth >= N_STAGES) return; /* "none" is never scored */
    if (predicted < 0 || predicted >= N_STAGES) { c->unlabeled++; c->unlabeled_of[truth]++; return; }
    c->m[truth][predicted]++;
}

long confusion_total(const struct confusion *c)
{
    long n = 0;
    for (int t = 0; t < N_STAGES; t++)
        for (int p = 0; p < N_STAGES; p++) n += c->m[t][p];
    return n;
}

double confusion_accuracy(const struct confusion *c)
{
    long n = confusion_total(c), ok = 0;
    for (int s = 0; s < N_STAGES; s++) ok += c->m[s][s];
    return n ? (double)ok / (double)n : 0.0;
}

double confusion_coverage(const struct confusion *c)
{
    long n = confusion_total(c);
    return (n + c->unlabeled) ? (double)n / (double)(n + c->unlabeled) : 0.0;
}

/* Per-class figures; PRESENT says whether sklearn would list the class. */
struct class_score {
    double precision, recall, f1;
    long support, predicted;
    int present;
};

static void class_scores(const struct confusion *c, struct class_score s[N_STAGES])
{
    for (int k = 0; k < N_STAGES; k++) {
        long tp = c->m[k][k], sup = 0, pred = 0;
        for (int j = 0; j < N_STAGES; j++) { sup += c->m[k][j]; pred += c->m[j][k]; }
        s[k].support = sup;
        s[k].predicted = pred;
        s[k].present = sup > 0 || pred > 0;
        s[k].precision = pred ? (double)tp / (double)pred : 0.0;
        s[k].recall = sup ? (double)tp / (double)sup : 0.0;
        /* 2tp / (2tp + fp + fn), as current sklearn computes it (no p,r round trip). */
        long den = 2 * tp + (pred - tp) + (sup - tp);
        s[k].f1 = den ? 2.0 * (double)tp / (double)den : 0.0;
    }
}

double confusion_macro_f1(const struct confusion *c)
{
    struct class_score s[N_STAGES];
    class_scores(c, s);
    double sum = 0;
    int n = 0;
    for (int k = 0; k < N_STAGES; k++)
        if (s[k].present) { sum += s[k].f1; n++; }
    return n ? sum / n : 0.0;
}

double confusion_macro_f1_all(const struct confusion *c)
{
    struct class_score s[N_STAGES];
    class_scores(c, s);
    double sum = 0;
    int n = 0;
    for (int k = 0; k < N_STAGES; k++) {
        long tp = c->m[k][k], miss = c->unlabeled_of[k];
        if (!s[k].present && !miss) continue;
        long den = 2 * tp + (s[k].predicted - tp) + (s[k].support - tp) + miss;
        sum += den ? 2.0 * (double)tp / (double)den : 0.0;
        n++;
    }
    return n ? sum / n : 0.0;
}

void metrics_print_report(FILE *to, const struct confusion *c)
{
    if (!confusion_total(c)) {
        /* no class to show: sklearn's report has no rows to print (it raises), and a
         * table of 0.000 over 0 cells read as a model that got everything wrong */
        fprintf(to, "no cell has a prediction: no classification report\n");
        return;
    }
    struct class_score s[N_STAGES];
    class_scores(c, s);
    const int w = 12; /* strlen("weighted avg") exceeds every stage key */
    fprintf(to, "%*s  %9s %9s %9s %9s\n\n", w, "", "precision", "recall", "f1-score", "support");
    double mp = 0, mr = 0, mf = 0, wp = 0, wr = 0, wf = 0;
    long total = 0;
    int n = 0;
    for (int k = 0; k < N_STAGES; k++) {
        if (!s[k].present) continue;
        fprintf(to, "%*s  %9.3f %9.3f %9.3f %9ld\n", w, stage_key[k], s[k].precision,
                s[k].recall, s[k].f1, s[k].support);
        mp += s[k].precision; mr += s[k].recall; mf += s[k].f1; n++;
        wp += s[k].precision * s[k].support;
        wr += s[k].recall * s[k].support;
        wf += s[k].f1 * s[k].support;
        total += s[k].support;
    }
    if (n) { mp /= n; mr /= n; mf /= n; }
    if (total) { wp /= total; wr /= total; wf /= total; }
    fprintf(to, "\n");
    fprintf(to, "%*s  %9s %9s %9.3f %9ld\n", w, "accuracy", "", "", confusion_accuracy(c), total);
    fprintf(to, "%*s  %9.3f %9.3f %9.3f %9ld\n", w, "macro avg", mp, mr, mf, total);
    fprintf(to, "%*s  %9.3f %9.3f %9.3f %9ld\n", w, "weighted avg", wp, wr, wf, total);
}

void metrics_print_undefined(FILE *to, const struct confusion *c)
{
    struct class_score s[N_STAGES];
    class_scores(c, s);
    static const char *const what[2] = {"precision", "recall"}, *const why[2] = {"predicted", "true"};
    for (int m = 0; m < 2; m++) {
        int n = 0;
        for (int k = 0; k < N_STAGES; k++) {
            if (!s[k].present || (m == 0 ? s[k].predicted : s[k].support)) continue;
            fprintf(to, "%s%s", n++ ? ", " : "note: ", stage_key[k]);
        }
        if (n) nb_say(to, ": %s is ill-defined (no %s cells) and set to 0.0, as scikit-learn does",
                      what[m], why[m]);
    }
}

void metrics_print_confusion(FILE *to, const struct confusion *c)
{
    fprintf(to, "%-12s", "true\\pred");
    for (int p = 0; p < N_STAGES; p++) fprintf(to, " %9s", stage_key[p]);
    fprintf(to, "\n");
    for (int t = 0; t < N_STAGES; t++) {
        fprintf(to, "%-12s", stage_key[t]);
        for (int p = 0; p < N_STAGES; p++) fprintf(to, " %9ld", c->m[t][p]);
        fprintf(to, "\n");
    }
    if (c->unlabeled) fprintf(to, "unlabeled (no prediction): %ld\n", c->unlabeled);
}

/* Escapes the few characters XML cares about. */
static void svg_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

int metrics_write_confusion_svg(const char *path, const struct confusion *c, const char *title,
                                char *err, size_t errlen)
{
    struct outfile o;
    nb_error e;
    if (outfile_open(&o, path, &e)) {
        nb_error_copy(err, errlen, e.msg);
        return -1;
    }
    FILE *f = o.f;
    const int cell = 64, left = 96, top = 72;
    const int width = left + N_STAGES * cell + 24, height = top + N_STAGES * cell + 48;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", width, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", left);
    svg_text(f, title ? title : "confusion matrix");
    fprintf(f, "</text>\n");
    fprintf(f, "<text x=\"%d\" y=\"40\">predicted</text>\n", left + N_STAGES * cell / 2 - 28);
    for (int p = 0; p < N_STAGES; p++)
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                left + p * cell + cell / 2, top - 8, stage_key[p]);
    for (int t = 0; t < N_STAGES; t++) {
        long row = 0;
        for (int p = 0; p < N_STAGES; p++) row += c->m[t][p];
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 8,
                top + t * cell + cell / 2 + 4, stage_key[t]);
        for (int p = 0; p < N_STAGES; p++) {
            /* Shade by the row share, so small classes read as clearly as big ones. */
            double share = row ? (double)c->m[t][p] / (double)row : 0.0;
            int g = 255 - (int)(share * 200.0);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,255)\" "
                       "stroke=\"#999\"/>\n", left + p * cell, top + t * cell, cell, cell, g, g);
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%ld</text>\n",
                    left + p * cell + cell / 2, top + t * cell + cell / 2 + 4,
                    share > 0.6 ? "white" : "black", c->m[t][p]);
        }
    }
    /* the accuracy the report's first line gives (a cell without a prediction is a miss),
     * and the matrix's own (over the predicted cells) beside it when they differ */
    long n = confusion_total(c), all = n + c->unlabeled;
    fprintf(f, "<text x=\"%d\" y=\"%d\">true (rows) · accuracy %.3f", left, top + N_STAGES * cell + 28,
            all ? confusion_accuracy(c) * (double)n / (double)all : 0.0);
    if (c->unlabeled && n) fprintf(f, " (%.3f over predicted cells)", confusion_accuracy(c));
    fprintf(f, " · coverage %.3f</text>\n", confusion_coverage(c));
    fprintf(f, "</svg>\n");
    if (outfile_commit(&o, &e)) {
        nb_error_copy(err, errlen, e.msg);
        return -1;
    }
    return 0;
}
