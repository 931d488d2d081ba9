/**
 * How long and how many: the bounds every mlform HTTP server (the model server and the
 * controller's status server) puts on its connections, so that a slow or idle client cannot hold
 * sockets for minutes (slowloris: headers one byte at a time, or a body trickled in).
 *
 * Node enforces header and request timeouts from a periodic sweep (`connectionsCheckingInterval`,
 * 30 s by default), so a 10 s bound could bite after 40 s; the sweep here runs at a quarter of the
 * shortest bound, at most every second. A connection cut by a timeout gets `408` when it can
 * still take a response.
 *
 * Kept free of the model server's dependencies: the controller imports this file alone.
 */
import type { Server, ServerOptions } from 'node:http';

export interface ConnectionBounds {
  /** Request line and headers must arrive within this (from the first byte, or from the connection). */
  headersTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this; the response time is not counted. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this many are closed as they arrive. */
  maxConnections: number;
}

/** Model server defaults: bodies of up to 10 MiB from slow mobile links; Cloud Run's 1,000 concurrency. */
export const SERVING_BOUNDS: ConnectionBounds = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
};

/** Controller defaults: probes, scrapes, webhooks and status reads are small and few. */
export const CONTROLLER_BOUNDS: ConnectionBounds = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
};

/** The sweep period: a quarter of the shortest bound, between 50 ms and 1 s. */
export function checkingIntervalMs(bounds: ConnectionBounds): number {
  const shortest = Math.min(bounds.headersTimeoutMs, bounds.requestTimeoutMs);
  return Math.max(50, Math.min(1000, Math.floor(shortest / 4)));
}

/**
 * Options for `http.createServer`. Node refuses a headers timeout longer than the request timeout,
 * so it is clamped to it.
 */
export function serverOptions(bounds: ConnectionBounds): ServerOptions {
  return {
    requestTimeout: bounds.requestTimeoutMs,
    headersTimeout: Math.min(bounds.headersTimeoutMs, bounds.requestTimeoutMs),
    keepAliveTimeout: bounds.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(bounds),
  };
}

/** What `createServer` options cannot set. */
export function applyBounds(server: Server, bounds: ConnectionBounds): void {
  server.maxConnections = bounds.maxConnections;
}
