/* curves.c — writes learning curves: a CSV table and an SVG plot with two panels,
 * loss and accuracy per epoch, training against validation.
 *
 * Files are written by outfile (nbformat/outfile.h): a fresh temporary beside PATH
 * renamed over it, so a reader (or a run stopped by Ctrl-C) never sees half a file,
 * and a failed write leaves the previous epoch's.
 */
#include "model/curves.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "nbformat/outfile.h"

/* outfile_open and _commit with their message in ERR. */
static FILE *open_out(struct outfile *o, const char *path, char *err, size_t errlen)
{
    nb_error e;
    if (outfile_open(o, path, &e) == 0) return o->f;
    nb_error_copy(err, errlen, e.msg);
    return NULL;
}

static int commit_out(struct outfile *o, char *err, size_t errlen)
{
    nb_error e;
    if (outfile_commit(o, &e) == 0) return 0;
    nb_error_copy(err, errlen, e.msg);
    return -1;
}

/* A number for CSV: empty when absent (no validation set). */
static void csv_num(FILE *f, double x, const char *sep)
{
    if (isnan(x)) fprintf(f, "%s", sep);
    else fprintf(f, "%.6f%s", x, sep);
}

int curves_write_csv(const char *path, const struct curve_point *pts, int n, char *err, size_t errlen)
{
    struct outfile o;
    FILE *f = open_out(&o, path, err, errlen);
    if (!f) return -1;
    fprintf(f, "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%d,", pts[i].epoch);
        csv_num(f, pts[i].loss, ",");
        csv_num(f, pts[i].acc, ",");
        csv_num(f, pts[i].val_loss, ",");
        csv_num(f, pts[i].val_acc, ",");
        fprintf(f, "%.3f\n", pts[i].seconds);
    }
    return commit_out(&o, err, errlen);
}

/* ---- SVG ---------------------------------------------------------------------- */

enum { PANEL_W = 440, PANEL_H = 320, ML = 56, MR = 16, MT = 36, MB = 44 };

struct panel {
    double x0;            /* left edge of the panel in the picture */
    double ymin, ymax;    /* value range of the y axis */
    int epochs;
};

static double px(const struct panel *p, double epoch)
{
    double w = PANEL_W - ML - MR;
    return p->x0 + ML + (p->epochs > 1 ? (epoch - 1) / (p->epochs - 1) * w : w / 2);
}
static double py(const struct panel *p, double v)
{
    double h = PANEL_H - MT - MB;
    return MT + (p->ymax - v) / (p->ymax - p->ymin) * h;
}

/* A "nice" tick step for a range: 1, 2 or 5 times a power of ten, about 5 ticks. */
static double tick_step(double range)
{
    double raw = range / 5, mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static void axes(FILE *f, const struct panel *p, const char *title, const char *ylabel)
{
    double left = p->x0 + ML, right = p->x0 + PANEL_W - MR;
    int top = MT, bottom = PANEL_H - MB;
    fprintf(f, "<text x=\"%.1f\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n",
            p->x0 + PANEL_W / 2.0, title);
    fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            left, top, right - left, bottom - top);
    double step = tick_step(p->ymax - p->ymin);
    for (double v = ceil(p->ymin / step) * step; v <= p->ymax + step * 1e-6; v += step) {
        double y = py(p, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y, right, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%g</text>\n",
                left - 4, y + 4, fabs(v) < step * 1e-6 ? 0.0 : v);
    }
    int estep = p->epochs <= 10 ? 1 : p->epochs <= 25 ? 2 : p->epochs <= 60 ? 5 : 10;
    for (int e = 1; e <= p->epochs; e += (e == 1 && estep > 1) ? estep - 1 : estep) {
        double x = px(p, e);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>\n", x, bottom, x, bottom + 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%d</text>\n", x, bottom + 17, e);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">epoch</text>\n",
            (left + right) / 2, PANEL_H - 8);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
               "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
            p->x0 + 14, (top + bottom) / 2.0, p->x0 + 14, (top + bottom) / 2.0, ylabel);
}

/* The member of PT at byte offset OFF (loss, acc, val_loss or val_acc). */
static double value(const struct curve_point *pt, size_t off)
{
    return *(const double *)((const char *)pt + off);
}

/* One series: a polyline with a dot per epoch; absent values are skipped. */
static void series(FILE *f, const struct panel *p, const struct curve_point *pts, int n,
                   size_t offset, const char *colour, const char *dash)
{
    int any = 0;
    for (int i = 0; i < n; i++) {
        double v = value(&pts[i], offset);
        if (isnan(v)) continue;
        if (!any) fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", colour, dash);
        fprintf(f, "%s%.1f,%.1f", any ? " " : "", px(p, pts[i].epoch), py(p, v));
        any = 1;
    }
    if (!any) return;
    fprintf(f, "\"/>\n");
    for (int i = 0; i < n; i++) {
        double v = value(&pts[i], offset);
        if (!isnan(v))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(p, pts[i].epoch), py(p, v), colour);
    }
}

/* The legend's box: LEGEND_W x LEGEND_H (two entries), its first entry's line at
 * (x, y). */
enum { LEGEND_W = 110, LEGEND_H = 40 };

/* How much of the panel's two series (the members at offsets OFF[0], training, and
 * OFF[1], validation) would lie under a legend at (X, Y): their polylines sampled
 * along each segment, the samples inside the box. */
static int legend_overlap(const struct panel *p, const struct curve_point *pts, int n,
                          const size_t off[2], double x, double y)
{
    int hits = 0;
    for (int s = 0; s < 2; s++) {
        double x0 = NAN, y0 = NAN;
        for (int i = 0; i < n; i++) {
            double v = value(&pts[i], off[s]);
            if (isnan(v)) continue;
            double x1 = px(p, pts[i].epoch), y1 = py(p, v);
            int steps = isnan(x0) ? 1 : 24;
            for (int k = 1; k <= steps; k++) { /* the segment from the last point, and the point */
                double t = (double)k / steps;
                double sx = isnan(x0) ? x1 : x0 + t * (x1 - x0), sy = isnan(y0) ? y1 : y0 + t * (y1 - y0);
                hits += sx >= x - 6 && sx <= x + LEGEND_W && sy >= y - 12 && sy <= y + LEGEND_H - 6;
            }
            x0 = x1;
            y0 = y1;
        }
    }
    return hits;
}

/* In the corner the curves leave free: top right first for the loss (it falls),
 * bottom right for the accuracy (it rises), then the others; the one the curves cross
 * least when none is free.  A validation loss that climbs back at the end (over-
 * fitting) would otherwise run under a top-right legend. */
static void legend(FILE *f, const struct panel *p, const struct curve_point *pts, int n,
                   const size_t off[2], int has_val, int bottom)
{
    double right = p->x0 + PANEL_W - MR - LEGEND_W, left = p->x0 + ML + 12;
    double top = MT + 14, low = PANEL_H - MB - 34;
    double cx[4] = {right, right, left, left}, cy[4];
    cy[0] = bottom ? low : top;
    cy[1] = bottom ? top : low;
    cy[2] = cy[0];
    cy[3] = cy[1];
    int best = 0, best_hits = -1;
    for (int c = 0; c < 4 && best_hits != 0; c++) {
        int hits = legend_overlap(p, pts, n, off, cx[c], cy[c]);
        if (best_hits < 0 || hits < best_hits) { best = c; best_hits = hits; }
    }
    double x = cx[best], y = cy[best];
    fprintf(f, "<g class=\"legend\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">training</text>\n",
            x, y, x + 22, y, x + 28, y + 4);
    if (has_val)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ff7f0e\" stroke-width=\"2\" "
                   "stroke-dasharray=\"6 3\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">validation</text>\n",
                x, y + 18, x + 22, y + 18, x + 28, y + 22);
    fprintf(f, "</g>\n");
}

int curves_write_svg(const char *path, const struct curve_point *pts, int n, char *err, size_t errlen)
{
    struct outfile o;
    FILE *f = open_out(&o, path, err, errlen);
    if (!f) return -1;
    int epochs = 1, has_val = 0;
    double lmax = 0;
    for (int i = 0; i < n; i++) {
        if (pts[i].epoch > epochs) epochs = pts[i].epoch;
        if (isfinite(pts[i].loss) && pts[i].loss > lmax) lmax = pts[i].loss;
        if (isfinite(pts[i].val_loss)) { has_val = 1; if (pts[i].val_loss > lmax) lmax = pts[i].val_loss; }
    }
    if (lmax <= 0) lmax = 1;
    double lstep = tick_step(lmax);
    struct panel loss = { 0, 0, ceil(lmax / lstep) * lstep, epochs };
    struct panel acc = { PANEL_W, 0, 1, epochs };

    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", 2 * PANEL_W, PANEL_H, 2 * PANEL_W, PANEL_H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    axes(f, &loss, "Model loss", "loss (cross-entropy)");
    axes(f, &acc, "Model accuracy", "accuracy");
    const char *dash = " stroke-dasharray=\"6 3\"";
    series(f, &loss, pts, n, offsetof(struct curve_point, loss), "#1f77b4", "");
    series(f, &loss, pts, n, offsetof(struct curve_point, val_loss), "#ff7f0e", dash);
    series(f, &acc, pts, n, offsetof(struct curve_point, acc), "#1f77b4", "");
    series(f, &acc, pts, n, offsetof(struct curve_point, val_acc), "#ff7f0e", dash);
    const size_t loss_off[2] = {offsetof(struct curve_point, loss), offsetof(struct curve_point, val_loss)};
    const size_t acc_off[2] = {offsetof(struct curve_point, acc), offsetof(struct curve_point, val_acc)};
    legend(f, &loss, pts, n, loss_off, has_val, 0);
    legend(f, &acc, pts, n, acc_off, has_val, 1);
    fprintf(f, "</svg>\n");
    return commit_out(&o, err, errlen);
}
