/* classify_worker.h — classifying executed cells off the relay path.
 *
 * Owns: one thread that runs the model on a cell's source and builds its stage output
 * (kernel/stage_output.h), talking to the proxy over an inproc PAIR socket, so that
 * relaying never waits on the model.  Jobs are answered in the order submitted; every
 * job gets an answer (an empty one when there is nothing to show).
 */
#ifndef NBSTAGE_CLASSIFY_WORKER_H
#define NBSTAGE_CLASSIFY_WORKER_H

#include <stddef.h>

#include "kernel/stage_output.h"
#include "model/model.h"

struct classify_worker;

/* Starts the thread on ZMQ context ZCTX.  M and OPT must outlive the worker.
 * NULL with a reason in ERR. */
struct classify_worker *classify_worker_start(void *zctx, const nbs_model *m,
                                              const struct stage_display_options *opt,
                                              char *err, size_t errlen);

/* The proxy's end of the PAIR, to poll for results (ZMQ_POLLIN). */
void *classify_worker_socket(struct classify_worker *w);

/* Queues the source CODE of request ID (a msg_id); 0, or -1 when the queue is broken. */
int classify_worker_submit(struct classify_worker *w, const char *id, size_t id_len,
                           const char *code, size_t code_len);

/* Takes one answer (call when the socket is readable): 0 with the request's msg_id in
 * ID and *CONTENT the display_data content as JSON text (malloc'd), or NULL when
 * nothing is to be shown; -1 when no answer is waiting. */
int classify_worker_result(struct classify_worker *w, char *id, size_t id_cap, char **content);

/* Stops and joins the thread, closes the sockets. */
void classify_worker_stop(struct classify_worker *w);

#endif
