/**
 * The launch proof (issue 18, item 7): with a key, the health routes answer a well-formed
 * challenge with HMAC-SHA256(key, challenge); nothing else carries a proof, and a server without
 * the key (or a recorded answer replayed to another challenge) does not verify.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHALLENGE_HEADER,
  newChallenge,
  newProofKey,
  PROOF_HEADER,
  verifyProof,
  type ModelServer,
} from '../../serving/index.js';
import { startServer, tempDir, trainArtifact, type TinyArtifact } from './helpers.js';

let dir: { path: string; remove(): Promise<void> };
let cars: TinyArtifact;
const key = newProofKey();
const servers: ModelServer[] = [];

beforeAll(async () => {
  dir = await tempDir();
  cars = await trainArtifact('cars', dir.path);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
  await dir?.remove();
});

async function proofOf(url: string, challenge: string): Promise<{ status: number; proof: string | null }> {
  const response = await fetch(url, { headers: { [CHALLENGE_HEADER]: challenge } });
  await response.arrayBuffer();
  return { status: response.status, proof: response.headers.get(PROOF_HEADER) };
}

describe('launch proof', () => {
  it('health routes prove the key; other routes, malformed challenges and keyless servers do not', async () => {
    const { server, url } = await startServer(
      { name: 'mpg', versions: [{ version: 1, uri: cars.dir }] },
      { proofKey: key },
    );
    const keyless = await startServer({ name: 'mpg', versions: [{ version: 1, uri: cars.dir }] });
    servers.push(server, keyless.server);

    const challenge = newChallenge();
    for (const route of ['/v2/health/live', '/v2/health/ready', '/v2/models/mpg/ready']) {
      const answer = await proofOf(`${url}${route}`, challenge);
      expect(answer.status).toBe(200);
      // Independently computed: the HMAC a launcher expects.
      expect(answer.proof).toBe(createHmac('sha256', key).update(challenge).digest('hex'));
      expect(verifyProof(key, challenge, answer.proof ?? undefined)).toBe(true);
      // A recorded answer does not answer another challenge.
      expect(verifyProof(key, newChallenge(), answer.proof ?? undefined)).toBe(false);
    }
    expect((await proofOf(`${url}/v1/models/mpg`, challenge)).proof).toBeNull();
    expect((await proofOf(`${url}/v2/health/live`, 'not-hex; x')).proof).toBeNull();
    expect((await proofOf(`${keyless.url}/v2/health/live`, challenge)).proof).toBeNull();
  });
});
