/**
 * A google-gax (REST fallback) instance for one service that parses the protos it needs once per
 * process, and only those.
 *
 * A client module `require`s its package's whole proto JSON (the Vertex AI one describes some
 * thirty services, 4 MB) and google-gax parses and resolves all of it, for every client: it caches
 * roots under a hash of the JSON text, but resolving a root writes into the JSON it came from, so
 * the second Vertex AI client hashed different text and parsed the file again. Here the root is
 * built from the service's own part of the file (proto-prune.ts) and cached by the JSON object and
 * the service. A JSON without that service (the IAM and Locations mixins' own) is used whole.
 */
import { createRequire } from 'node:module';
import type * as Gax from 'google-gax';
import { pruneToService } from './proto-prune.js';

type Root = Gax.protobuf.Root;

const roots = new WeakMap<object, Map<string, Root>>();
const instances = new Map<string, typeof Gax>();

/**
 * google-gax with `GrpcClient.loadProtoJSON` and `protobufFromJSON` answering from `roots`, for
 * the client of `service` (its full name, e.g. `google.cloud.aiplatform.v1.JobService`).
 */
export function cachedProtoGax(service: string): typeof Gax {
  const cached = instances.get(service);
  if (cached) return cached;
  const gax = createRequire(import.meta.url)('google-gax') as typeof Gax;
  const rootOf = (json: object): Root => {
    let byService = roots.get(json);
    if (!byService) roots.set(json, (byService = new Map()));
    let root = byService.get(service);
    if (!root) {
      root = gax.protobuf.Root.fromJSON(pruneToService(json, service) ?? json);
      byService.set(service, root);
    }
    return root;
  };
  class CachedGrpcClient extends gax.fallback.GrpcClient {
    override loadProtoJSON(json: Gax.protobuf.INamespace): Root {
      return rootOf(json);
    }
    static override protobufFromJSON(json: object): Root {
      return rootOf(json);
    }
  }
  const instance = {
    ...gax,
    fallback: { ...gax.fallback, GrpcClient: CachedGrpcClient, protobufFromJSON: rootOf },
  } as typeof Gax;
  instances.set(service, instance);
  return instance;
}
