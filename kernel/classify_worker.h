/* classify_worker.h — classifying executed cells off the relay path.
 *
 * Owns: one thread that runs the model on a cell's source and builds its stage output
 * (model/stage_output.h, prebuilt at start), fed by the proxy over an inproc PAIR
 * socket, so relaying never waits on the model; and the jobs it shares with the proxy.
 *
 * Short cells are run on the relay thread (tagorder.c, when classify_worker_wants says
 * so), right after their request has been forwarded: cheaper than the hand-off.
 *
 * Why jobs can be claimed by either side: on a busy machine the worker thread may not
 * get a CPU for milliseconds.  When the child's idle for a cell arrives and the worker
 * has not started on that cell, the proxy claims the job and runs it itself (tens of
 * microseconds) instead of holding the idle until the worker is scheduled.
 */
#ifndef NBSTAGE_CLASSIFY_WORKER_H
#define NBSTAGE_CLASSIFY_WORKER_H

#include <stddef.h>

#include "model/stage_output.h"
#include "model/model.h"

struct classify_worker;
struct classify_job;

/* A job for request ID (a msg_id) with source SRC[0..LEN), both copied; one reference,
 * the caller's.  NULL when out of memory. */
struct classify_job *classify_job_new(const char *id, const char *src, size_t len);

/* Drops one reference; the last one frees the job. */
void classify_job_release(struct classify_job *job);

/* 1 when the caller has claimed JOB and must run it (classify_worker_run); 0 when
 * another thread has it. */
int classify_job_claim(struct classify_job *job);

/* 1 once JOB has run; its content is then final. */
int classify_job_done(const struct classify_job *job);

/* Asks the worker to answer (classify_worker_result) once it has run JOB, which
 * another thread has claimed; returns 1 when JOB is done already (an answer may still
 * come: ignore it).  Without this call the worker sends no answer. */
int classify_job_wait(struct classify_job *job);

/* The display_data content as JSON text, or NULL when nothing is to be shown; valid
 * once done, for as long as the caller holds its reference. */
const char *classify_job_content(const struct classify_job *job);

/* Starts the thread on ZMQ context ZCTX.  M and OPT must outlive the worker.
 * NULL with a reason in ERR. */
struct classify_worker *classify_worker_start(void *zctx, const nbs_model *m,
                                              const struct stage_display_options *opt,
                                              char *err, size_t errlen);

/* The proxy's end of the PAIR, to poll for answers (ZMQ_POLLIN). */
void *classify_worker_socket(struct classify_worker *w);

/* 1 when the model reads each cell after the last lines of the one run before it
 * (model/context.h): the jobs' sources are then context_text's. */
int classify_worker_reads_context(const struct classify_worker *w);

/* 1 when a cell of LEN bytes is worth queueing for the thread; 0 when the caller
 * had better claim and run it itself (short cells). */
int classify_worker_wants(const struct classify_worker *w, size_t len);

/* Queues JOB for the thread, which takes its own reference; 0, or -1 (nothing taken). */
int classify_worker_submit(struct classify_worker *w, struct classify_job *job);

/* Runs a job claimed by the calling thread. */
void classify_worker_run(struct classify_worker *w, struct classify_job *job);

/* Takes one answer, the msg_id of a job the thread has run and the proxy waits for
 * (classify_job_wait), into ID; -1 when none. */
int classify_worker_result(struct classify_worker *w, char *id, size_t id_cap);

/* Stops and joins the thread (after it has gone through every queued job), closes the
 * sockets. */
void classify_worker_stop(struct classify_worker *w);

#endif
