/**
 * The browser the dashboard tests drive: Debian's chromium (CI installs it in .ci/run), or the
 * one MLFORM_CHROMIUM names. `--no-sandbox` because the tests run as root in CI containers.
 */
import { chromium, type Browser } from 'playwright-core';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.MLFORM_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
}
