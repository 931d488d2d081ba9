/**
 * Recognising credentials in text, so that mlform can warn about them in manifests and keep them
 * out of what it shows (plans, describe, logs, /api/status). Two tools with different costs of a
 * false positive:
 *
 * - `looksLikeCredential(value)` judges a whole value (an `env` literal): well-known token
 *   prefixes, private keys, URL userinfo, or a long random-looking string. A false positive costs
 *   a warning and a masked value in a plan.
 * - `redactCredentials(text)` rewrites free text (an error message, a log line): URL userinfo,
 *   well-known tokens, `Authorization:` values and private keys are replaced, nothing else. It
 *   deliberately ignores entropy, so that commit hashes, spec hashes and ids stay readable.
 */
import { mapJsonLeaves } from './json-walk.js';

/** Shown instead of a masked value. */
export const MASK = '***';

/**
 * Token formats whose prefix alone says "credential". Matched anywhere in a string (a token is
 * often embedded: `--token=ghp_...`, `Bearer ya29....`).
 */
const TOKEN_PATTERNS: readonly RegExp[] = [
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g, // GitHub fine-grained tokens
  /\bglpat-[A-Za-z0-9_-]{16,}/g, // GitLab personal access tokens
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /\bsk-[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic and others
  /\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe
  /\bhf_[A-Za-z0-9]{20,}/g, // Hugging Face
  /\bnpm_[A-Za-z0-9]{30,}/g, // npm
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bAIza[0-9A-Za-z_-]{35}/g, // Google API keys
  /\bya29\.[0-9A-Za-z._-]{10,}/g, // Google OAuth access tokens
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JWTs
];

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
/**
 * `scheme://user:password@host` or `scheme://token@host`: everything between `//` and `@`. The
 * bounded repeats keep it linear on hostile text (`a.a.a.a...` would otherwise rescan per dot).
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)[^/\s@]{1,1024}@/gi;
/** `Authorization: Basic ...`, `Bearer ...` (http.extraHeader values, curl-style messages). */
const AUTHORIZATION = /\b(authorization:\s*(?:basic|bearer|token)\s+)[^\s'"]+/gi;
const BEARER = /\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;

/** Shannon entropy in bits per character. */
function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Minimum length of a string judged random-looking by its entropy alone. */
export const RANDOM_MIN_LENGTH = 20;
/** Bits per character above which a mixed-case alphanumeric string is judged random. */
export const RANDOM_MIN_ENTROPY = 4;

/**
 * A long string of token characters with upper case, lower case and digits and at least
 * RANDOM_MIN_ENTROPY bits per character: a base64 or base62 secret. Hex (hashes, commit ids),
 * UUIDs, paths, URLs and words are not judged random.
 */
function looksRandom(value: string): boolean {
  if (value.length < RANDOM_MIN_LENGTH || !/^[A-Za-z0-9+/=_.-]+$/.test(value)) return false;
  if (!/[a-z]/.test(value) || !/[A-Z]/.test(value) || !/[0-9]/.test(value)) return false;
  return entropy(value) >= RANDOM_MIN_ENTROPY;
}

const matchesAny = (value: string, patterns: readonly RegExp[]): boolean =>
  patterns.some((p) => {
    p.lastIndex = 0;
    return p.test(value);
  });

/** Why a value looks like a credential, or undefined when it does not. */
export function credentialKind(value: string): string | undefined {
  if (matchesAny(value, [PRIVATE_KEY])) return 'a private key';
  if (matchesAny(value, TOKEN_PATTERNS)) return 'a well-known token format';
  if (matchesAny(value, [URL_USERINFO])) return 'a URL with credentials';
  if (matchesAny(value, [AUTHORIZATION, BEARER])) return 'an authorization header';
  if (looksRandom(value.trim())) return 'a long random-looking string';
  return undefined;
}

export const looksLikeCredential = (value: string): boolean => credentialKind(value) !== undefined;

/**
 * Free text with URL userinfo, well-known tokens, authorization values and private keys replaced
 * by `***`. The rest of the text is kept, so messages stay useful.
 */
export function redactCredentials(text: string): string {
  let out = text.replace(PRIVATE_KEY, `-----BEGIN PRIVATE KEY-----${MASK}`);
  out = out.replace(URL_USERINFO, `$1${MASK}@`);
  out = out.replace(AUTHORIZATION, `$1${MASK}`).replace(BEARER, `$1${MASK}`);
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, MASK);
  return out;
}

/**
 * A JSON value for display: every string that looks like a credential as a whole becomes `***`,
 * every other string has embedded credentials redacted. Object keys are kept.
 */
export function maskCredentials<T>(value: T): T {
  return maskValue(value) as T;
}

function maskValue(value: unknown): unknown {
  return mapJsonLeaves(value, (v) =>
    typeof v === 'string' ? (looksLikeCredential(v) ? MASK : redactCredentials(v)) : v,
  );
}
