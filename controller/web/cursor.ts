/**
 * Page cursors of the list documents (overview, schedules): the offset of the next page as
 * base64url. Opaque to clients so the paging scheme can change; decoded strictly so a forged
 * cursor is a 400 naming the field, not a silent first page.
 */

export const encodeCursor = (offset: number): string =>
  Buffer.from(String(offset), 'utf8').toString('base64url');

/** The offset a cursor encodes; undefined when it is not one this API made. */
export function decodeCursor(cursor: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^(0|[1-9]\d{0,8})$/.test(text)) return undefined;
  return Number(text);
}

/** The page `[offset, offset + limit)` of `items`, and the cursor of the next page (null on the last). */
export function page<T>(
  items: readonly T[],
  offset: number,
  limit: number,
): { items: T[]; nextCursor: string | null } {
  const end = offset + limit;
  return { items: items.slice(offset, end), nextCursor: end < items.length ? encodeCursor(end) : null };
}
