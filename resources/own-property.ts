/**
 * Reading a plain object by a key a manifest chose. `record[key]` finds inherited members too, so
 * an alias, label, annotation or metric named `constructor`, `toString` or `valueOf` would read a
 * function of `Object.prototype` where nothing was written (issue 18, item 11c). These helpers see
 * own members only.
 */

/** `record[key]` when `record` has its own member `key`, else undefined. */
export function ownValue<T>(
  record: Readonly<Record<string, T>> | undefined | null,
  key: string,
): T | undefined {
  return record !== undefined && record !== null && Object.hasOwn(record, key) ? record[key] : undefined;
}
