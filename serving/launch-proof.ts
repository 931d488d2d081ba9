/**
 * How a serving process proves it is the one its launcher started (issue 18, item 7). A port is
 * only a number: once the process that held it is gone, any local user can bind it and answer
 * `200` to the launcher's health checks. So the launcher gives each launch a random key privately
 * (an environment variable, readable only by the same user, never an argument) and keeps it in
 * its 0600 state; a health check sends a fresh random challenge and accepts only an answer that
 * carries HMAC-SHA256(key, challenge). A squatter, or anyone who overheard an earlier answer,
 * cannot produce it. Kept free of tfjs so the provider can import it cheaply.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The variable that carries the key; `mlform serve` reads it once and deletes it from its env. */
export const PROOF_KEY_ENV = 'MLFORM_SERVE_PROOF_KEY';
/** Request header: the challenge (hex). */
export const CHALLENGE_HEADER = 'x-mlform-challenge';
/** Response header on the health routes: the HMAC of the challenge (hex). */
export const PROOF_HEADER = 'x-mlform-proof';

const HEX = /^[0-9a-f]{32,128}$/;

/** A key for one launch: 32 random bytes, hex. */
export const newProofKey = (): string => randomBytes(32).toString('hex');

/** A challenge for one health request: 16 random bytes, hex. */
export const newChallenge = (): string => randomBytes(16).toString('hex');

/** Whether a key or a challenge has the shape we issue (anything else is not answered). */
export const isProofToken = (value: string | undefined): value is string =>
  value !== undefined && HEX.test(value);

/** The answer to a challenge. */
export const proofFor = (key: string, challenge: string): string =>
  createHmac('sha256', key).update(challenge).digest('hex');

/** Whether `proof` answers `challenge` under `key` (constant time). */
export function verifyProof(key: string, challenge: string, proof: string | undefined): boolean {
  if (proof === undefined) return false;
  const expected = Buffer.from(proofFor(key, challenge), 'utf8');
  const given = Buffer.from(proof, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
