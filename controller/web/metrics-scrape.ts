/**
 * `ViewIO.scrapeMetrics`: a local model server's Prometheus text. Endpoint URLs come from the
 * provider's records, which a manifest can influence, so only plain-http loopback URLs are ever
 * fetched (the local provider's servers): never another host, never credentials in a URL.
 */
import { isIP } from 'node:net';

const SCRAPE_TIMEOUT_MS = 1000;
const SCRAPE_MAX_BYTES = 1024 * 1024;

/** The URL when it is `http://` on a loopback host (127.0.0.0/8, ::1, localhost) without userinfo. */
export function loopbackHttpUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || url.username !== '' || url.password !== '') return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  return loopback ? url : undefined;
}

/** The first `max` bytes of a response body, and whether there was more (then it is not read further). */
export async function readUpTo(
  response: Response,
  max: number,
): Promise<{ text: string; truncated: boolean }> {
  const reader = response.body?.getReader();
  if (!reader) return { text: '', truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > max) {
      await reader.cancel();
      return { text: Buffer.concat(chunks).subarray(0, max).toString('utf8'), truncated: true };
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

/** GET `<url>/metrics` of a loopback model server: its text, or undefined on any failure. */
export async function scrapeMetrics(endpointUrl: string): Promise<string | undefined> {
  const base = loopbackHttpUrl(endpointUrl);
  if (!base) return undefined;
  try {
    const response = await fetch(new URL('/metrics', base), {
      redirect: 'manual',
      signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return undefined;
    }
    const read = await readUpTo(response, SCRAPE_MAX_BYTES);
    return read.truncated ? undefined : read.text;
  } catch {
    return undefined;
  }
}
