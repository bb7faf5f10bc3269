// user_flows.mjs — day-to-day flows in classic Notebook 6 that run_notebook.mjs does not cover.
//
// Owns the browser half of tests/integration/test_browser_more.py.  Opens NOTEBOOK_URL
// in Debian's headless Chromium (playwright-core), runs every cell, saves, and opens the
// notebook again (trusted: the user's own session saved it).  Then, as a user who
// disagrees with the model, sets one cell's tags by hand (what the Tags cell toolbar
// does: a new metadata.tags, the notebook marked changed), saves, and opens the
// notebook once more: the saved stage outputs' scripts run again on opening, and must
// leave the hand-set tags alone.  Last, the notebook as File > Download as > HTML gives
// it (the server's nbconvert export), opened as a page: which badges each cell shows.
// Prints one JSON report on stdout.
//
// MODE edit (instead): the person's editing day.  Runs the first cell twice, edits it
// and runs it again, runs a comment-only cell, interrupts a time.sleep, copies the
// first cell and pastes it at the end, deletes the first cell and undoes that; the
// report has every cell's badges, outputs and metadata after that (no save).
//
// MODE revert (instead): Run All, set the first cell's tags by hand, save (which makes
// the checkpoint), then File > Revert to Checkpoint, through the menu and its dialog:
// Notebook 6 loads the checkpoint into the page it has, without resetting
// `_fully_loaded`, so the saved stage outputs' scripts run again in a loaded page.  The
// report has the page after the revert, then after the hand-tagged cell runs again.
//
// MODE untrusted (instead): NOTEBOOK_URL is a notebook with saved stage outputs that
// this server never signed (written by the test).  The report has what each code
// cell's output shows once opened (its text, whether a badge is styled, whether a
// script output rendered), its metadata and the notebook's trust and dirty flags;
// then the same after the first code cell runs.
//
// MODE restart (instead): NOTEBOOK_URL's first code cell prints the kernel's pid and
// its parent's (the stage kernel's), the second sleeps.  Run All; once the sleeping
// cell has its badge and has printed, Kernel > Interrupt; then Kernel > Restart and its
// dialog; when the kernel is ready again the first cell runs again.  The report has the cells
// after the interrupt and after the rerun, and how long the interrupt took.
//
// usage: node user_flows.mjs NOTEBOOK_URL USER_DATA_DIR [TIMEOUT_MS] [reopen|edit|revert|untrusted|restart] [NEW_SOURCE]
import { finishRun, launchChromium } from './launch.mjs';

const [url, userDataDir, timeoutArg, modeArg, newSource] = process.argv.slice(2);
const mode = modeArg || 'reopen';
if (!url || !userDataDir || !['reopen', 'edit', 'revert', 'untrusted', 'restart'].includes(mode) ||
    (mode === 'edit' && !newSource)) {
    console.error('usage: node user_flows.mjs NOTEBOOK_URL USER_DATA_DIR [TIMEOUT_MS] [reopen|edit|revert|untrusted|restart] [NEW_SOURCE]');
    process.exit(2);
}
const timeout = Number(timeoutArg || 30000);
const watchdog = setTimeout(() => { console.error('user_flows: overall timeout'); process.exit(3); },
                            timeout * 3);
const context = await launchChromium(userDataDir, 1500);
const report = { pageErrors: [], consoleErrors: [] };
let inNotebook = true; // the exported page's own errors are not the notebook's

const codeCells = () => Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code');
// Opens a menu of the menu bar until ITEM shows in it.  Bootstrap's dropdown can miss a
// click that lands while the page is busy (cells running, outputs arriving): the menu
// stays shut and the item hidden (a clean-clone CI run timed out on Kernel > Interrupt
// that way).  A user clicks the menu again; so does this, up to five times.
async function openMenu(page, menu, item) {
    for (let tries = 1; ; tries++) {
        await page.click(menu);
        try {
            await page.waitForSelector(item, { state: 'visible', timeout: 3000 });
            return;
        } catch (e) {
            if (tries === 5) throw e;
        }
    }
}
// one code cell run as Notebook 6's Run does it, until it is numbered and the kernel idle
async function runCell(page, i) {
    await page.evaluate(i => { Jupyter.notebook.select(i); Jupyter.notebook.execute_cells([i]); }, i);
    await page.waitForFunction(i => Jupyter.notebook.get_cell(i).input_prompt_number !== '*' &&
        document.querySelector('#kernel_indicator_icon.kernel_idle_icon'), i);
    await page.waitForTimeout(300); // the script writes the metadata one tick after the badge
}

async function editDay(page) {
    const order = await page.evaluate(() => Jupyter.notebook.get_cells().map(c => c.cell_type));
    const sleeper = order.length - 1; // the last cell sleeps
    await runCell(page, 0);
    await runCell(page, 0);
    report.afterTwice = await page.evaluate(state);
    await page.evaluate(src => Jupyter.notebook.get_cell(0).set_text(src), newSource);
    await runCell(page, 0);
    for (let i = 1; i < sleeper; i++) if (order[i] === 'code') await runCell(page, i);
    await page.evaluate(i => { Jupyter.notebook.select(i); Jupyter.notebook.execute_cells([i]); }, sleeper);
    await page.waitForFunction(i => Jupyter.notebook.get_cell(i).element[0].querySelector('.output .nbstage-badge') &&
        Jupyter.notebook.get_cell(i).output_area.outputs.some(o => o.output_type === 'stream' && o.text.includes('sleeping')), sleeper);
    await page.evaluate(() => Jupyter.notebook.kernel.interrupt());
    await page.waitForFunction(i => Jupyter.notebook.get_cell(i).input_prompt_number !== '*', sleeper);
    await page.evaluate(() => { Jupyter.notebook.select(0); Jupyter.notebook.copy_cell();
                                Jupyter.notebook.select(Jupyter.notebook.ncells() - 1);
                                Jupyter.notebook.paste_cell_below(); });
    await page.evaluate(() => { Jupyter.notebook.select(0); Jupyter.notebook.delete_cell(); });
    await page.evaluate(() => Jupyter.notebook.undelete_cell());
    await page.waitForTimeout(500);
    report.edited = await page.evaluate(() => Jupyter.notebook.get_cells().map(c => ({
        type: c.cell_type,
        source: c.get_text(),
        badges: [...c.element[0].querySelectorAll('.output .nbstage-badge')].map(b => b.textContent),
        outputs: c.output_area ? c.output_area.outputs.map(o => o.output_type + (o.ename ? ':' + o.ename : '')) : [],
        metadata: JSON.parse(JSON.stringify(c.metadata)),
    })));
}

const state = () => ({
    trusted: Jupyter.notebook.trusted,
    dirty: Jupyter.notebook.dirty,
    cells: Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map(c => ({
        badges: c.element[0].querySelectorAll('.output .nbstage-badge').length,
        metadata: JSON.parse(JSON.stringify(c.metadata)),
    })),
});

async function save(page) {
    const saved = page.evaluate(() => new Promise(resolve =>
        Jupyter.notebook.events.one('notebook_saved.Notebook', () => resolve(true))));
    await page.evaluate(() => Jupyter.notebook.save_checkpoint());
    return await saved;
}

async function reopen(page) {
    await page.reload();
    await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded);
    await page.waitForFunction(() => Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code')
        .every(c => c.element[0].querySelector('.output .nbstage-badge')));
    await page.waitForTimeout(1000); // the scripts' own retries end well within this
    return await page.evaluate(state);
}

// the first code cell's tags as a user sets them in the Tags cell toolbar: a new
// metadata.tags, the notebook marked changed; the tags set
const setHandTags = () => {
    const c = Jupyter.notebook.get_cells().find(c => c.cell_type === 'code');
    const other = c.metadata.workflow_stage.stage === 'prep' ? 'explore' : 'prep';
    const tags = ['checked', 'stage:' + other];
    c.metadata = Object.assign({}, c.metadata, { tags });
    Jupyter.notebook.set_dirty(true);
    return tags;
};

async function runAll(page) {
    await page.evaluate(() => Jupyter.notebook.execute_all_cells());
    await page.waitForFunction(() => Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code')
        .every(c => c.input_prompt_number !== '*' && c.metadata.workflow_stage &&
                    c.element[0].querySelector('.output .nbstage-badge')));
    return await page.evaluate(state);
}

async function revertDay(page) {
    report.run = await runAll(page);
    report.handTags = await page.evaluate(setHandTags);
    // File > Save and Checkpoint: saved, then the checkpoint made (the menu lists it)
    const made = page.evaluate(() => new Promise(resolve =>
        Jupyter.notebook.events.one('checkpoint_created.Notebook', () => resolve(true))));
    report.savedHand = await save(page);
    report.checkpointMade = await made;
    report.beforeRevert = await page.evaluate(state);

    // File > Revert to Checkpoint > (the checkpoint) > Revert
    const loaded = page.evaluate(() => new Promise(resolve =>
        Jupyter.notebook.events.one('checkpoint_restored.Notebook', () =>
            Jupyter.notebook.events.one('notebook_loaded.Notebook', () => resolve(true)))));
    await openMenu(page, '#filelink', '#restore_checkpoint');
    await page.hover('#restore_checkpoint');
    await page.click('#restore_checkpoint ul li a[href="#"]');
    await page.click('.modal-dialog .modal-footer button:has-text("Revert")');
    report.reverted = await loaded;
    await page.waitForFunction(() => Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code')
        .every(c => c.element[0].querySelector('.output .nbstage-badge')));
    await page.waitForTimeout(1000); // the scripts' own retries end well within this
    report.afterRevert = await page.evaluate(state);

    // the hand-tagged cell runs again in the reverted page: its live output tags it
    await runCell(page, await page.evaluate(() =>
        Jupyter.notebook.get_cells().findIndex(c => c.cell_type === 'code')));
    report.rerun = await page.evaluate(state);
}

// what each code cell's output shows: an untrusted output's script is not run and its
// text/html is sanitized (its style removed: no coloured badge), a live one's script
// draws the coloured badge
const shown = () => ({
    trusted: Jupyter.notebook.trusted,
    dirty: Jupyter.notebook.dirty,
    cells: Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map(c => {
        const out = c.element[0].querySelector('.output');
        const badges = [...out.querySelectorAll('.nbstage-badge')];
        return {
            text: out.innerText.trim(),
            styled: badges.filter(b => getComputedStyle(b).backgroundColor !== 'rgba(0, 0, 0, 0)').length,
            scripts: out.querySelectorAll('.output_javascript').length,
            metadata: JSON.parse(JSON.stringify(c.metadata)),
        };
    }),
});

async function untrustedDay(page) {
    await page.waitForTimeout(1500); // a saved script that ran would have written by now
    report.opened = await page.evaluate(shown);
    await runCell(page, await page.evaluate(() =>
        Jupyter.notebook.get_cells().findIndex(c => c.cell_type === 'code')));
    report.rerun = await page.evaluate(shown);
}

// each code cell: its badges, its outputs (stream text, error name), its metadata
const outputsNow = () => Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map(c => ({
    badges: [...c.element[0].querySelectorAll('.output .nbstage-badge')].map(b => b.textContent),
    outputs: c.output_area.outputs.map(o => o.output_type === 'stream' ? o.text :
                                            o.output_type + (o.ename ? ':' + o.ename : '')),
    metadata: JSON.parse(JSON.stringify(c.metadata)),
}));

async function restartDay(page) {
    await page.evaluate(() => Jupyter.notebook.execute_all_cells());
    await page.waitForFunction(() => {
        const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code');
        return cells[1].element[0].querySelector('.output .nbstage-badge') &&
               cells[1].output_area.outputs.some(o => o.output_type === 'stream' && o.text.includes('sleeping')) &&
               cells[0].output_area.outputs.some(o => o.output_type === 'stream');
    });
    // Kernel > Interrupt, through the menu
    const t0 = Date.now();
    await openMenu(page, '#kernellink', '#int_kernel > a');
    await page.click('#int_kernel > a');
    await page.waitForFunction(() => Jupyter.notebook.get_cells()
        .filter(c => c.cell_type === 'code').every(c => c.input_prompt_number !== '*'));
    report.interruptMs = Date.now() - t0;
    await page.waitForTimeout(300); // the script writes the metadata one tick after the badge
    report.interrupted = await page.evaluate(outputsNow);

    // Kernel > Restart, and the dialog's Restart; then wait for the new kernel
    const ready = page.evaluate(() => new Promise(resolve =>
        Jupyter.notebook.events.one('kernel_restarting.Kernel', () =>
            Jupyter.notebook.events.one('kernel_ready.Kernel', () => resolve(true)))));
    await openMenu(page, '#kernellink', '#restart_kernel > a');
    await page.click('#restart_kernel > a');
    await page.click('.modal-dialog .modal-footer button:has-text("Restart")');
    report.restarted = await ready;
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { state: 'attached' });
    await runCell(page, await page.evaluate(() =>
        Jupyter.notebook.get_cells().findIndex(c => c.cell_type === 'code')));
    report.rerun = await page.evaluate(outputsNow);
}

async function reopenDay(page, url) {
    // Run All, and wait for every code cell's stage in its metadata
    report.run = await runAll(page);
    report.savedRun = await save(page);
    report.reopened = await reopen(page);

    // the user corrects the first cell's stage by hand and keeps a tag of their own
    report.handTags = await page.evaluate(setHandTags);
    report.savedHand = await save(page);
    report.reopenedHand = await reopen(page);

    // File > Download as > HTML: the server's nbconvert export of the saved notebook,
    // opened as a page; each code cell's badge as the export shows it
    // (Debian's export names require.js and MathJax by file:// paths a served page may
    // not load: console errors of the export, not of nbstage, so only page errors count)
    inNotebook = false;
    const exportErrors = [];
    page.on('pageerror', e => { if (!inNotebook) exportErrors.push(String(e)); });
    const u = new URL(url);
    u.pathname = u.pathname.replace(/^\/notebooks\//, '/nbconvert/html/');
    u.searchParams.set('download', 'false');
    await page.goto(u.href);
    await page.waitForTimeout(1000);
    report.exported = await page.evaluate(() =>
        [...document.querySelectorAll('.jp-CodeCell, .code_cell')].map(c =>
            [...c.querySelectorAll('.nbstage-badge')].map(b => b.textContent)));
    report.exportErrors = exportErrors;
}

try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(timeout);
    page.on('pageerror', e => { if (inNotebook) report.pageErrors.push(String(e)); });
    page.on('console', m => { if (m.type() === 'error' && inNotebook) report.consoleErrors.push(m.text()); });
    await page.goto(url);
    await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded &&
                                     Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected());
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { state: 'attached' });

    if (mode === 'edit') await editDay(page);
    else if (mode === 'revert') await revertDay(page);
    else if (mode === 'untrusted') await untrustedDay(page);
    else if (mode === 'restart') await restartDay(page);
    else await reopenDay(page, url);
} catch (e) {
    report.error = String(e && e.stack || e);
}
await finishRun(context, watchdog, report);
