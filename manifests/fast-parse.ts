/**
 * The fast path for clean files. `yaml`'s Document API gives positions but parses ~7x slower than
 * `js-yaml`; most files are valid, and a valid file needs no positions. So a file is first read with
 * js-yaml (YAML 1.2 core schema plus merge keys, the same values `yaml` produces) and validated;
 * only a file with any problem, or anything unusual (anchors, empty documents, custom tags), is
 * parsed again with `yaml` for positions and exact YAML diagnostics.
 *
 * js-yaml expands aliases without a limit, so this path must never see one. An alias needs an
 * anchor, and an anchor needs a `&`: a file with no `&` at all cannot expand an alias here (js-yaml
 * rejects `*name` with no anchor, and the file goes to the slow path, which caps expansion). A
 * `&` inside a string only costs that file the slower path.
 */
import jsYaml from 'js-yaml';
import { MAX_NESTING_DEPTH } from './yaml-document.js';

// js-yaml exports its built-in types at run time; @types/js-yaml does not declare them.
const { merge } = (jsYaml as unknown as { types: { merge: jsYaml.Type } }).types;
const SCHEMA = jsYaml.CORE_SCHEMA.extend({ implicit: [merge] });

/** One more than the collections allowed: js-yaml counts the scalar at the bottom as a level. */
const MAX_DEPTH = MAX_NESTING_DEPTH + 1;

export interface FastDocument {
  index: number;
  value: unknown;
  line: number;
  col: number;
}

/** The documents of a file, or undefined when the file must take the slow path. */
export function fastParse(text: string): FastDocument[] | undefined {
  if (text.includes('&')) return undefined;
  let values: unknown[];
  try {
    // Deeper files go to the slow path, which reports where; js-yaml recurses per level.
    values = jsYaml.loadAll(text, undefined, { schema: SCHEMA, maxDepth: MAX_DEPTH } as jsYaml.LoadOptions);
  } catch {
    return undefined;
  }
  if (values.length === 0 || values.some((v) => v === null || v === undefined)) return undefined;
  const starts = documentStarts(text);
  if (starts.length !== values.length) return undefined;
  return values.map((value, index) => ({ index, value, line: starts[index].line, col: starts[index].col }));
}

/** Line and column of each document's first content line (what `yaml` reports as its start). */
function documentStarts(text: string): { line: number; col: number }[] {
  const starts: { line: number; col: number }[] = [];
  let seeking = true;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const marker = /^---(?:\s|$)/.test(line);
    if (marker) {
      seeking = true;
      const rest = line.slice(3).trimStart();
      if (rest && !rest.startsWith('#')) {
        starts.push({ line: i + 1, col: line.length - rest.length + 1 });
        seeking = false;
      }
      continue;
    }
    if (!seeking) continue;
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('%')) continue;
    starts.push({ line: i + 1, col: line.length - trimmed.length + 1 });
    seeking = false;
  }
  return starts;
}
