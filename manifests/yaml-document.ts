/** YAML parsing with positions, and mapping a field path back to `line:col`. */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Document,
  type Node,
} from 'yaml';
import { error, warning, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';

export interface ParsedDocument {
  index: number;
  /** The plain JS value, or undefined when the document is empty. */
  value: unknown;
  doc: Document.Parsed;
  /** Position of the document's first node. */
  line: number;
  col: number;
}

export interface ParsedFile {
  documents: ParsedDocument[];
  diagnostics: Diagnostic[];
  lineCounter: LineCounter;
}

export interface SourcePosition {
  line: number;
  col: number;
  length: number;
}

const YAML_OPTIONS = { merge: true, uniqueKeys: true, prettyErrors: true } as const;
/** Billion-laughs protection: the yaml package refuses documents whose aliases expand beyond this. */
const MAX_ALIAS_COUNT = 100;

export function parseYamlFile(text: string, file: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter });
  const diagnostics: Diagnostic[] = [];
  const documents: ParsedDocument[] = [];
  // parseAllDocuments returns an EmptyStream (an array) for empty input.
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    for (const e of doc.errors) diagnostics.push(yamlIssue(e, file, 'error'));
    for (const w of doc.warnings) diagnostics.push(yamlIssue(w, file, 'warning'));
    const start = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      diagnostics.push(aliasFailure(e, doc, lineCounter, file));
      return;
    }
    if (doc.errors.length > 0) return;
    documents.push({ index, value: value ?? undefined, doc, line: start.line, col: start.col });
  });
  return { documents, diagnostics, lineCounter };
}

function yamlIssue(
  e: {
    code: string;
    message: string;
    linePos?:
      [{ line: number; col: number }] | [{ line: number; col: number }, { line: number; col: number }];
  },
  file: string,
  severity: 'error' | 'warning',
): Diagnostic {
  // prettyErrors appends "at line X, column Y:" and a code frame; we render our own frame.
  const message = e.message.split(/ at line \d+, column \d+/)[0].split('\n')[0];
  const hint =
    e.code === 'BAD_INDENT' && /Flow (map|sequence)/.test(message)
      ? 'close the { or [ opened above'
      : YAML_HINTS[e.code];
  const make = severity === 'error' ? error : warning;
  return make(`yaml-${e.code.toLowerCase().replace(/_/g, '-')}`, `YAML: ${message}`, {
    file,
    line: e.linePos?.[0].line ?? 1,
    col: e.linePos?.[0].col ?? 1,
    hint,
  });
}

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'remove one of the two keys: YAML keeps only the last, which hides mistakes',
  TAB_AS_INDENT: 'indent with spaces',
  BAD_INDENT: 'align the keys of one mapping at the same column',
  TAG_RESOLVE_FAILED: 'remove the custom tag: mlform manifests use plain YAML values',
};

function aliasFailure(e: unknown, doc: Document.Parsed, lineCounter: LineCounter, file: string): Diagnostic {
  const message = e instanceof Error ? e.message : String(e);
  const unresolved = /Unresolved alias.*: (.+)$/.exec(message);
  if (unresolved) {
    let offset = doc.range[0];
    visit(doc, {
      Alias(_, node) {
        if (node.source === unresolved[1] && node.range) {
          offset = node.range[0];
          return visit.BREAK;
        }
        return undefined;
      },
    });
    const pos = lineCounter.linePos(offset);
    return error(
      'yaml-unresolved-alias',
      `YAML: alias *${unresolved[1]} refers to no anchor defined before it`,
      {
        file,
        line: pos.line,
        col: pos.col,
        length: unresolved[1].length + 1,
        hint: `define \`&${unresolved[1]}\` earlier in the same document`,
      },
    );
  }
  const pos = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]);
  return error('yaml-alias-expansion', `YAML: aliases expand to too many nodes (over ${MAX_ALIAS_COUNT})`, {
    file,
    line: pos.line,
    col: pos.col,
    hint: 'this looks like a "billion laughs" document; write the values out or nest aliases less',
  });
}

/**
 * Where `path` is written in the document. With `key`, the position of the last key itself (for
 * unknown fields); otherwise of its value. A path that is not in the source (a missing field)
 * resolves to the deepest ancestor that is.
 */
export function locate(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  path: FieldPath,
  target: 'key' | 'value' = 'value',
): SourcePosition {
  let node: unknown = doc.contents;
  let best: [number, number] | undefined = rangeOf(node);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyOf(p.key) === String(segment));
      if (!pair) break;
      const keyRange = rangeOf(pair.key);
      const last = i === path.length - 1;
      if (last && target === 'key' && keyRange) return toPosition(lineCounter, keyRange);
      best = (isScalar(pair.value) || isAlias(pair.value) ? rangeOf(pair.value) : keyRange) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      best = rangeOf(item) ?? best;
      node = item;
    } else break;
  }
  return best ? toPosition(lineCounter, best) : { line: 1, col: 1, length: 1 };
}

function keyOf(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function rangeOf(node: unknown): [number, number] | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? [range[0], range[1]] : undefined;
}

function toPosition(lineCounter: LineCounter, [start, end]: [number, number]): SourcePosition {
  const pos = lineCounter.linePos(start);
  const endPos = lineCounter.linePos(end);
  const length = endPos.line === pos.line ? Math.max(1, end - start) : 1;
  return { line: pos.line, col: pos.col, length };
}
