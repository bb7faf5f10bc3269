/* model.c — placeholder until the model issue lands. */
#include "model/model.h"
#include <stdio.h>
nbs_model *model_load(const char *path, char *err, size_t errlen)
{ snprintf(err, errlen, "%s: models not built yet", path); return NULL; }
void model_free(nbs_model *m) { (void)m; }
int model_classify(const nbs_model *m, const char *src, size_t len, float probs[N_STAGES])
{ (void)m; (void)src; (void)len; for (int i = 0; i < N_STAGES; i++) probs[i] = 0; return STAGE_NONE; }
const char *model_name(const nbs_model *m) { (void)m; return "none"; }
const char *model_default_path(void) { return NULL; }
