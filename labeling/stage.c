/* stage.c — the six workflow stages (see stage.h). */
#include "labeling/stage.h"

#include <string.h>

const char *const stage_key[N_STAGES] = {
    "load", "prep", "train", "evaluate", "explore", "imports",
};

const char *const stage_name[N_STAGES] = {
    "Load Data",
    "Data Preparation and Cleaning",
    "Model Training and Parameter Tuning",
    "Model Evaluation",
    "Data Exploration",
    "Imports",
};

int stage_from_key(const char *key)
{
    if (!key) return -2;
    for (int s = 0; s < N_STAGES; s++)
        if (strcmp(key, stage_key[s]) == 0) return s;
    if (strcmp(key, "none") == 0) return STAGE_NONE;
    return -2;
}
