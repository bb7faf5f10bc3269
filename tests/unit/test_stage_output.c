/* test_stage_output.c — the stage kernel's display_data content and reading it back. */
#include "tests/unit/unit.h"

#include <math.h>
#include <string.h>

#include "model/stage_output.h"

static const float probs_train[N_STAGES] = {0.01f, 0.02f, 0.93f, 0.02f, 0.01f, 0.01f};

static const char *data_str(const json_t *content, const char *mime)
{
    return json_string_value(json_object_get(json_object_get(content, "data"), mime));
}

static void content_has_every_part(void **state)
{
    (void)state;
    struct stage_display_options opt = {0, 0, 0.0};
    json_t *c = stage_output_content(STAGE_TRAIN, probs_train, "nbstage-lstm-1a2b3c4d", &opt);
    assert_non_null(c);
    assert_true(json_is_object(json_object_get(c, "transient")));
    assert_string_equal(data_str(c, "text/plain"), "stage: train (93%)");

    const char *html = data_str(c, "text/html");
    assert_non_null(html);
    assert_non_null(strstr(html, "nbstage-badge"));
    assert_non_null(strstr(html, ">train "));
    assert_non_null(strstr(html, "93%"));
    assert_non_null(strstr(html, "background:#1e7b2a")); /* train's colour */

    const json_t *payload = json_object_get(json_object_get(c, "data"), STAGE_MIME);
    assert_true(json_is_object(payload));
    assert_string_equal(json_string_value(json_object_get(payload, "stage")), "train");
    assert_true(fabs(json_real_value(json_object_get(payload, "confidence")) - 0.93) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(payload, "model")),
                        "nbstage-lstm-1a2b3c4d");
    const json_t *dist = json_object_get(payload, "probabilities");
    assert_int_equal(json_object_size(dist), N_STAGES);
    for (int s = 0; s < N_STAGES; s++)
        assert_true(fabs(json_real_value(json_object_get(dist, stage_key[s])) - probs_train[s]) <
                    1e-4);

    /* the output's metadata carries what the cell's workflow_stage holds: the payload
     * without the probabilities */
    const json_t *ws = json_object_get(json_object_get(c, "metadata"), "nbstage");
    assert_int_equal(json_object_size(ws), 3);
    const char *keys[] = {"stage", "confidence", "model"};
    for (int i = 0; i < 3; i++)
        assert_true(json_equal(json_object_get(ws, keys[i]), json_object_get(payload, keys[i])));

    const char *js = data_str(c, "application/javascript");
    assert_non_null(js);
    assert_non_null(strstr(js, "workflow_stage"));
    assert_non_null(strstr(js, "'stage:'"));
    assert_non_null(strstr(js, "set_dirty(true)"));
    assert_non_null(strstr(js, ",at_top=false"));
    assert_non_null(strstr(js, "d.nbstage")); /* the stage from the output's metadata */
    assert_null(strstr(js, "0.93"));          /* ... not a copy of it */
    /* the script's badge: the HTML without its closing tags, which the parser adds */
    char *open = strndup(html, strlen(html) - strlen("</span></span>"));
    assert_string_equal(html + strlen(open), "</span></span>");
    char want[1024];
    snprintf(want, sizeof want, "var html=\"%s\",", open);
    assert_non_null(strstr(js, want));
    free(open);
    assert_true(strlen(js) < 1500); /* terse: it is saved in every tagged cell (1,465 today) */
    json_decref(c);
}

/* The whole content, as sent and saved for every executed cell, stays small. */
static void content_is_terse(void **state)
{
    (void)state;
    struct stage_output *so = stage_output_new("nbstage-lstm-1a2b3c4d", NULL);
    char *text = stage_output_text(so, STAGE_EXPLORE, probs_train);
    assert_non_null(text);
    assert_true(strlen(text) < 2200); /* 2,149 today */
    free(text);
    stage_output_free(so);
}

static void each_stage_has_its_own_colour(void **state)
{
    (void)state;
    char seen[N_STAGES][24];
    for (int s = 0; s < N_STAGES; s++) {
        float p[N_STAGES] = {0};
        p[s] = 1.0f;
        json_t *c = stage_output_content(s, p, "m", NULL);
        assert_non_null(c);
        const char *bg = strstr(data_str(c, "text/html"), "background:#");
        assert_non_null(bg);
        snprintf(seen[s], sizeof seen[s], "%.19s", bg);
        for (int t = 0; t < s; t++) assert_string_not_equal(seen[s], seen[t]);
        char want[64];
        snprintf(want, sizeof want, "stage: %s (100%%)", stage_key[s]);
        assert_string_equal(data_str(c, "text/plain"), want);
        json_decref(c);
    }
}

static void minimum_confidence_hides_the_tag(void **state)
{
    (void)state;
    struct stage_display_options opt = {0, 0, 0.95};
    assert_null(stage_output_content(STAGE_TRAIN, probs_train, "m", &opt));
    opt.min_confidence = 0.93; /* the minimum itself is shown */
    json_t *c = stage_output_content(STAGE_TRAIN, probs_train, "m", &opt);
    assert_non_null(c);
    json_decref(c);
}

static void no_badge_keeps_metadata_only(void **state)
{
    (void)state;
    struct stage_display_options opt = {0, 1, 0.0};
    json_t *c = stage_output_content(STAGE_TRAIN, probs_train, "m", &opt);
    assert_non_null(c);
    assert_null(data_str(c, "text/plain"));
    assert_null(data_str(c, "text/html"));
    const char *js = data_str(c, "application/javascript");
    assert_non_null(js);
    assert_non_null(strstr(js, "html=\"\","));
    assert_non_null(json_object_get(json_object_get(c, "metadata"), "nbstage"));
    int stage;
    double conf;
    assert_int_equal(stage_output_parse(c, &stage, &conf), 0);
    json_decref(c);
}

static void position_top_reaches_the_script(void **state)
{
    (void)state;
    struct stage_display_options opt = {1, 0, 0.0};
    json_t *c = stage_output_content(STAGE_LOAD, probs_train, "m", &opt);
    assert_non_null(c);
    assert_non_null(strstr(data_str(c, "application/javascript"), ",at_top=true"));
    assert_non_null(strstr(data_str(c, "text/plain"), "(1%)"));
    json_decref(c);
}

static void bad_input_gives_nothing(void **state)
{
    (void)state;
    assert_null(stage_output_content(-1, probs_train, "m", NULL));
    assert_null(stage_output_content(N_STAGES, probs_train, "m", NULL));
    assert_null(stage_output_content(STAGE_TRAIN, NULL, "m", NULL));
    float nan_probs[N_STAGES] = {0, 0, NAN, 0, 0, 0};
    assert_null(stage_output_content(STAGE_TRAIN, nan_probs, "m", NULL));
    float neg[N_STAGES] = {-0.5f, 0, 1, 0, 0, 0};
    assert_null(stage_output_content(STAGE_TRAIN, neg, "m", NULL));
}

static void model_names_are_escaped(void **state)
{
    (void)state;
    const char *evil = "x\"</script><b onload='1'>&";
    json_t *c = stage_output_content(STAGE_PREP, probs_train, evil, NULL);
    assert_non_null(c);
    assert_null(strstr(data_str(c, "text/html"), "<b"));
    assert_non_null(strstr(data_str(c, "text/html"), "&lt;/script&gt;&lt;b onload=&#39;1&#39;&gt;&amp;"));
    assert_null(strstr(data_str(c, "application/javascript"), "</"));
    const json_t *payload = json_object_get(json_object_get(c, "metadata"), "nbstage");
    assert_string_equal(json_string_value(json_object_get(payload, "model")), evil);
    json_decref(c);

    c = stage_output_content(STAGE_PREP, probs_train, "bad\xff utf8", NULL);
    assert_non_null(c);
    payload = json_object_get(json_object_get(c, "metadata"), "nbstage");
    assert_string_equal(json_string_value(json_object_get(payload, "model")), "unknown");
    json_decref(c);

    c = stage_output_content(STAGE_PREP, probs_train, NULL, NULL);
    assert_non_null(c);
    json_decref(c);
}

/* The badge names its stage and model in its title (the tooltip), and its class names
 * the stage (a mutation audit found either could go unnoticed). */
static void badge_title_names_stage_and_model(void **state)
{
    (void)state;
    json_t *c = stage_output_content(STAGE_TRAIN, probs_train, "nbstage-lstm-1a2b3c4d", NULL);
    assert_non_null(c);
    char want[256];
    snprintf(want, sizeof want,
             "<span class='nbstage-badge nbstage-train' title='%s; the percentage: confidence of "
             "nbstage-lstm-1a2b3c4d' ",
             stage_name[STAGE_TRAIN]);
    if (strncmp(data_str(c, "text/html"), want, strlen(want)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", data_str(c, "text/html"), want);
    json_decref(c);
}

/* stage_output_text itself (not through stage_output_content, whose json_loads hid a
 * bad number written as text that is not JSON) refuses a NaN, an infinity, a negative
 * or a value above 1.0001 in every place, the first included; 1.0001 itself passes. */
static void text_refuses_what_is_not_a_probability_anywhere(void **state)
{
    (void)state;
    struct stage_output *so = stage_output_new("m", NULL);
    assert_non_null(so);
    const float bad[] = {NAN, INFINITY, -0.001f, 1.01f};
    for (int at = 0; at < N_STAGES; at++) {
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
            float p[N_STAGES] = {0.1f, 0.1f, 0.5f, 0.1f, 0.1f, 0.1f};
            p[at] = bad[b];
            char *text = stage_output_text(so, STAGE_TRAIN, p);
            if (text) fail_msg("probability %d = %g gave %s", at, (double)bad[b], text);
        }
        float p[N_STAGES] = {0.1f, 0.1f, 0.5f, 0.1f, 0.1f, 0.1f};
        p[at] = 1.0001f;
        char *text = stage_output_text(so, STAGE_TRAIN, p);
        assert_non_null(text);
        free(text);
    }
    stage_output_free(so);
}

/* The content as it comes back in a saved notebook: an output object, through text. */
static json_t *saved_output(const json_t *content)
{
    json_t *out = json_object();
    json_object_set_new(out, "output_type", json_string("display_data"));
    json_object_set(out, "data", json_object_get(content, "data"));
    json_object_set(out, "metadata", json_object_get(content, "metadata"));
    char *text = json_dumps(out, 0);
    json_decref(out);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    return back;
}

static void parse_reads_back_what_content_wrote(void **state)
{
    (void)state;
    for (int s = 0; s < N_STAGES; s++) {
        float p[N_STAGES] = {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};
        p[s] = 0.5f;
        json_t *c = stage_output_content(s, p, "m", NULL);
        json_t *out = saved_output(c);
        int stage = -9;
        double conf = -1;
        assert_int_equal(stage_output_parse(out, &stage, &conf), 0);
        assert_int_equal(stage, s);
        assert_true(fabs(conf - 0.5) < 1e-9);
        /* without the output metadata the MIME bundle still tells */
        json_object_del(out, "metadata");
        stage = -9;
        assert_int_equal(stage_output_parse(out, &stage, &conf), 0);
        assert_int_equal(stage, s);
        json_decref(out);
        json_decref(c);
    }
}

static void parse_refuses_other_outputs(void **state)
{
    (void)state;
    static const char *const not_stage[] = {
        "{\"output_type\": \"stream\", \"name\": \"stdout\", \"text\": \"x\"}",
        "{\"output_type\": \"display_data\", \"data\": {\"text/plain\": \"1\"}, \"metadata\": {}}",
        "{\"metadata\": {\"nbstage\": {\"stage\": \"cooking\", \"confidence\": 0.5}}}",
        "{\"metadata\": {\"nbstage\": {\"stage\": \"none\", \"confidence\": 0.5}}}",
        "{\"metadata\": {\"nbstage\": {\"stage\": \"train\", \"confidence\": 1.5}}}",
        "{\"metadata\": {\"nbstage\": {\"stage\": \"train\", \"confidence\": \"0.5\"}}}",
        "{\"metadata\": {\"nbstage\": {\"stage\": \"train\"}}}",
        "{\"metadata\": {\"nbstage\": \"train\"}}",
        "{\"metadata\": [], \"data\": null}",
        "[]",
        "\"display_data\"",
    };
    for (size_t i = 0; i < sizeof not_stage / sizeof not_stage[0]; i++) {
        json_t *o = json_loads(not_stage[i], JSON_DECODE_ANY, NULL);
        assert_non_null(o);
        int stage = -9;
        double conf = -1;
        assert_int_equal(stage_output_parse(o, &stage, &conf), -1);
        assert_int_equal(stage, -9);
        json_decref(o);
    }
    int stage;
    double conf;
    assert_int_equal(stage_output_parse(NULL, &stage, &conf), -1);

    /* a confidence of 0 is one, at the edge of [0, 1]; an integer one is still a number */
    const struct { const char *text; int stage; double conf; } edges[] = {
        {"{\"metadata\": {\"nbstage\": {\"stage\": \"prep\", \"confidence\": 0.0}}}", STAGE_PREP, 0.0},
        {"{\"metadata\": {\"nbstage\": {\"stage\": \"load\", \"confidence\": 1}}}", STAGE_LOAD, 1.0},
    };
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        json_t *e = json_loads(edges[i].text, 0, NULL);
        assert_int_equal(stage_output_parse(e, &stage, &conf), 0);
        assert_int_equal(stage, edges[i].stage);
        assert_true(conf == edges[i].conf);
        json_decref(e);
    }
}

/* The prebuilt path: every marker filled, numbers exactly round4(p), valid JSON. */
static void text_fills_every_marker_exactly(void **state)
{
    (void)state;
    struct stage_output *so = stage_output_new("m\x01x", NULL);
    assert_non_null(so);
    static const float ps[] = {0.0f, 1.0f, 0.93f, 0.123456f, 0.99995f, 0.5f, 0.00004f};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
        float p[N_STAGES] = {0, 0, 0, 0, 0, 0};
        p[STAGE_EXPLORE] = ps[i];
        p[STAGE_LOAD] = 1.0f - ps[i];
        char *text = stage_output_text(so, STAGE_EXPLORE, p);
        assert_non_null(text);
        for (const char *c = text; *c; c++) assert_true((unsigned char)*c >= 0x20);
        json_t *c = json_loads(text, 0, NULL);
        assert_non_null(c);
        const json_t *payload = json_object_get(json_object_get(c, "data"), STAGE_MIME);
        const json_t *ws = json_object_get(json_object_get(c, "metadata"), "nbstage");
        for (int k = 0; k < 2; k++) {
            const json_t *o = k ? ws : payload;
            assert_true(json_is_real(json_object_get(o, "confidence")));
            assert_true(json_real_value(json_object_get(o, "confidence")) == stage_confidence(ps[i]));
            assert_string_equal(json_string_value(json_object_get(o, "model")), "m?x");
        }
        assert_true(json_real_value(json_object_get(json_object_get(payload, "probabilities"),
                                                    "load")) ==
                    round((double)(1.0f - ps[i]) * 10000.0) / 10000.0);
        char want[32];
        snprintf(want, sizeof want, "stage: explore (%d%%)", (int)lround(stage_confidence(ps[i]) * 100.0));
        assert_string_equal(data_str(c, "text/plain"), want);
        json_decref(c);
        free(text);
    }
    stage_output_free(so);
}

/* The numbers written digit by digit read exactly as printf writes them ("%ld.%04ld"
 * without trailing zeros, at least one decimal) for many probabilities, edges included. */
static void numbers_match_printf(void **state)
{
    (void)state;
    struct stage_output *so = stage_output_new("m", NULL);
    assert_non_null(so);
    static const float edge[] = {0.0f, 1.0f, 1.0001f, 0.99995f, 0.99994f, 0.00005f, 0.00004f,
                                 0.5f, 0.1f, 0.01f, 0.001f, 0.0001f, 0.12345f, 0.9f, 0.99849f,
                                 0.9995f, 0.0005f};
    unsigned long r = 12345;
    for (int i = 0; i < 20000; i++) {
        float p[N_STAGES];
        for (int s = 0; s < N_STAGES; s++) {
            r = r * 6364136223846793005UL + 1442695040888963407UL;
            p[s] = i < 200 ? edge[(size_t)(i + s) % (sizeof edge / sizeof *edge)]
                           : (float)((r >> 33) % 100001) / 100000.0f;
        }
        int stage = i % N_STAGES;
        char *text = stage_output_text(so, stage, p);
        assert_non_null(text);
        char want[512];
        size_t n = 0;
        for (int s = 0; s < N_STAGES; s++) {
            long k = lround(p[s] * 10000.0);
            char frac[8];
            snprintf(frac, sizeof frac, "%04ld", k % 10000);
            int d = 4;
            while (d > 1 && frac[d - 1] == '0') d--;
            n += (size_t)snprintf(want + n, sizeof want - n, "%s\"%s\":%ld.%.*s", s ? "," : "{",
                                  stage_key[s], k / 10000, d, frac);
        }
        snprintf(want + n, sizeof want - n, "}");
        assert_non_null(strstr(text, want));
        /* the confidence: 3 decimals, rounded once from the float as `nbstage tag` rounds
         * it (0.99849 is 0.998, where rounding the 4-decimal 0.9985 again gave 0.999) */
        long kc = p[stage] >= 1.0f ? 1000 : lround(p[stage] * 1000.0);
        char frac[8], conf[64];
        snprintf(frac, sizeof frac, "%03ld", kc % 1000);
        int d = 3;
        while (d > 1 && frac[d - 1] == '0') d--;
        snprintf(conf, sizeof conf, "\"confidence\":%ld.%.*s,", kc / 1000, d, frac);
        assert_non_null(strstr(text, conf));
        char pct[32];
        snprintf(pct, sizeof pct, "(%d%%)", (int)lround(stage_confidence(p[stage]) * 100.0));
        assert_non_null(strstr(text, pct));
        free(text);
    }
    stage_output_free(so);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(content_has_every_part),
        cmocka_unit_test(content_is_terse),
        cmocka_unit_test(text_fills_every_marker_exactly),
        cmocka_unit_test(numbers_match_printf),
        cmocka_unit_test(each_stage_has_its_own_colour),
        cmocka_unit_test(minimum_confidence_hides_the_tag),
        cmocka_unit_test(no_badge_keeps_metadata_only),
        cmocka_unit_test(position_top_reaches_the_script),
        cmocka_unit_test(bad_input_gives_nothing),
        cmocka_unit_test(model_names_are_escaped),
        cmocka_unit_test(badge_title_names_stage_and_model),
        cmocka_unit_test(text_refuses_what_is_not_a_probability_anywhere),
        cmocka_unit_test(parse_reads_back_what_content_wrote),
        cmocka_unit_test(parse_refuses_other_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
