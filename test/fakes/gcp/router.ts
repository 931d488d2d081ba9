/** Route table: method + path pattern -> API, RPC name and handler. */
import type { Api, HandlerContext, HandlerResult } from './http.js';

export interface Route {
  method: string;
  /** Matched against the raw (percent-encoded) path; named groups are decoded into ctx.params. */
  pattern: RegExp;
  api: Api;
  rpc: string;
  handler: (ctx: HandlerContext) => HandlerResult | Promise<HandlerResult>;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: Route[] = [];

  add(...routes: Route[]): void {
    this.routes.push(...routes);
  }

  match(method: string, rawPath: string): RouteMatch | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(rawPath);
      if (!m) continue;
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) {
        if (v !== undefined) params[k] = safeDecode(v);
      }
      return { route, params };
    }
    return undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `[^/]+` segment without ':' (so `models/1:listVersions` splits). */
export const SEG = '[^/:]+';
/** `projects/P/locations/L` prefix as named groups. */
export const PL = `projects/(?<project>${SEG})/locations/(?<location>${SEG})`;
