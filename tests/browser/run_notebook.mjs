// run_notebook.mjs — drives a real classic Jupyter Notebook page as a person would.
//
// Owns the browser half of tests/integration/test_browser.py: opens NOTEBOOK_URL in
// Debian's headless Chromium (playwright-core, no browser download), waits for the
// kernel, clicks Cell > Run All, waits for a stage badge under every code cell,
// takes a screenshot, clicks File > Save and waits for the save to finish, then opens
// the saved notebook again.  Prints
// one JSON report on stdout; the Python side checks it and the saved file.
//
// usage: node run_notebook.mjs NOTEBOOK_URL SCREENSHOT.png USER_DATA_DIR [TIMEOUT_MS]
import { chromium } from 'playwright-core';

const [url, screenshot, userDataDir, timeoutArg] = process.argv.slice(2);
if (!url || !screenshot || !userDataDir) {
    console.error('usage: node run_notebook.mjs NOTEBOOK_URL SCREENSHOT.png USER_DATA_DIR [TIMEOUT_MS]');
    process.exit(2);
}
const timeout = Number(timeoutArg || 60000);
// A whole-run bound, so that a hung page can never hold the test suite.
const watchdog = setTimeout(() => { console.error('run_notebook: overall timeout'); process.exit(3); },
                            timeout * 2);

// These flags keep Chromium from reaching for the network this machine does not have.
const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 3000 },
});
const report = { pageErrors: [], consoleErrors: [], cells: [] };
try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(timeout);
    page.on('pageerror', e => report.pageErrors.push(String(e)));
    page.on('console', m => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });

    await page.goto(url);
    await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel &&
                                     Jupyter.notebook.kernel.is_connected());
    report.kernelName = await page.evaluate(() => Jupyter.notebook.kernel.name);
    report.kernelDisplayName = await page.locator('.kernel_indicator_name').innerText();
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { state: 'attached' });

    // Cell > Run All, through the menus
    await page.click('#celllink');
    await page.click('#run_all_cells > a');

    // every code cell: executed, and a badge inside its own output area
    await page.waitForFunction(() => {
        const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code');
        return cells.length > 0 && cells.every(c => c.input_prompt_number !== null &&
            c.input_prompt_number !== '*' && c.element[0].querySelector('.output .nbstage-badge'));
    });
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { state: 'attached' });

    report.cells = await page.evaluate(() =>
        Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map(c => {
            const badges = c.element[0].querySelectorAll('.output .nbstage-badge');
            const areas = [...c.element[0].querySelectorAll('.output > .output_area')];
            const badgeArea = badges.length ? badges[0].closest('.output_area') : null;
            return {
                source: c.get_text(),
                badges: [...badges].map(b => b.textContent),
                badgeColour: badges.length ? getComputedStyle(badges[0]).backgroundColor : null,
                badgeVisible: badges.length ? badges[0].getBoundingClientRect().height > 0 : false,
                badgePosition: badgeArea ? areas.indexOf(badgeArea) : -1,
                outputAreas: areas.length,
                metadata: JSON.parse(JSON.stringify(c.metadata)),
            };
        }));
    report.dirtyBeforeSave = await page.evaluate(() => Jupyter.notebook.dirty);

    // Notebook 6 scrolls inside #site, so a "full page" shot would stop at the window:
    // the window is made tall instead, and the shot ends below the last cell.
    const bottom = await page.evaluate(() =>
        Math.ceil(document.querySelector('#notebook-container').getBoundingClientRect().bottom) + 24);
    await page.screenshot({ path: screenshot, clip: { x: 0, y: 0, width: 1100, height: Math.min(bottom, 3000) } });

    // File > Save and Checkpoint, and wait for the server to confirm it
    const saved = page.evaluate(() => new Promise(resolve =>
        Jupyter.notebook.events.one('notebook_saved.Notebook', () => resolve(true))));
    await page.click('#filelink');
    await page.click('#save_checkpoint > a');
    report.saved = await saved;
    report.dirtyAfterSave = await page.evaluate(() => Jupyter.notebook.dirty);

    // Open the saved notebook again: the badges come back from the file, and the
    // saved scripts, run again, must not mark an unchanged notebook as changed.
    await page.reload();
    await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded);
    await page.waitForFunction(() => Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code')
        .every(c => c.element[0].querySelector('.output .nbstage-badge')));
    await page.waitForTimeout(1000); // the scripts' own retries end well within this
    report.reopened = await page.evaluate(() => ({
        trusted: Jupyter.notebook.trusted,
        dirty: Jupyter.notebook.dirty,
        badges: Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code')
            .map(c => c.element[0].querySelectorAll('.output .nbstage-badge').length),
    }));
} catch (e) {
    report.error = String(e && e.stack || e);
} finally {
    await context.close();
    clearTimeout(watchdog);
}
process.stdout.write(JSON.stringify(report, null, 1) + '\n');
process.exit(report.error ? 1 : 0);
