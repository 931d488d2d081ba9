/** `--poll 2s`, `--resync 3m`, `--lease-ttl 1500ms`: durations as people write them. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when the text is not `<number><ms|s|m|h>` (a bare number is seconds). */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS[match[2] ?? 's'];
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined;
}
