/* cellchain.h — which cell the kernel reads each executed cell after.
 *
 * Owns: for a model that reads context (model/context.h), the cells run in this kernel
 * process with history, as far as they set the next one's context.  The kernel does
 * not see the notebook, only the order in which its cells run, so:
 *   - a cell is read after the cell run before it (with history: code a tool runs for
 *     itself, store_history false, is no cell's predecessor);
 *   - a cell run again (the frontend's cellId, in the execute_request's metadata, the
 *     same as the last cell's; without ids, the same code) is read after what it was
 *     read after the last time, not after itself: re-running a cell keeps its tag;
 *   - after an error ipykernel aborts the cells queued behind it; they never ran, so
 *     the next cell is read after the last cell that started, as it was read.
 * Each record of a request (chain_cell) is the caller's, from cellchain_ask until
 * chain_cell_free; one thread.
 */
#ifndef NBSTAGE_CELLCHAIN_H
#define NBSTAGE_CELLCHAIN_H

#include <stddef.h>

struct cellchain;
struct chain_cell;

/* NULL when out of memory. */
struct cellchain *cellchain_new(void);
void cellchain_free(struct cellchain *c);

/* A request with history, of code CODE[0..LEN) and frontend cell id CELL_ID ("" when
 * none): *BEFORE, *BLEN is the code it is read after (NULL, 0: none), valid until the
 * next call on C.  The request's record, or NULL when out of memory (the cell is then
 * read as *BEFORE says, and may be nobody's predecessor). */
struct chain_cell *cellchain_ask(struct cellchain *c, const char *cell_id, const char *code,
                                 size_t len, const char **before, size_t *blen);

/* What code without history is read after: the last cell asked (NULL, 0: none). */
void cellchain_last(const struct cellchain *c, const char **code, size_t *len);

/* The child started CELL's request (its execute_input): it is the last cell that ran. */
void cellchain_started(struct cellchain *c, struct chain_cell *cell);

/* CELL's request was aborted (never started): when it was the last one asked, the last
 * cell that started is again, with what it was read after. */
void cellchain_aborted(struct cellchain *c, const struct chain_cell *cell);

void chain_cell_free(struct chain_cell *cell);

#endif
