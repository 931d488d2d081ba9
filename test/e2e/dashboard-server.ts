/**
 * A dashboard server as a user starts it: `mlform ui` or `mlform controller` from the built CLI,
 * running until stopped, with the URL it prints (the ui's `dashboard: URL (Ctrl-C to stop)` line,
 * the controller's JSON `listening` log line).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_ENV } from './cli.js';

export interface DashboardServer {
  child: ChildProcess;
  /** Base URL without the trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Everything printed so far (stdout then stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const UI_LINE = /^dashboard: (http:\/\/\S+?)\/? \(Ctrl-C to stop\)$/m;

/** The URL a server printed, once it did: `mlform ui`'s line or the controller's log. */
function printedUrl(stdout: string): string | undefined {
  const ui = UI_LINE.exec(stdout)?.[1];
  if (ui) return ui;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const log = JSON.parse(line) as { msg?: string; url?: string };
      // 0.0.0.0 is where it listens, not an address to connect to.
      if (log.msg === 'listening' && log.url) return log.url.replace('//0.0.0.0:', '//127.0.0.1:');
    } catch {
      // a partial line
    }
  }
  return undefined;
}

export function startDashboard(args: readonly string[], timeoutMs = 30_000): Promise<DashboardServer> {
  const child = spawn(process.execPath, ['bin/mlform.js', ...args], {
    env: { ...process.env, ...CLI_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const output = () => `${stdout}${stderr}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`mlform ${args[0]} printed no URL within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = printedUrl(stdout);
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({ child, url: url.replace(/\/$/, ''), output, stop });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mlform ${args[0]} exited (${code}) before printing its URL:\n${output()}`));
    });
  });
}
