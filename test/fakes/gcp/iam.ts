/**
 * `testIamPermissions`, what `mlform check` asks: on a project (Resource Manager v3,
 * `POST /v3/projects/P:testIamPermissions`, the body checked against the SDK's protos) and on a
 * bucket (Cloud Storage JSON API, `GET /b/B/iam/testPermissions?permissions=...`). Both answer the
 * subset of the asked permissions the caller holds: all of them unless a test sets the granted
 * ones (`FakeGcp.setGrantedPermissions`).
 */
import type { FakeEnv } from './env.js';
import { arr, invalid } from './http.js';
import { SEG, type Route } from './router.js';

export class FakeIam {
  /** undefined: every permission is granted. */
  granted: Set<string> | undefined;

  constructor(private readonly env: FakeEnv) {}

  routes(): Route[] {
    return [
      {
        method: 'POST',
        pattern: new RegExp(`^/v3/projects/(?<project>${SEG}):testIamPermissions$`),
        api: 'resourcemanager',
        rpc: 'TestIamPermissions',
        handler: (ctx) => {
          const body = this.env.body(ctx, 'resourcemanager', 'google.iam.v1.TestIamPermissionsRequest', '');
          return { json: { permissions: this.held(arr(body.permissions).map(String)) } };
        },
      },
      {
        method: 'GET',
        pattern: /^(?:\/storage\/v1)?\/b\/(?<bucket>[^/]+)\/iam\/testPermissions$/,
        api: 'storage',
        rpc: 'buckets.testIamPermissions',
        handler: (ctx) => {
          const asked = ctx.query.getAll('permissions');
          if (asked.length === 0) throw invalid('Required parameter: permissions');
          return { json: { kind: 'storage#testIamPermissionsResponse', permissions: this.held(asked) } };
        },
      },
    ];
  }

  private held(asked: readonly string[]): string[] {
    // Google checks the names' form: `service.resource.verb`.
    const bad = asked.find((p) => !/^[a-z]+(\.[A-Za-z]+){2}$/.test(p));
    if (bad !== undefined) throw invalid(`Permission ${bad} is not valid.`);
    return asked.filter((p) => this.granted === undefined || this.granted.has(p));
  }
}
