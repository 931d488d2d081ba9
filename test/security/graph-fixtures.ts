/** Manifests for the graph attack tests (issue 18, item 4). */

/**
 * `n` RegisteredModels, m<i> depending on m<i-1> (and m0 on m<n-1> when `closed`), in flow style:
 * about 100 bytes a document, 2 MB for 20,000, under the 4 MiB file limit. Document i is on line
 * 2i+1 (documents and `---` alternate); the dependsOn entry starts at column 83 for m100.
 */
export function chain(n: number, closed = false): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const dep = i > 0 ? `RegisteredModel/m${i - 1}` : closed ? `RegisteredModel/m${n - 1}` : undefined;
    const dependsOn = dep ? `, dependsOn: [${dep}]` : '';
    docs.push(
      `{apiVersion: mlform/v1, kind: RegisteredModel, metadata: {name: m${i}${dependsOn}}, spec: {}}`,
    );
  }
  return `${docs.join('\n---\n')}\n`;
}
