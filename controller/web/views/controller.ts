/**
 * `GET /api/v1/controller`: who serves the dashboard and how fresh it is (the controller replica's
 * commit and last sync, or `mlform ui`'s refresh), then every error to act on with its manifest
 * position: the stack's diagnostics (a bad commit's manifests), the plan's errors, failed latest
 * runs, resources in retry backoff; and the backoff per resource.
 */
import { addressOf, runRef } from '../../../resources/address.js';
import type { Diagnostic } from '../../../resources/diagnostic.js';
import type { ControllerDoc } from '../api.js';
import type { StackSnapshot } from '../snapshot.js';
import { documentHeader } from './document-header.js';
import { cleanOptional, cleanText } from './safe-text.js';
import { projectFile, sourceOf, stackIndex, type StackIndex } from './stack-index.js';

type ErrorItem = ControllerDoc['errors'][number];

/** `3 failed attempt(s): ...`, the ApplyFailed condition the loop adds (controller/loop/loop-status.ts). */
const FAILURES = /^(\d+) failed attempt/;

export function buildController(snapshot: StackSnapshot): ControllerDoc {
  const index = stackIndex(snapshot);
  const c = snapshot.controller?.();
  return {
    ...documentHeader(snapshot),
    controller: c
      ? {
          version: c.version,
          identity: cleanText(c.identity),
          leader: c.leader,
          ready: c.ready,
          source: cleanText(c.source),
          commit: c.commit,
          appliedCommit: c.appliedCommit,
          lastSync: c.lastSync ? { ...c.lastSync } : null,
          lastError: cleanOptional(c.lastError),
          badCommit: c.badCommit?.commit ?? null,
        }
      : null,
    refresh:
      snapshot.mode === 'ui'
        ? { lastAt: snapshot.observedAt, everySeconds: snapshot.refreshSeconds ?? 0 }
        : null,
    errors: errorsOf(index),
    backoff: snapshot.statuses.flatMap((s) =>
      s.nextRetryAt === null
        ? []
        : [
            {
              address: s.address,
              failures: failuresOf(s.conditions),
              lastError: cleanText(s.lastError ?? ''),
              nextRetryAt: s.nextRetryAt,
            },
          ],
    ),
  };
}

function failuresOf(conditions: readonly { type: string; message: string }[]): number {
  const m = conditions.map((c) => (c.type === 'ApplyFailed' ? FAILURES.exec(c.message) : null)).find(Boolean);
  return m ? Number(m[1]) : 1;
}

function diagnosticError(index: StackIndex, d: Diagnostic): ErrorItem {
  const { projectDir } = index.snapshot;
  const source =
    d.file !== undefined
      ? { file: projectFile(projectDir, d.file), line: d.line ?? 1, col: d.col ?? 1 }
      : d.address !== undefined
        ? sourceOf(index, d.address)
        : null;
  return {
    address: d.address ?? null,
    message: cleanText(d.message),
    hint: cleanOptional(d.hint),
    source,
  };
}

function errorsOf(index: StackIndex): ErrorItem[] {
  const { snapshot } = index;
  const out: ErrorItem[] = [];
  for (const d of snapshot.diagnostics) if (d.severity === 'error') out.push(diagnosticError(index, d));
  for (const d of snapshot.plan?.diagnostics ?? [])
    if (d.severity === 'error') out.push(diagnosticError(index, d));
  for (const [name, runs] of index.runsByName) {
    const latest = runs[0];
    if (latest?.state !== 'failed') continue;
    const address = addressOf('TrainingRun', name);
    out.push({
      address,
      message: cleanText(`run ${runRef(latest)} failed${latest.error ? `: ${latest.error}` : ''}`),
      hint: `see its log on the run page or with \`mlform logs trainingrun/${name}\``,
      source: sourceOf(index, address),
    });
  }
  for (const s of snapshot.statuses) {
    if (s.lastError === null) continue;
    out.push({
      address: s.address,
      message: cleanText(s.lastError),
      hint: null,
      source: sourceOf(index, s.address),
    });
  }
  return out;
}
