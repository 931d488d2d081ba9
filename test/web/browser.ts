/**
 * The browser the dashboard tests drive: Debian's chromium (CI installs it in .ci/run), or the
 * one MLFORM_CHROMIUM names. `--no-sandbox` because the tests run as root in CI containers.
 * `browserInstalled`: tests skip without it, except under CI (where they fail instead).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const executablePath = process.env.MLFORM_CHROMIUM || '/usr/bin/chromium';

export const browserInstalled = existsSync(executablePath);

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}
