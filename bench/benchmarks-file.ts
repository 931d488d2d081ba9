/** Keeps BENCHMARKS.md as one section per benchmark, each replaced in place when re-run. */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

const FILE = join(import.meta.dirname, '..', 'BENCHMARKS.md');
const HEADER =
  '# Benchmarks\n\nFigures from `bench/`, each with the command that produced it. Ratios matter more than\nabsolute numbers: machines are noisy.\n';

export async function writeBenchmarkSection(
  id: string,
  title: string,
  command: string,
  body: string,
): Promise<void> {
  let text = await readFile(FILE, 'utf8').catch(() => HEADER);
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const section = `${start}\n## ${title}\n\nCommand: \`${command}\` — ${new Date().toISOString().slice(0, 10)}, ${machine}\n\n${body}\n${end}`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  text =
    a !== -1 && b !== -1
      ? text.slice(0, a) + section + text.slice(b + end.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(FILE, text);
}
