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

void stage_shares(const long count[N_STAGES], long unit, long out[N_STAGES])
{
    long long total = 0, rem[N_STAGES], given = 0;
    for (int s = 0; s < N_STAGES; s++) total += count[s];
    for (int s = 0; s < N_STAGES; s++) {
        out[s] = total ? (long)((long long)count[s] * unit / total) : 0;
        rem[s] = total ? (long long)count[s] * unit % total : 0;
        given += out[s];
    }
    /* fewer than N_STAGES left, and at least that many stages lost something */
    for (long long left = total ? unit - given : 0; left > 0; left--) {
        int best = -1;
        for (int s = 0; s < N_STAGES; s++)
            if (rem[s] > 0 && (best < 0 || rem[s] > rem[best])) best = s;
        if (best < 0) break;
        out[best]++;
        rem[best] = 0;
    }
}
