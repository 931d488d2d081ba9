/** Text formats shared by the pages: relative times, numbers, short hashes, durations. */

/** `3 min ago` / `in 2 h`; the absolute time goes in a title beside it (RelTime). */
export function relativeTime(iso: string, now = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((at - now) / 1000);
  const s = Math.abs(seconds);
  if (s < 5) return 'just now';
  const text =
    s < 60
      ? `${s} s`
      : s < 3600
        ? `${Math.floor(s / 60)} min`
        : s < 86_400
          ? `${Math.floor(s / 3600)} h`
          : s < 365 * 86_400
            ? `${Math.floor(s / 86_400)} d`
            : `${Math.floor(s / (365 * 86_400))} y`;
  return seconds < 0 ? `${text} ago` : `in ${text}`;
}

export function absoluteTime(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
}

/** Metric values: 4 significant digits, no exponent for everyday magnitudes. */
export function num(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value !== 0 && (Math.abs(value) >= 1e6 || Math.abs(value) < 1e-3)) return value.toExponential(2);
  return String(Number(value.toPrecision(digits)));
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${num(value * 100, 3)}%`;
}

export function short(hash: string | null | undefined, length = 7): string {
  if (!hash) return '–';
  return hash.replace(/^sha256:/, '').slice(0, length);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function metricsText(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([name, value]) => `${name} ${num(value)}`)
    .join(', ');
}

/** A run's detail after its state word, which is shown beside it already (`succeeded val_mae 2` -> `val_mae 2`). */
export function detailAfterState(run: { state: string; detail: string }): string {
  return run.detail.startsWith(run.state) ? run.detail.slice(run.state.length).trim() : run.detail;
}
