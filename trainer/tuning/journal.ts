/**
 * The study journal, `<outDir>/study.jsonl`: one JSON line per event of a study (a trial asked
 * with its params, a training launched, an epoch's value, a pruning decision, a trial's end), as
 * Optuna's JournalStorage. The engine appends an event, with fsync, before it acts on it, so a
 * study killed at any moment replays to the state it had: ended trials are kept, open ones
 * resume, and tuning.json is rebuilt from it (study-state.ts).
 *
 * The journal lives in an artifact directory, so it is read as untrusted: every line is checked
 * against the schema, and trial numbers are positive integers (they name `trials/<k>/`).
 * gs:// directories get no journal (appending to an object means rewriting it): such a study is
 * not durable.
 */
import { mkdir, open, readFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import {
  isGcsUri,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  toLocalPath,
  joinUri,
} from '../../artifact/storage.js';
import { StringEnum } from '../../resources/schema-helpers.js';
import { formatPath } from '../../resources/diagnostic.js';
import { validateAgainstJsonSchema } from '../../manifests/schema-validation.js';

export const JOURNAL_FILE = 'study.jsonl';

const Trial = Type.Integer({ minimum: 1, maximum: 100_000 });
const Nullable = <T extends ReturnType<typeof Type.Number>>(schema: T) => Type.Union([schema, Type.Null()]);

const StudyEvent = Type.Object({
  type: Type.Literal('study'),
  formatVersion: Type.Literal(1),
  /** The spec hash of the tuned run: a journal of another spec is never replayed. */
  specHash: Type.String(),
  at: Type.String(),
});
const AskedEvent = Type.Object({
  type: Type.Literal('asked'),
  trial: Trial,
  params: Type.Record(Type.String(), Type.Unknown()),
  at: Type.String(),
});
const LaunchedEvent = Type.Object({
  type: Type.Literal('launched'),
  trial: Trial,
  /** Epochs it trains up to: the spec's, or the epoch it was pruned at (a resumed pruned trial). */
  budget: Type.Integer({ minimum: 1 }),
  /** A checkpoint was there: the training continues from it rather than from scratch. */
  resumed: Type.Boolean(),
  at: Type.String(),
});
/** A trial's epoch, and where the pruner placed it (asha/hyperband: its rung and bracket). */
const TrialEpoch = {
  trial: Trial,
  epoch: Type.Integer({ minimum: 1 }),
  rung: Type.Optional(Type.Integer({ minimum: 0 })),
  bracket: Type.Optional(Type.Integer({ minimum: 0 })),
};
const EpochEvent = Type.Object({ type: Type.Literal('epoch'), ...TrialEpoch, value: Type.Number() });
const PrunedEvent = Type.Object({ type: Type.Literal('pruned'), ...TrialEpoch, reason: Type.String() });
const EndedEvent = Type.Object({
  type: Type.Literal('ended'),
  trial: Trial,
  state: StringEnum(['completed', 'pruned', 'failed'] as const),
  metric: Nullable(Type.Number()),
  epochs: Type.Union([Type.Integer(), Type.Null()]),
  values: Type.Optional(Type.Array(Nullable(Type.Number()))),
  score: Type.Optional(Nullable(Type.Number())),
  penalty: Type.Optional(
    Type.Object({ total: Type.Number(), parts: Type.Record(Type.String(), Type.Number()) }),
  ),
  error: Type.Optional(Type.String()),
  at: Type.String(),
});

export const JournalEventSchema = Type.Union([
  StudyEvent,
  AskedEvent,
  LaunchedEvent,
  EpochEvent,
  PrunedEvent,
  EndedEvent,
]);
export type JournalEvent = Static<typeof JournalEventSchema>;
export type EndedJournalEvent = Static<typeof EndedEvent>;

/** A journal that cannot be replayed (edited, or written by something else). */
export class JournalError extends Error {
  override name = 'JournalError';
}

export interface Journal {
  /** Appends the event durably (fsync) before resolving; appends are serialised. */
  append(event: JournalEvent): Promise<void>;
  close(): Promise<void>;
}

/**
 * Reads the journal of `outDir`: its events, oldest first, or [] when there is none. A torn last
 * line (the process died inside a write) is dropped, and cut from the file so appends go on after
 * the last whole event; any other bad line is a JournalError naming it.
 */
export async function readJournal(outDir: string): Promise<JournalEvent[]> {
  if (isGcsUri(outDir)) return [];
  const path = journalPath(outDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) await truncate(path, Buffer.byteLength(text.slice(0, end)));
  const events: JournalEvent[] = [];
  const lines = text.slice(0, end).split('\n').slice(0, -1);
  for (const [i, line] of lines.entries()) {
    let parsed: unknown;
    let problem: string | undefined;
    try {
      parsed = JSON.parse(line);
      // ajv: the schema's enums are `Type.Unsafe`, which TypeBox's own checker does not know.
      const [issue] = validateAgainstJsonSchema(JournalEventSchema, parsed);
      if (issue) problem = `${issue.path.length > 0 ? `${formatPath(issue.path)}: ` : ''}${issue.message}`;
    } catch {
      problem = 'not JSON';
    }
    if (problem !== undefined) {
      throw new JournalError(
        `${path} line ${i + 1} is not a study event (${problem}); the journal was edited or damaged: ` +
          'delete it and trials/ to start the study over, or train into another directory',
      );
    }
    events.push(parsed as JournalEvent);
  }
  return events;
}

/** Opens the journal of `outDir` for appending (a no-op journal for gs://, see the header). */
export async function openJournal(outDir: string): Promise<Journal> {
  if (isGcsUri(outDir)) return { append: async () => {}, close: async () => {} };
  const path = journalPath(outDir);
  await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  const file = await open(path, 'a', PRIVATE_FILE_MODE);
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  return {
    append(event) {
      const line = `${JSON.stringify(event)}\n`;
      const write = chain.then(async () => {
        if (closed) throw new Error('the study journal is closed');
        await file.appendFile(line);
        await file.sync();
      });
      // A failed append fails its caller; later appends still run.
      chain = write.catch(() => {});
      return write;
    },
    async close() {
      await chain;
      closed = true;
      await file.close();
    },
  };
}

const journalPath = (outDir: string): string => toLocalPath(joinUri(outDir, JOURNAL_FILE));
