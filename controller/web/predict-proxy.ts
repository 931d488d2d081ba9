/**
 * The endpoint page's "send a sample request": `POST /api/v1/deployedendpoints/:name/predict`
 * forwards the JSON body to the endpoint's own predict path. Only the request body comes from the
 * client: the host is the URL the provider reported and the path is fixed by the endpoint (the
 * model server's `/v1/models/<model>:predict`, or the serving container's `predictPath`). Only
 * plain-http loopback URLs (local provider) are called, so the dashboard never becomes a proxy to
 * other hosts (gcp endpoints need an identity token this server does not hold).
 */
import { closest } from '../../resources/suggest.js';
import type { ApiError, PredictResult } from './api.js';
import { loopbackHttpUrl, readUpTo } from './metrics-scrape.js';
import type { StackSnapshot } from './snapshot.js';

/** Largest sample request accepted, and largest part of the answer passed back. */
export const PREDICT_MAX_BYTES = 64 * 1024;
const PREDICT_TIMEOUT_MS = 10_000;

export type PredictAnswer =
  { status: 200; result: PredictResult } | { status: 400 | 404 | 409 | 502; error: ApiError };

/** Forwards `body` to endpoint `name` of the snapshot; `body` is at most PREDICT_MAX_BYTES. */
export async function forwardPredict(
  snapshot: StackSnapshot,
  name: string,
  body: Buffer,
  timeoutMs = PREDICT_TIMEOUT_MS,
): Promise<PredictAnswer> {
  const endpoint = snapshot.observed.endpoints.find((e) => e.name === name);
  if (!endpoint) {
    const match = closest(
      name,
      snapshot.observed.endpoints.map((e) => e.name),
    );
    return {
      status: 404,
      error: {
        error: `DeployedEndpoint "${name}" does not exist in stack ${snapshot.stack}`,
        ...(match !== undefined && { hint: `did you mean "${match}"?` }),
      },
    };
  }
  const base = endpoint.url === undefined ? undefined : loopbackHttpUrl(endpoint.url);
  if (!base) {
    return {
      status: 409,
      error: {
        error: `sample requests are sent only to local endpoints; DeployedEndpoint "${name}" is ${endpoint.url === undefined ? 'not serving yet' : 'not on this host'}`,
        hint:
          snapshot.provider === 'gcp'
            ? 'call the Cloud Run URL with an identity token: curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" ...'
            : 'wait until the endpoint is serving (mlform get deployedendpoints)',
      },
    };
  }
  try {
    JSON.parse(body.toString('utf8'));
  } catch {
    return {
      status: 400,
      error: {
        error: 'the request body is not JSON',
        field: 'body',
        hint: 'e.g. {"instances": [[1, 2, 3]]}',
      },
    };
  }
  const path =
    endpoint.spec.container?.predictPath ?? `/v1/models/${encodeURIComponent(endpoint.model)}:predict`;
  const target = new URL(`${base.origin}${path.startsWith('/') ? path : `/${path}`}`);
  // The path is the manifest's: it must not move the request to another host (`//host/...`).
  if (target.origin !== base.origin) {
    return {
      status: 409,
      error: { error: `the predict path of DeployedEndpoint "${name}" is not a path on its server` },
    };
  }
  const started = performance.now();
  try {
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const read = await readUpTo(response, PREDICT_MAX_BYTES);
    return {
      status: 200,
      result: {
        status: response.status,
        body: read.text,
        durationMs: Math.round(performance.now() - started),
      },
    };
  } catch (e) {
    const timedOut = e instanceof Error && e.name === 'TimeoutError';
    return {
      status: 502,
      error: {
        error: timedOut
          ? `DeployedEndpoint "${name}" did not answer within ${timeoutMs / 1000}s`
          : `DeployedEndpoint "${name}" did not answer: its server is not reachable`,
        hint: 'check it with mlform describe deployedendpoint/' + name,
      },
    };
  }
}
