/**
 * FNV-1a (32 bit) over the UTF-16 code units of a string. Stable across runs, machines and Node
 * versions, which is all hashed one-hot buckets and seed derivation need; it is not a secure hash.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
