/** YAML parsing with positions, and mapping a field path back to `line:col`. */
import {
  Composer,
  CST,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  Parser,
  visit,
  type Document,
  type Node,
} from 'yaml';
import { errorMessage } from '../resources/error-message.js';
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

// logLevel: the library's own warnings would go to stderr with manifest text in them.
const YAML_OPTIONS = { merge: true, uniqueKeys: true, logLevel: 'error' } as const;
/**
 * Billion-laughs protection: the yaml package refuses documents whose aliases expand beyond this
 * (it counts every alias, whatever its anchor's name).
 */
export const MAX_ALIAS_COUNT = 100;
/** Collections inside collections; real manifests nest under 10 deep. Aliases count where they land. */
export const MAX_NESTING_DEPTH = 64;
/**
 * A document with aliases may expand to this many times the nodes it is written with (plus a
 * small allowance): aliases of wide lists multiply work without nesting, which the alias count
 * alone does not see.
 */
const MAX_EXPANSION_FACTOR = 10;
const EXPANSION_ALLOWANCE = 10_000;

export function parseYamlFile(text: string, file: string): ParsedFile {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const documents: ParsedDocument[] = [];
  const composed = composeDocuments(text, lineCounter);
  if (composed.tooDeepAt !== undefined) {
    diagnostics.push(tooDeep(file, lineCounter.linePos(composed.tooDeepAt)));
    return { documents, diagnostics, lineCounter };
  }
  composed.docs.forEach((doc, index) => {
    for (const e of doc.errors) diagnostics.push(yamlIssue(e, file, 'error', lineCounter));
    for (const w of doc.warnings) diagnostics.push(yamlIssue(w, file, 'warning', lineCounter));
    const start = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      diagnostics.push(aliasFailure(e, doc, lineCounter, file));
      return;
    }
    const shape = checkShape(value);
    if (shape) {
      const at = { file, ...locate(doc, lineCounter, shape.path) };
      diagnostics.push(shape.problem === 'depth' ? tooDeep(file, at) : expansionTooLarge(file, at));
      return;
    }
    if (doc.errors.length > 0) return;
    documents.push({ index, value: value ?? undefined, doc, line: start.line, col: start.col });
  });
  return { documents, diagnostics, lineCounter };
}

/**
 * `parseAllDocuments`, with the nesting of flow collections and of block indicators on one line
 * counted as the lexer goes: past the limit, parsing stops there. The lexer knows quotes and
 * comments, so only real nesting counts; nesting by indentation costs its square in bytes, which
 * the 4 MiB file limit bounds, and is checked on the value afterwards (`checkShape`).
 */
function composeDocuments(
  text: string,
  lineCounter: LineCounter,
): { docs: Document.Parsed[]; tooDeepAt?: number } {
  const parser = new Parser(lineCounter.addNewLine);
  let tooDeepAt: number | undefined;
  function* tokens() {
    lineCounter.addNewLine(0);
    let flow = 0;
    let onLine = 0;
    for (const lexeme of new Lexer().lex(text)) {
      const type = CST.tokenType(lexeme);
      if (type === 'flow-seq-start' || type === 'flow-map-start') flow++;
      else if (type === 'flow-seq-end' || type === 'flow-map-end') flow = Math.max(0, flow - 1);
      else if (type === 'seq-item-ind' || type === 'explicit-key-ind') onLine++;
      else if (type === 'newline') onLine = 0;
      if (flow + onLine > MAX_NESTING_DEPTH) {
        tooDeepAt = parser.offset;
        return;
      }
      yield* parser.next(lexeme);
    }
    yield* parser.end();
  }
  const docs = Array.from(new Composer(YAML_OPTIONS).compose(tokens()));
  return { docs, tooDeepAt };
}

/**
 * The first place where the value (aliases expanded) nests deeper than the limit, or expands to
 * far more nodes than are written. Iterative: a deep or cyclic (`&a [*a]`) value cannot overflow
 * the stack here, nor anywhere later (schema validation, the spec hash), once refused.
 */
function checkShape(value: unknown): { problem: 'depth' | 'expansion'; path: FieldPath } | undefined {
  const written = new Set<object>();
  let writtenNodes = 0;
  let expandedNodes = 0;
  let budget = Infinity;
  for (const pass of ['written', 'expanded'] as const) {
    const stack: { value: unknown; path: FieldPath }[] = [{ value, path: [] }];
    while (stack.length > 0) {
      const { value: node, path } = stack.pop() as { value: unknown; path: FieldPath };
      if (pass === 'written') writtenNodes++;
      else if (++expandedNodes > budget) return { problem: 'expansion', path };
      if (node === null || typeof node !== 'object') continue;
      if (pass === 'written') {
        // Shared objects (aliases) are counted once; the depth check is on the expanded pass.
        if (written.has(node)) continue;
        written.add(node);
      }
      if (path.length >= MAX_NESTING_DEPTH) return { problem: 'depth', path };
      const entries: [string | number, unknown][] = Array.isArray(node)
        ? node.map((v, i): [number, unknown] => [i, v])
        : Object.entries(node);
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push({ value: entries[i][1], path: [...path, entries[i][0]] });
      }
    }
    budget = writtenNodes * MAX_EXPANSION_FACTOR + EXPANSION_ALLOWANCE;
  }
  return undefined;
}

function tooDeep(file: string, at: { line: number; col: number }): Diagnostic {
  return error('yaml-too-deep', `YAML: collections nest more than ${MAX_NESTING_DEPTH} levels deep`, {
    file,
    line: at.line,
    col: at.col,
    hint: 'manifests nest a few levels; flatten the structure (or the aliases that nest it)',
  });
}

function expansionTooLarge(file: string, at: { line: number; col: number }): Diagnostic {
  return error(
    'yaml-alias-expansion',
    `YAML: aliases expand the document to over ${MAX_EXPANSION_FACTOR} times the nodes written`,
    {
      file,
      line: at.line,
      col: at.col,
      hint: 'this looks like a "billion laughs" document; write the values out or use fewer aliases',
    },
  );
}

function yamlIssue(
  e: { code: string; message: string; pos: [number, number] },
  file: string,
  severity: 'error' | 'warning',
  lineCounter: LineCounter,
): Diagnostic {
  const message = e.message.split('\n')[0];
  const hint =
    e.code === 'BAD_INDENT' && /Flow (map|sequence)/.test(message)
      ? 'close the { or [ opened above'
      : YAML_HINTS[e.code];
  const make = severity === 'error' ? error : warning;
  const pos = lineCounter.linePos(e.pos[0]);
  return make(`yaml-${e.code.toLowerCase().replace(/_/g, '-')}`, `YAML: ${message}`, {
    file,
    line: pos.line,
    col: pos.col,
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
  const message = errorMessage(e);
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
  if (e instanceof RangeError) return tooDeep(file, pos);
  if (!/Excessive alias count/.test(message)) {
    // e.g. a merge key (`<<`) whose alias is not a mapping.
    return error('yaml-invalid', `YAML: ${message.split('\n')[0]}`, { file, line: pos.line, col: pos.col });
  }
  const alias = lineCounter.linePos(firstCollectionAlias(doc) ?? doc.contents?.range[0] ?? doc.range[0]);
  return error('yaml-alias-expansion', `YAML: aliases expand to too many nodes (over ${MAX_ALIAS_COUNT})`, {
    file,
    line: alias.line,
    col: alias.col,
    hint: 'this looks like a "billion laughs" document; write the values out or nest aliases less',
  });
}

/** Where the expansion starts: the first alias of a collection (an alias of a scalar copies one value). */
function firstCollectionAlias(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      const source = node.resolve(doc);
      if (node.range && (isMap(source) || isSeq(source))) {
        offset = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return offset;
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
