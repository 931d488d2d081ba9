/**
 * Local files that manifests name (`file://` URIs), checked against the trust roots: a commit must
 * not make mlform read, train on and serve the values of a file outside its repository. `gs://`
 * URIs are bounded by the service account's IAM instead, and are not checked here.
 */
import { dirname } from 'node:path';
import { error, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';
import type { AnyManifest } from '../resources/kinds.js';
import { fileUriPath } from './file-uri.js';
import { checkLocalFile, type TrustRoots } from './trust.js';

export interface LocalFileField {
  path: FieldPath;
  uri: string;
}

/** Every field of a manifest that names a file. A new field that does is added here. */
export function fileFields(manifest: AnyManifest): LocalFileField[] {
  if (manifest.kind !== 'TrainingRun') return [];
  const uri = manifest.spec.trainer.builtin?.data.uri;
  return uri === undefined ? [] : [{ path: ['spec', 'trainer', 'builtin', 'data', 'uri'], uri }];
}

/**
 * Diagnostics for the file fields of one manifest whose file resolves outside the allowed roots.
 * `manifestPath` is the manifest file: relative URIs resolve against its folder.
 */
export async function checkFileFields(
  manifest: AnyManifest,
  manifestPath: string,
  roots: TrustRoots,
): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const field of fileFields(manifest)) {
    const local = fileUriPath(field.uri, dirname(manifestPath));
    if (local === undefined) continue;
    const checked = await checkLocalFile(local, roots);
    if (checked.ok) continue;
    out.push(
      error(
        'data-outside-tree',
        `${field.uri} resolves to ${dirname(checked.real)}, outside the repository (${roots.treeRoot})`,
        {
          path: field.path,
          hint: 'move the data inside the repository, or have the operator allow its folder with --allow-data-root',
        },
      ),
    );
  }
  return out;
}
