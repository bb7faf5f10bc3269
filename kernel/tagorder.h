/* tagorder.h — where and when a request's stage tag goes in the iopub stream.
 *
 * Owns: the execute_requests being tagged (each with its classification job and its
 * prebuilt tag message, given up when the child never answers one), every child
 * iopub message on its way to the clients (the relay loop, kernel/proxy.c, hands each
 * one over; one that is no Jupyter message is passed on in its place), a
 * clear_output(wait=True) held back, the idles held until their cell is classified
 * and what queues behind them, the publication of the tags on Jupyter's iopub
 * socket, and for a model that reads context the record of the cells run
 * (kernel/cellchain.h), told when each request starts or is aborted.
 *
 * The rules, each kept in one place of tagorder.c:
 *
 *  1. After the execute_input.  A tag goes out after the child's execute_input for its
 *     request; a request the child aborts publishes none, and gets no tag.
 *  2. Before the idle.  It goes out before the child's `status: idle` for the request
 *     (nbclient stops collecting at the first idle).  With --tag-position bottom it
 *     goes out there, right before the idle, after the cell's other outputs.
 *  3. Early (top, the default).  It goes out as soon as both the execute_input has been
 *     relayed and the cell is classified: for a short cell, that is right after the
 *     execute_input, while the child runs the cell, so that neither our building of the
 *     tag nor the client's reading of it delays the idle, and the tag is the cell's
 *     first output.
 *  4. A clear takes the tag away.  A `clear_output` for the request after the early tag
 *     removes it in every frontend, so then it goes out again before the idle.
 *  5. A waiting clear: at the next output.  One with wait=True clears the outputs only
 *     when the next one arrives, so it takes the tag away only then: while such a clear
 *     is out, the request's outputs are looked at.
 *  6. A waiting clear is held back.  The tag sent at the idle (bottom, or top after a
 *     clear took the early tag away) would be that next output: a cell ending with
 *     `print(x); clear_output(wait=True)` would lose the x that ipykernel alone leaves
 *     on show.  So such a clear, when the cell's tag is not on show, is held back until
 *     the child's next message for that request: then it goes out first, unless that
 *     is the cell's idle with a tag to send, which goes out before the clear.  Other
 *     requests' messages (the status of a control request: a debugger's, a resource
 *     monitor's) pass it.  What the frontends show is unchanged by the wait, since the
 *     clear acts at the cell's next output in any case.  The request's
 *     update_display_data is not an output to nbclient and JupyterLab, which keep the
 *     clear waiting through it (Notebook 6 clears at it): a tag at the idle after it
 *     would clear the cell there.  So at one, the held clear's request gets its tag
 *     first (the update waits in the queue for the classification if it must), then
 *     the clear and the update go out; in Notebook 6 the clear then takes the tag away
 *     with the outputs, as ipykernel alone clears them.
 *  7. But not while the child waits for input.  JupyterLab adds the answer to the
 *     outputs, and the child says nothing before it: an input_request lets a held clear
 *     go first, and none is held until the answer or the idle.
 *  8. Output widgets.  While an ipywidgets Output widget captures the request's outputs
 *     (`with out:`), they go to the widget, a clear included: a clear then is ignored,
 *     and an early tag waits for the capture to end.
 *  9. An idle before the answer is held.  When the idle arrives before the cell is
 *     classified, it is held, and so is every iopub message after it, until the answer
 *     comes; the queue is empty otherwise.
 * 10. Built ahead.  The tag message is built and signed as soon as the cell is
 *     classified (for a short cell, before the child's execute_input is in), so at
 *     publication it follows the message before it at once, and the zmq IO thread
 *     mostly takes both in one wake-up.
 * 11. Not inside a line.  ipykernel may send one print's text in two stream messages
 *     ("p", then "\n", when its IO thread flushes between the two writes), and the
 *     frontends join consecutive stream outputs into one.  An early tag that is ready
 *     while the request's last stream text ends inside a line waits for the line's end
 *     (a stream text ending in a newline, or another output), or the idle.  Not for a
 *     line with a carriage return: a progress bar rewrites it until its loop ends.
 *
 * The notice.  When the session runs without stage tags (no model, or one that cannot
 * be read) or with options ignored, main_kernel.c says why in the server's log, and
 * the user would see cells run without badges and no reason.  So that reason goes,
 * once per kernel process, into the first cell that would get a tag (tagorder_request:
 * not silent, not blank): one `stream` message on stderr, its parent that request,
 * its header the tags' (the child's session), published right after the child's
 * execute_input for it (rule 1; so before its idle, rule 2, and before its early tag),
 * and when the queue of rule 9 holds the execute_input, as it is released.  A request
 * the child aborts (an idle, no execute_input) passes it on to the next one.
 *   Once means once on show.  A clear_output in the cell that shows the notice, before
 * that cell's idle (a progress display that clears, `clear_output()` in the first
 * cell), takes the notice away with the cell's outputs, and the user would never learn
 * why there are no tags: so the notice is owed again, and goes out with the next
 * request that would get a tag to start, the same way, its cell then the one watched.
 * That next request may be queued already (Run All sends every cell at once): while
 * the notice is owed or its cell runs, every such request is noted, and the first of
 * them whose execute_input comes after the clear gets it.  Which clears count is the
 * frontends' (nbclient, JupyterLab): one with wait=True takes the notice only at the
 * cell's next output (as rule 5), so a cell ending in `print(x); clear_output(wait=True)`
 * keeps it on show and it is not sent again; one while an Output widget captures the
 * cell's outputs (rule 8) clears the widget, not the cell.  A clear from another
 * request (a later cell) leaves it alone, and once its cell's idle is out with the
 * notice on show it is said for good.  A restart is a new kernel process: it says
 * the notice once again, whatever the old one's cells did.  Nothing of the child's is
 * changed or held for it, and without a notice (none to give, or said for good) the
 * routing is as above, message for message.
 *
 * The cost per relayed message: its msg_type (and a status's execution_state) read in
 * place, and the parent's msg_id of the few kinds that matter, while a request is
 * being tagged; no JSON tree.
 */
#ifndef NBSTAGE_TAGORDER_H
#define NBSTAGE_TAGORDER_H

#include <stddef.h>

#include "kernel/classify_worker.h"
#include "kernel/mpart.h"
#include "kernel/wire.h"

struct tagorder;

/* Tags go out on IOPUB (Jupyter's PUB socket), signed with KEY; cells are classified
 * by WORKER (NULL: nothing is tagged, every message goes straight through but a
 * notice's request's execute_input, which the notice follows).  EARLY:
 * --tag-position top (rule 3).  KEY and WORKER must outlive the result.  NULL when out
 * of memory. */
struct tagorder *tagorder_new(void *iopub, const struct wire_key *key,
                              struct classify_worker *worker, int early);

/* Frees T; what it holds back is dropped, unsent (see tagorder_flush). */
void tagorder_free(struct tagorder *t);

/* The notice (see above): TEXT (lines ending in '\n') goes out as a stderr stream
 * right after the execute_input of the first request tagorder_request is told of from
 * now on, whether there is a worker or not.  0, or -1 when out of memory (nothing is
 * said then).  tagorder_notice_owed: 1 while it is not out yet, or out in a cell that
 * is still running and may clear it (the proxy then hands every execute_request with
 * code to tagorder_request, even without a worker). */
int tagorder_set_notice(struct tagorder *t, const char *text);
int tagorder_notice_owed(const struct tagorder *t);

/* The child's session, username and version, for the tags' headers, taken from the
 * HEADER frame of a child message; tagorder_knows_session: 1 once one is known. */
void tagorder_learn_session(struct tagorder *t, const struct wire_frame *header);
int tagorder_knows_session(const struct tagorder *t);

/* An execute_request just forwarded to the child (its HEADER frame), with code
 * SRC[0..LEN) to classify (not silent, not blank): its tag is owed between the child's
 * execute_input and idle for it (and the notice, when one is owed and has no request
 * yet; without a worker that is all).  A short cell is classified here at once, while the
 * child starts on it, and its tag built (rule 10); a longer one is queued for the
 * worker: then 1 (a message was sent on the worker's socket).  0 otherwise, also when
 * the request is not tagged (a msg_id seen before, out of memory).
 * A model that reads context reads the cell after the one kernel/cellchain.h says:
 * HISTORY is the request's store_history (0: code a tool runs for itself, as a variable
 * inspector does after every cell, tagged but no cell's predecessor), CELL_ID the
 * frontend's id for the cell (the request's metadata.cellId; "" when none). */
int tagorder_request(struct tagorder *t, const struct wire_frame *header, const char *src,
                     size_t len, int history, const char *cell_id);

/* The worker has answered for request ID (classify_worker_result): its tag may go out
 * now, and a held idle with it. */
void tagorder_classified(struct tagorder *t, const char *id);

/* A child iopub message, taken from M (empty afterwards): relayed to the clients, or
 * held back, per the rules above. */
void tagorder_iopub(struct tagorder *t, struct mpart *m);

/* The child asked for input (an input_request on stdin), and the client answered
 * (rule 7). */
void tagorder_input_request(struct tagorder *t);
void tagorder_input_reply(struct tagorder *t);

/* At the end: whatever is held back goes out as it is. */
void tagorder_flush(struct tagorder *t);

#endif
