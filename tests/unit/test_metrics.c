/* test_metrics.c — the confusion matrix, scores and the sklearn-layout report.
 *
 * The expected report text was produced by scikit-learn's own classification_report
 * formatting code (format strings copied from sklearn/metrics/_classification.py)
 * on the same pairs; macro-F1 likewise.
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "labeling/metrics.h"

/* 26 (truth, predicted) pairs over five classes; imports never appears. */
static void fill(struct confusion *c)
{
    static const int pairs[][2] = {
        {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 1}, {0, 1}, {1, 1}, {1, 1},
        {1, 1}, {1, 1}, {1, 4}, {2, 2}, {2, 2}, {2, 2}, {2, 3}, {3, 3}, {3, 3},
        {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 0}, {3, 2},
    };
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        confusion_add(c, pairs[i][0], pairs[i][1]);
}

static void test_scores(void **state)
{
    (void)state;
    struct confusion c;
    fill(&c);
    confusion_add(&c, STAGE_NONE, 2);   /* hand label "none": not scored */
    confusion_add(&c, 1, STAGE_NONE);   /* no prediction */
    confusion_add(&c, 2, STAGE_NONE);
    assert_int_equal(confusion_total(&c), 26);
    assert_int_equal(c.unlabeled, 2);
    assert_true(fabs(confusion_accuracy(&c) - 20.0 / 26.0) < 1e-12);
    assert_true(fabs(confusion_coverage(&c) - 26.0 / 28.0) < 1e-12);
    assert_true(fabs(confusion_macro_f1(&c) - 0.7540626040626041) < 1e-12);
    /* the two without a prediction as misses: sklearn's f1_score(y, p, labels=[0..4],
     * average="macro") with -1 for them */
    assert_true(fabs(confusion_macro_f1_all(&c) - 0.7252747252747251) < 1e-12);

    struct confusion empty;
    memset(&empty, 0, sizeof empty);
    assert_true(confusion_accuracy(&empty) == 0.0);
    assert_true(confusion_coverage(&empty) == 0.0);
    assert_true(confusion_macro_f1(&empty) == 0.0);
    assert_true(confusion_macro_f1_all(&empty) == 0.0);
    confusion_add(&empty, 5, STAGE_NONE);   /* a class seen only in a cell without a prediction */
    assert_true(confusion_macro_f1_all(&empty) == 0.0 && confusion_macro_f1(&empty) == 0.0);
}

static char *capture_report(const struct confusion *c, int which)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (which == 0) metrics_print_report(f, c);
    else metrics_print_confusion(f, c);
    fclose(f);
    return buf;
}

static void test_report_layout(void **state)
{
    (void)state;
    struct confusion c;
    fill(&c);
    char *got = capture_report(&c, 0);
    const char *want =
        "              precision    recall  f1-score   support\n\n"
        "        load      0.833     0.714     0.769         7\n"
        "        prep      0.667     0.800     0.727         5\n"
        "       train      0.750     0.750     0.750         4\n"
        "    evaluate      0.667     0.667     0.667         3\n"
        "     explore      0.857     0.857     0.857         7\n\n"
        "    accuracy                          0.769        26\n"
        "   macro avg      0.755     0.758     0.754        26\n"
        "weighted avg      0.776     0.769     0.770        26\n";
    assert_string_equal(got, want);
    free(got);
}

/* No item with a prediction (every one unlabeled, or none at all): the report printed
 * its header, empty rows and averages of 0.000 over 0 items, figures of nothing where
 * sklearn has no report (it raises); now one line says why there is none. */
static void test_report_without_predictions(void **state)
{
    (void)state;
    struct confusion c;
    memset(&c, 0, sizeof c);
    confusion_add(&c, 0, STAGE_NONE);
    confusion_add(&c, 1, STAGE_NONE);
    char *got = capture_report(&c, 0);
    assert_string_equal(got, "no cell has a prediction: no classification report\n");
    free(got);
    memset(&c, 0, sizeof c);
    got = capture_report(&c, 0);
    assert_string_equal(got, "no cell has a prediction: no classification report\n");
    free(got);
}

static void test_confusion_text_and_svg(void **state)
{
    (void)state;
    struct confusion c;
    fill(&c);
    confusion_add(&c, 0, STAGE_NONE);
    char *got = capture_report(&c, 1);
    /* Row "load": 5 right, 2 called prep. */
    assert_non_null(strstr(got, "load                 5         2         0         0         0         0\n"));
    assert_non_null(strstr(got, "unlabeled (no prediction): 1\n"));
    free(got);

    char path[] = "/tmp/test_metrics_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[1100];
    assert_int_equal(metrics_write_confusion_svg(path, &c, "a <title> & more", err, sizeof err), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char svg[16384];
    size_t n = fread(svg, 1, sizeof svg - 1, f);
    svg[n] = 0;
    fclose(f);
    unlink(path);
    assert_non_null(strstr(svg, "<svg "));
    assert_non_null(strstr(svg, "a &lt;title&gt; &amp; more"));
    assert_non_null(strstr(svg, "</svg>\n"));
    /* the footer's accuracy is the report's first line's, the cell without a prediction
     * a miss; the matrix's own beside it */
    char want[160];
    double total = (double)confusion_total(&c);
    snprintf(want, sizeof want, "accuracy %.3f (%.3f over predicted cells) · coverage %.3f",
             confusion_accuracy(&c) * total / (total + 1), confusion_accuracy(&c), confusion_coverage(&c));
    assert_non_null(strstr(svg, want));
    assert_int_equal(metrics_write_confusion_svg("/nonexistent-dir/x.svg", &c, "t", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x.svg: "));
}

/* What a mutation audit found the tests above let through (each check names the
 * mutant of labeling/metrics.c it kills):
 *  - a truth or prediction one past the last stage is no stage (`>=` read as `>`
 *    wrote m[6][0], which is `unlabeled`, or m[0][6], which is m[1][0]); a "none"
 *    truth with no prediction is not scored (`||` read as `&&` counted it unlabeled);
 *  - coverage when as many cells have no prediction as have one (`n + unlabeled`
 *    read as `n - unlabeled` gave 0.0, not 0.5);
 *  - macro-F1 over all cells computed first, not after confusion_macro_f1 left the
 *    same per-class figures on the stack (dropping its class_scores call passed);
 *  - the report's rows for a class true but never predicted (precision 0/0) and one
 *    predicted but never true (recall 0/0), and the notes that go with them: the
 *    expected text is scikit-learn's classification_report(y, p, labels=the five
 *    shown, digits=3, zero_division=0) on the same pairs;
 *  - the confusion matrix text in full, its header line too. */
static void test_edges_and_ill_defined_classes(void **state)
{
    (void)state;
    struct confusion c;
    memset(&c, 0, sizeof c);
    confusion_add(&c, N_STAGES, 0);          /* not a stage: ignored */
    confusion_add(&c, STAGE_NONE, STAGE_NONE); /* hand label "none": not scored */
    assert_int_equal(confusion_total(&c), 0);
    assert_int_equal(c.unlabeled, 0);
    confusion_add(&c, 0, N_STAGES);          /* not a stage: no prediction */
    assert_int_equal(confusion_total(&c), 0);
    assert_int_equal(c.unlabeled, 1);
    assert_int_equal(c.unlabeled_of[0], 1);
    assert_int_equal(c.m[1][0], 0);
    confusion_add(&c, 2, 2);
    assert_true(confusion_coverage(&c) == 0.5); /* one of two */
    /* load: 0 of 1 (missed); train: 1 of 1: F1 0 and 1, macro 0.5 */
    assert_true(fabs(confusion_macro_f1_all(&c) - 0.5) < 1e-12);

    /* y = load load prep evaluate prep, p = load train prep explore prep */
    static const int pairs[][2] = {{0, 0}, {0, 2}, {1, 1}, {3, 4}, {1, 1}};
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) confusion_add(&c, pairs[i][0], pairs[i][1]);
    char *got = capture_report(&c, 0);
    assert_string_equal(got,
        "              precision    recall  f1-score   support\n\n"
        "        load      1.000     0.500     0.667         2\n"
        "        prep      1.000     1.000     1.000         2\n"
        "       train      0.000     0.000     0.000         0\n"
        "    evaluate      0.000     0.000     0.000         1\n"
        "     explore      0.000     0.000     0.000         0\n\n"
        "    accuracy                          0.600         5\n"
        "   macro avg      0.400     0.300     0.333         5\n"
        "weighted avg      0.800     0.600     0.667         5\n");
    free(got);
    assert_true(fabs(confusion_macro_f1(&c) - 1.0 / 3.0) < 1e-12);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    metrics_print_undefined(f, &c);
    fclose(f);
    assert_string_equal(buf,
        "note: evaluate: precision is ill-defined (no predicted cells) and set to 0.0, as scikit-learn does\n"
        "note: train, explore: recall is ill-defined (no true cells) and set to 0.0, as scikit-learn does\n");
    free(buf);
    got = capture_report(&c, 1);
    assert_string_equal(got,
        "true\\pred         load      prep     train  evaluate   explore   imports\n"
        "load                 1         0         1         0         0         0\n"
        "prep                 0         2         0         0         0         0\n"
        "train                0         0         0         0         0         0\n"
        "evaluate             0         0         0         0         1         0\n"
        "explore              0         0         0         0         0         0\n"
        "imports              0         0         0         0         0         0\n");
    free(got);
    /* every class shown has true and predicted cells: no note */
    fill(&c);
    buf = NULL;
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    metrics_print_undefined(f, &c);
    fclose(f);
    assert_string_equal(buf, "");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_report_layout),
        cmocka_unit_test(test_report_without_predictions),
        cmocka_unit_test(test_confusion_text_and_svg),
        cmocka_unit_test(test_edges_and_ill_defined_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
