import { chromium, type Browser } from 'playwright-core';

// Debian's chromium (scripts/dev/chromium.sh, `make chromium`); playwright-core only drives it (its own browser
// downloads come from outside the package registries).
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
