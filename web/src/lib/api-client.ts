/**
 * Requests to the dashboard API of the same origin: the bearer token from sessionStorage on every
 * one, a 401 asks for sign-in (the login form), error bodies become `ApiFailure`s.
 */
import type { ApiError } from '../../../controller/web/api.js';
import { createStore } from './store.js';

const TOKEN_KEY = 'mlform.token';

/** Whether the server refused the token (or wants one): the app shows the login form. */
export const signInNeeded = createStore(false);
/** Bumped when a token is stored, so streams reconnect with it. */
export const authEpoch = createStore(0);

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  signInNeeded.set(false);
  authEpoch.set(authEpoch.get() + 1);
}

/** Whether a token is stored (a 401 then means it was refused, not missing). */
export function hasToken(): boolean {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

export function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(body.error);
  }
}

/** Reads an error body; servers and proxies may answer something other than JSON. */
export async function failureOf(response: Response): Promise<ApiFailure> {
  const text = await response.text().catch(() => '');
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object' && typeof (body as ApiError).error === 'string') {
      const { error, field, hint } = body as ApiError;
      return new ApiFailure(response.status, {
        error,
        ...(typeof field === 'string' ? { field } : {}),
        ...(typeof hint === 'string' ? { hint } : {}),
      });
    }
  } catch {
    // not JSON: fall through to the status line
  }
  return new ApiFailure(response.status, {
    error: `${response.status} ${response.statusText || 'error'}`.trim(),
  });
}

/** fetch with the token; a 401 raises the login form and throws. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  if (response.status === 401) signInNeeded.set(true);
  if (!response.ok) throw await failureOf(response);
  return response;
}
