/**
 * A google-gax (REST fallback) instance that parses each API's proto JSON once per process.
 *
 * google-gax caches parsed roots under a hash of the JSON text, but resolving a root writes into
 * the JSON it came from (the Operations HTTP rules, field options), so the second Vertex AI client
 * hashed different text and parsed the 1.5 MB file again (~40 % of a plan's start-up). Here the key
 * is the JSON object itself (each client module `require`s its package's one protos.json), and the
 * Vertex AI file is parsed without its v1beta1 half, which the v1 clients never reference (an
 * unresolvable type would throw while parsing, so a test run proves it).
 */
import { createRequire } from 'node:module';
import type * as Gax from 'google-gax';

type Root = Gax.protobuf.Root;
type Json = { nested?: Record<string, Json> } & Record<string, unknown>;

const roots = new WeakMap<object, Root>();

/** `json` with `google.cloud.aiplatform.v1beta1` left out (a shallow copy along that path). */
function withoutAiplatformBeta(json: Json): Json {
  const google = json.nested?.google;
  const cloud = google?.nested?.cloud;
  const aiplatform = cloud?.nested?.aiplatform;
  if (!google || !cloud || !aiplatform?.nested?.v1beta1 || !aiplatform.nested.v1) return json;
  const { v1beta1: _beta, ...versions } = aiplatform.nested;
  return {
    ...json,
    nested: {
      ...json.nested,
      google: {
        ...google,
        nested: {
          ...google.nested,
          cloud: { ...cloud, nested: { ...cloud.nested, aiplatform: { ...aiplatform, nested: versions } } },
        },
      },
    },
  };
}

let instance: typeof Gax | undefined;

/** google-gax with `GrpcClient.loadProtoJSON` and `protobufFromJSON` answering from `roots`. */
export function cachedProtoGax(): typeof Gax {
  if (instance) return instance;
  const gax = createRequire(import.meta.url)('google-gax') as typeof Gax;
  const rootOf = (json: object): Root => {
    let root = roots.get(json);
    if (!root) {
      root = gax.protobuf.Root.fromJSON(withoutAiplatformBeta(json as Json));
      roots.set(json, root);
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
  instance = {
    ...gax,
    fallback: { ...gax.fallback, GrpcClient: CachedGrpcClient, protobufFromJSON: rootOf },
  } as typeof Gax;
  return instance;
}
