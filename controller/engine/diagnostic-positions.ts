/**
 * The plan is pure, so its diagnostics about a manifest point at the document (the position the
 * loader recorded) plus the field path. At the edge, where files may be read, this moves them to
 * the field itself (`spec.traffic[1].version` at 14:17), the way the loader's own errors point.
 * `readText` must only return files the loader read from inside the tree (`readLoadedFile` of
 * manifests/loaded-files.ts): a diagnostic's file name alone is no licence to open it.
 */
import type { Diagnostic } from '../../resources/diagnostic.js';
import { locate, parseYamlFile, type ParsedFile } from '../../manifests/yaml-document.js';

export function pinpointDiagnostics(
  diagnostics: readonly Diagnostic[],
  readText: (file: string) => string | undefined,
): Diagnostic[] {
  const parsed = new Map<string, ParsedFile | undefined>();
  return diagnostics.map((d) => {
    if (!d.file || d.line === undefined || !d.path || d.path.length === 0) return d;
    if (!parsed.has(d.file)) {
      const text = readText(d.file);
      parsed.set(d.file, text === undefined ? undefined : parseYamlFile(text, d.file));
    }
    const file = parsed.get(d.file);
    const doc = file?.documents.find((x) => x.line === d.line);
    if (!file || !doc) return d;
    const { line, col, length } = locate(doc.doc, file.lineCounter, d.path);
    return { ...d, line, col, length };
  });
}
