/**
 * GitHub push webhooks: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` with a
 * shared secret. The secret comes from a file or the environment and never reaches a log line or
 * a response; comparison is constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { errorMessage } from '../../resources/error-message.js';

export const WEBHOOK_SECRET_ENV = 'MLFORM_WEBHOOK_SECRET';

export type SignatureCheck = 'valid' | 'missing' | 'invalid';

export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function verifySignature(
  secret: string,
  body: Buffer,
  header: string | string[] | undefined,
): SignatureCheck {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return 'missing';
  const match = /^sha256=([0-9a-f]{64})$/i.exec(value.trim());
  if (!match) return 'invalid';
  const given = Buffer.from(match[1], 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  // Equal lengths are guaranteed by the pattern; timingSafeEqual would throw otherwise.
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'valid' : 'invalid';
}

/** `--webhook-secret-file` wins over the environment; neither means the webhook is disabled. */
export async function loadWebhookSecret(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ secret?: string; diagnostics: Diagnostic[] }> {
  if (file) {
    try {
      const secret = (await readFile(file, 'utf8')).trim();
      if (!secret) {
        return { diagnostics: [error('webhook-secret-empty', `the webhook secret file ${file} is empty`)] };
      }
      return { secret, diagnostics: [] };
    } catch (e) {
      return {
        diagnostics: [
          error(
            'webhook-secret-unreadable',
            `cannot read the webhook secret file ${file}: ${errorMessage(e)}`,
          ),
        ],
      };
    }
  }
  const fromEnv = env[WEBHOOK_SECRET_ENV]?.trim();
  return fromEnv ? { secret: fromEnv, diagnostics: [] } : { diagnostics: [] };
}
