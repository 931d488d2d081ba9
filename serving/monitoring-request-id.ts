/**
 * The request id every predict response carries (`x-mlform-request-id`): the one the client sent
 * when it is short and made of safe characters (it ends up in logs and object contents), else a
 * fresh random one. Feedback names predictions by it.
 */
import { randomUUID } from 'node:crypto';

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function requestIdOf(sent: string | string[] | undefined): string {
  return typeof sent === 'string' && SAFE_ID.test(sent) ? sent : randomUUID();
}
