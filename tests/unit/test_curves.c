/* test_curves.c — the learning curves' SVG (model/curves.c): each panel's legend sits
 * where neither of its curves runs, in the usual corner when that is free. */
#include "tests/unit/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/curves.h"

enum { N = 12 };

/* The SVG of PTS, read back. */
static char *svg_of(const struct curve_point *pts, int n)
{
    char *d = unit_make_tmpdir("curves"), path[256], err[256];
    snprintf(path, sizeof path, "%s/c.svg", d);
    assert_int_equal(curves_write_svg(path, pts, n, err, sizeof err), 0);
    char *text = unit_read_file(path, NULL);
    remove(path);
    rmdir(d);
    free(d);
    return text;
}

/* Where the I-th (from 0) NEEDLE in SVG begins; a missing one fails the test. */
static const char *nth(const char *svg, const char *needle, int i)
{
    const char *p = NULL;
    for (int k = 0; k <= i; k++) {
        p = strstr(p ? p + 1 : svg, needle);
        assert_non_null(p);
    }
    return p;
}

/* The I-th <polyline>'s points (loss, val_loss, acc, val_acc in that order) into XS,
 * YS; their count. */
static int polyline(const char *svg, int i, double *xs, double *ys)
{
    const char *p = strstr(nth(svg, "<polyline", i), "points=\"") + 8;
    int n = 0, used;
    while (sscanf(p, "%lf,%lf%n", &xs[n], &ys[n], &used) == 2) {
        n++;
        p += used;
    }
    return n;
}

/* The I-th legend's first line start (0: loss panel, 1: accuracy panel). */
static void legend_at(const char *svg, int i, double *x, double *y)
{
    const char *p = nth(svg, "<g class=\"legend\">", i);
    assert_int_equal(sscanf(p, "<g class=\"legend\"><line x1=\"%lf\" y1=\"%lf\"", x, y), 2);
}

/* No point of polylines A and B, nor of the segments between them (sampled), inside
 * the box of the legend at (X, Y): its two entries, lines and words. */
static void assert_clear(const char *svg, int a, int b, double x, double y)
{
    double xs[N], ys[N];
    for (int s = a; s <= b; s++) {
        int n = polyline(svg, s, xs, ys);
        assert_int_equal(n, N);
        for (int i = 0; i + 1 < n; i++)
            for (int k = 0; k <= 50; k++) {
                double t = k / 50.0, sx = xs[i] + t * (xs[i + 1] - xs[i]),
                       sy = ys[i] + t * (ys[i + 1] - ys[i]);
                if (sx >= x - 2 && sx <= x + 100 && sy >= y - 10 && sy <= y + 24)
                    fail_msg("polyline %d passes under the legend at (%.1f, %.1f): (%.1f, %.1f)",
                             s, x, y, sx, sy);
            }
    }
}

static void fill(struct curve_point *pts, int overfit)
{
    for (int i = 0; i < N; i++) {
        double e = i + 1;
        pts[i] = (struct curve_point){
            .epoch = i + 1,
            .loss = 1.6 * exp(-e / 3) + 0.05,
            .acc = 0.95 - 0.6 * exp(-e / 3),
            /* overfitting: the validation loss falls, then climbs past its start */
            .val_loss = overfit ? 0.9 + 0.12 * (e - 4) * (e - 4) / 4 : 1.6 * exp(-e / 3) + 0.15,
            .val_acc = overfit ? 0.9 - 0.5 * exp(-e / 2) - 0.02 * e : 0.9 - 0.6 * exp(-e / 3),
            .seconds = 1,
        };
    }
}

static void test_legend_in_its_usual_corner_when_free(void **state)
{
    (void)state;
    struct curve_point pts[N];
    fill(pts, 0);
    char *svg = svg_of(pts, N);
    double x, y, ax, ay;
    legend_at(svg, 0, &x, &y);
    legend_at(svg, 1, &ax, &ay);
    assert_true(x > 300 && y < 100);              /* loss: top right */
    assert_true(ax > 300 + 440 && ay > 200);      /* accuracy: bottom right */
    assert_clear(svg, 0, 1, x, y);
    assert_clear(svg, 2, 3, ax, ay);
    free(svg);
}

static void test_legend_leaves_an_overfitting_curve_visible(void **state)
{
    (void)state;
    struct curve_point pts[N];
    fill(pts, 1);
    char *svg = svg_of(pts, N);
    double x, y;
    legend_at(svg, 0, &x, &y);
    assert_clear(svg, 0, 1, x, y); /* the climbing validation loss fills the top right */
    legend_at(svg, 1, &x, &y);
    assert_clear(svg, 2, 3, x, y);
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legend_in_its_usual_corner_when_free),
        cmocka_unit_test(test_legend_leaves_an_overfitting_curve_visible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
