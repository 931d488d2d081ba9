/** Reads a controller's `/api/status` (for `mlform get --server`); problems come back as diagnostics. */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { ControllerStatusSchema, type ControllerStatus } from './status-schema.js';

const check = TypeCompiler.Compile(ControllerStatusSchema);

export async function fetchControllerStatus(
  server: string,
  timeoutMs = 10_000,
): Promise<{ status?: ControllerStatus; diagnostics: Diagnostic[] }> {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    // The controller's base URL (possibly behind a path prefix), or its /api/status itself.
    if (!url.pathname.endsWith('/api/status'))
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/status`;
  } catch {
    return {
      diagnostics: [
        error('bad-server-url', `--server "${server}" is not an http(s) URL`, {
          hint: 'e.g. --server http://127.0.0.1:8080',
        }),
      ],
    };
  }
  let text: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    text = await response.text();
    if (!response.ok) {
      return {
        diagnostics: [
          error('server-status', `${url.href} answered HTTP ${response.status}: ${text.slice(0, 200)}`),
        ],
      };
    }
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return {
      diagnostics: [
        error(
          'server-unreachable',
          `cannot reach ${url.href}: ${e instanceof Error ? e.message : String(e)}${cause}`,
          {
            hint: 'is `mlform controller` running there? (its --listen address)',
          },
        ),
      ],
    };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {
      diagnostics: [
        error('server-not-json', `${url.href} did not answer JSON: ${JSON.stringify(text.slice(0, 80))}`, {
          hint: 'point --server at an mlform controller, e.g. http://host:8080',
        }),
      ],
    };
  }
  if (!check.Check(body)) {
    const first = check.Errors(body).First();
    return {
      diagnostics: [
        error(
          'server-bad-status',
          `${url.href} answered JSON that is not an mlform controller status${first ? ` (${first.path || '/'}: ${first.message})` : ''}`,
          { hint: 'the controller and this CLI may be different mlform versions' },
        ),
      ],
    };
  }
  return { status: body, diagnostics: [] };
}
