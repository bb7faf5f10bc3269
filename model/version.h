/* version.h — nbstage's release version, one place for both programs' --version.
 * The model file has its own format version (model/modelfile.h); this one names the
 * code.  Bump it when a release changes what users see. */
#ifndef NBSTAGE_VERSION_H
#define NBSTAGE_VERSION_H
#define NBSTAGE_VERSION "0.9.0"
#endif
