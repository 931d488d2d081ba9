/** Reads a controller's `/api/status` (for `mlform get --server`); problems come back as diagnostics. */
import { readFile } from 'node:fs/promises';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { ControllerStatusSchema, type ControllerStatus } from './status-schema.js';
import { errorMessage } from '../../resources/error-message.js';

const check = TypeCompiler.Compile(ControllerStatusSchema);

/** The token `mlform get --server` sends, when no --token-file is given. */
export const SERVER_TOKEN_ENV = { file: 'MLFORM_SERVER_TOKEN_FILE', value: 'MLFORM_SERVER_TOKEN' } as const;

const TOKEN_HINT = `give --token-file FILE (the controller's --auth-token-file), or set $${SERVER_TOKEN_ENV.file} or $${SERVER_TOKEN_ENV.value}`;

/** `--token-file`, then $MLFORM_SERVER_TOKEN_FILE, then $MLFORM_SERVER_TOKEN; none: no token. */
export async function loadClientToken(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ token?: string; diagnostics: Diagnostic[] }> {
  const path = file ?? (env[SERVER_TOKEN_ENV.file]?.trim() || undefined);
  if (path) {
    try {
      const token = (await readFile(path, 'utf8')).trim();
      if (token) return { token, diagnostics: [] };
      return { diagnostics: [error('server-token-empty', `the token file ${path} is empty`)] };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return {
        diagnostics: [
          error('server-token-unreadable', `cannot read the token file ${path}${code ? ` (${code})` : ''}`),
        ],
      };
    }
  }
  const value = env[SERVER_TOKEN_ENV.value]?.trim();
  return value ? { token: value, diagnostics: [] } : { diagnostics: [] };
}

export async function fetchControllerStatus(
  server: string,
  options: { token?: string; timeoutMs?: number } = {},
): Promise<{ status?: ControllerStatus; diagnostics: Diagnostic[] }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
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
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      // A redirect would carry the token to wherever the answer points.
      redirect: 'manual',
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    });
    text = await response.text();
    if (response.status === 401) {
      return {
        diagnostics: [
          error(
            'server-unauthorized',
            options.token
              ? `${url.href} refused the token (HTTP 401): it does not match the controller's --auth-token-file`
              : `${url.href} requires a bearer token (HTTP 401)`,
            { hint: TOKEN_HINT },
          ),
        ],
      };
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      return {
        diagnostics: [
          error(
            'server-redirect',
            `${url.href} redirects (HTTP ${response.status}); the token is not sent on`,
            {
              hint: location ? `point --server at the final address (${location.slice(0, 200)})` : undefined,
            },
          ),
        ],
      };
    }
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
        error('server-unreachable', `cannot reach ${url.href}: ${errorMessage(e)}${cause}`, {
          hint: 'is `mlform controller` running there? (its --listen address)',
        }),
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
