// launch.mjs — the one way the browser tests start Chromium.
//
// Owns: Debian's chromium, headless, through playwright-core (no browser download),
// with a persistent profile in USER_DATA_DIR, and the flags that keep it from reaching
// for the network this machine does not have.  run_notebook.mjs and user_flows.mjs
// both open their pages in what this returns, and end with finishRun.
import { chromium } from 'playwright-core';

export function launchChromium(userDataDir, height) {
    return chromium.launchPersistentContext(userDataDir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1100, height },
    });
}

// The end of either script: close the browser, stop the watchdog, print the report
// (JSON on stdout, what the pytest side reads) and exit non-zero if it holds an error.
export async function finishRun(context, watchdog, report) {
    await context.close();
    clearTimeout(watchdog);
    process.stdout.write(JSON.stringify(report, null, 1) + '\n');
    process.exit(report.error ? 1 : 0);
}
