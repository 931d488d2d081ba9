/**
 * The list calls of an observation over HTTPS and JSON, answered exactly as google-gax's REST
 * transport answers them (README.md "Start-up"). A plan makes ~14 list calls and nothing else;
 * loading google-gax and five SDK clients for them cost a third of a 1,000-resource plan. Here a
 * list is one GET with the caller's token, and its JSON is decoded with the same protobufjs types,
 * the same proto3-json-serializer and the same `toObject` options gax uses (gax's own copies), so
 * the items are the objects the SDK would have returned (test/providers/gcp/rest-lists.test.ts
 * compares the two on every listed kind). Every other method goes to the real SDK client, built
 * on first use as before.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientName, ClientSettings, GcpClients } from './clients.js';
import { EMULATOR_TOKEN } from './clients.js';
import { pruneToTypes } from './proto-prune.js';

/** One list RPC: where it is served and how its answer is decoded. */
interface ListRpc {
  /** Host of the API (Google) before the emulator override. */
  host: (settings: ClientSettings) => string;
  /** `/v1/{parent}/customJobs` from the request. */
  path: (parent: string) => string;
  /** The package's proto JSON and the response message (full name). */
  protos: string;
  response: string;
  /** The response field holding the page's items. */
  items: string;
}

/**
 * A list RPC whose path ends in its collection, whose response message is `List<Name>Response` in
 * `pkg` and whose items field is the collection's name (all of them follow Google's AIP-132).
 */
const listRpc = (
  host: (s: ClientSettings) => string,
  version: string,
  protos: string,
  pkg: string,
  collection: string,
): ListRpc => ({
  host,
  path: (parent) => `/${version}/${parent}/${collection}`,
  protos,
  response: `${pkg}.List${collection[0].toUpperCase()}${collection.slice(1)}Response`,
  items: collection,
});

const VERTEX = '@google-cloud/aiplatform/build/protos/protos.json';
const vertex = (region: (s: ClientSettings) => string, collection: string) =>
  listRpc(
    (s) => `${region(s)}-aiplatform.googleapis.com`,
    'v1',
    VERTEX,
    'google.cloud.aiplatform.v1',
    collection,
  );

/** Client -> method -> its REST form. Only these are made here. */
const RPCS: Partial<Record<ClientName, Record<string, ListRpc>>> = {
  jobs: {
    listCustomJobs: vertex((s) => s.trainingRegion, 'customJobs'),
    listHyperparameterTuningJobs: vertex((s) => s.trainingRegion, 'hyperparameterTuningJobs'),
  },
  models: { listModels: vertex((s) => s.region, 'models') },
  services: {
    listServices: listRpc(
      () => 'run.googleapis.com',
      'v2',
      '@google-cloud/run/build/protos/protos.json',
      'google.cloud.run.v2',
      'services',
    ),
  },
  scheduler: {
    listJobs: listRpc(
      () => 'cloudscheduler.googleapis.com',
      'v1',
      '@google-cloud/scheduler/build/protos/protos.json',
      'google.cloud.scheduler.v1',
      'jobs',
    ),
  },
};

/**
 * The protos of `rpc`'s response message and what it reaches: written by the build (`npm run
 * build`, scripts/prune-protos.mjs) beside this module, used while the SDK package has the version
 * they were cut from; otherwise cut now from the package's whole file (4 MB for Vertex AI: parsing
 * it was ~30 ms of every plan).
 */
function responseProtos(rpc: Pick<ListRpc, 'protos' | 'response'>): object {
  const version = sdkVersion(rpc.protos);
  try {
    const built = JSON.parse(readFileSync(prunedProtosFile(rpc.response), 'utf8')) as PrunedProtos;
    if (built.package === rpc.protos && built.version === version) return built.json;
  } catch {
    // not built (sources under a test runner) or unreadable: cut below
  }
  return cutProtos(rpc);
}

interface PrunedProtos {
  package: string;
  version: string;
  json: object;
}

const cutProtos = (rpc: Pick<ListRpc, 'protos' | 'response'>): object => {
  const json = createRequire(import.meta.url)(rpc.protos) as object;
  return pruneToTypes(json, [rpc.response]) ?? json;
};

/** The version of the SDK package a proto JSON belongs to (`<package>/build/protos/protos.json`). */
function sdkVersion(protos: string): string {
  const file = createRequire(import.meta.url).resolve(protos);
  const pkg = JSON.parse(readFileSync(join(dirname(file), '..', '..', 'package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '';
}

const prunedProtosFile = (response: string) =>
  fileURLToPath(new URL(`./protos/${response}.json`, import.meta.url));

/** Build step: the protos of each list response, cut from their packages (scripts/prune-protos.mjs). */
export async function writePrunedProtos(): Promise<string[]> {
  const seen = new Map<string, ListRpc>();
  for (const rpcs of Object.values(RPCS)) for (const rpc of Object.values(rpcs)) seen.set(rpc.response, rpc);
  const written: string[] = [];
  for (const rpc of seen.values()) {
    const file = prunedProtosFile(rpc.response);
    await mkdir(dirname(file), { recursive: true });
    const out: PrunedProtos = { package: rpc.protos, version: sdkVersion(rpc.protos), json: cutProtos(rpc) };
    await writeFile(file, JSON.stringify(out));
    written.push(file);
  }
  return written;
}

/** google-gax's `defaultToObjectOptions` (fallback.ts): what its REST transport hands out. */
const TO_OBJECT = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };
const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];

interface ProtoType {
  toObject(message: unknown, options: typeof TO_OBJECT): Record<string, unknown>;
}
interface ProtoRoot {
  resolveAll(): ProtoRoot;
  lookupType(name: string): ProtoType;
}
interface Libraries {
  Root: { fromJSON(json: object): ProtoRoot };
  fromProto3JSON(type: ProtoType, json: unknown): unknown;
}
interface RequestOptions {
  timeout?: number;
}

/** gax's own protobufjs and proto3-json-serializer, without loading gax itself. */
function gaxLibraries(): Libraries {
  const require = createRequire(import.meta.url);
  const gaxRequire = createRequire(require.resolve('google-gax'));
  const protobuf = gaxRequire('protobufjs') as { Root: Libraries['Root'] };
  const serializer = gaxRequire('proto3-json-serializer') as Pick<Libraries, 'fromProto3JSON'>;
  return { Root: protobuf.Root, fromProto3JSON: serializer.fromProto3JSON };
}

/**
 * `clients` with their list methods (RPCS) and Cloud Storage's `bucket(b).getFiles()` made over
 * HTTPS; everything else is the SDK client's own method.
 */
export function withRestLists(clients: GcpClients, settings: ClientSettings): GcpClients {
  let libraries: Libraries | undefined;
  const types = new Map<string, ProtoType>();
  const typeOf = (rpc: ListRpc): { libs: Libraries; type: ProtoType } => {
    const libs = (libraries ??= gaxLibraries());
    const key = rpc.response;
    let type = types.get(key);
    if (!type) {
      const root = libs.Root.fromJSON(responseProtos(rpc)).resolveAll();
      type = root.lookupType(rpc.response);
      types.set(key, type);
    }
    return { libs, type };
  };

  // Google: google-auth-library's own request (gaxios: the token, HTTPS_PROXY, what the SDK
  // clients send through). An emulator: plain HTTP with the fixed token the SDK clients send it.
  let transport: Transport | undefined;
  const origin = (host: string) =>
    settings.endpoint ? new URL(settings.endpoint).origin : `https://${host}`;

  const get = async (url: string, options: RequestOptions, authorized = true): Promise<unknown> => {
    transport ??= settings.endpoint ? emulatorTransport : googleTransport();
    const { status, body } = await transport(url, authorized, options.timeout);
    // Google's JSON error body in the message, the HTTP status as the code: what call.ts classifies.
    if (status < 200 || status > 299) throw Object.assign(new Error(`${status} ${body}`), { code: status });
    return JSON.parse(body) as unknown;
  };

  const list = async (rpc: ListRpc, request: Record<string, unknown>, options: RequestOptions) => {
    const { parent, ...query } = request;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    const url = `${origin(rpc.host(settings))}${rpc.path(String(parent))}?${params}`;
    const json = await get(url, options);
    const { libs, type } = typeOf(rpc);
    const response = type.toObject(libs.fromProto3JSON(type, json), TO_OBJECT);
    // As gax's paged calls answer with autoPaginate off: the items, the next request, the response.
    const token = response.nextPageToken;
    const next = typeof token === 'string' && token !== '' ? { ...request, pageToken: token } : null;
    return [response[rpc.items] ?? [], next, response];
  };

  /** `bucket(b).getFiles(query)` as @google-cloud/storage answers it, each file as name + metadata. */
  const getFiles = async (bucket: string, query: Record<string, unknown>, options: RequestOptions) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (k !== 'autoPaginate' && v !== undefined && v !== null) params.set(k, String(v));
    }
    const url = `${origin('storage.googleapis.com')}/storage/v1/b/${encodeURIComponent(bucket)}/o?${params}`;
    // An emulator's Cloud Storage gets no token, as clients.ts builds the Storage client.
    const json = (await get(url, options, !settings.endpoint)) as {
      items?: { name: string }[];
      nextPageToken?: string;
    };
    const files = (json.items ?? []).map((item) => ({ name: item.name, metadata: item }));
    const next = json.nextPageToken ? { ...query, pageToken: json.nextPageToken } : null;
    return [files, next, json];
  };

  const out = { close: () => clients.close() } as GcpClients;
  for (const name of Object.keys(clients) as (ClientName | 'close')[]) {
    if (name === 'close') continue;
    const rpcs = RPCS[name];
    const real = () => clients[name] as unknown as Record<string, unknown>;
    const view =
      name === 'storage'
        ? storageView(real, getFiles)
        : new Proxy(
            {},
            {
              get: (_, method) => {
                const rpc = typeof method === 'string' ? rpcs?.[method] : undefined;
                if (rpc) {
                  return (request: Record<string, unknown>, options: RequestOptions = {}) =>
                    list(rpc, request, options);
                }
                const value = real()[method as string];
                return typeof value === 'function'
                  ? (value as (...a: unknown[]) => unknown).bind(real())
                  : value;
              },
            },
          );
    Object.defineProperty(out, name, { value: view, enumerable: true });
  }
  return out;
}

/** Storage whose `bucket(b).getFiles()` is listed here; every other use is the real client's. */
function storageView(
  real: () => Record<string, unknown>,
  getFiles: (bucket: string, query: Record<string, unknown>, options: RequestOptions) => Promise<unknown>,
): object {
  return new Proxy(
    {},
    {
      get: (_, method) => {
        if (method === 'bucket') {
          return (bucket: string, ...rest: unknown[]) =>
            new Proxy(
              {},
              {
                get: (__, inner) => {
                  if (inner === 'getFiles') {
                    return (query: Record<string, unknown> = {}) => getFiles(bucket, query, {});
                  }
                  const handle = (real().bucket as (...a: unknown[]) => Record<string, unknown>)(
                    bucket,
                    ...rest,
                  );
                  const value = handle[inner as string];
                  return typeof value === 'function'
                    ? (value as (...a: unknown[]) => unknown).bind(handle)
                    : value;
                },
              },
            );
        }
        const value = real()[method as string];
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real()) : value;
      },
    },
  );
}

/** One GET: the status and the body's text; a failure to connect is thrown. */
type Transport = (
  url: string,
  authorized: boolean,
  timeout?: number,
) => Promise<{ status: number; body: string }>;

const API_CLIENT = { 'x-goog-api-client': `gl-node/${process.versions.node} mlform` };

/** An emulator (`MLFORM_GCP_API_ENDPOINT`, http://): node:http, the emulator token (clients.ts). */
const emulatorTransport: Transport = (url, authorized, timeout) =>
  new Promise((resolve, reject) => {
    const request = httpGet(
      url,
      {
        headers: { ...API_CLIENT, ...(authorized && { Authorization: `Bearer ${EMULATOR_TOKEN}` }) },
        ...(timeout !== undefined && { signal: AbortSignal.timeout(timeout) }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });

/** Google: Application Default Credentials through gax's google-auth-library (the SDK clients' copy). */
function googleTransport(): Transport {
  const require = createRequire(import.meta.url);
  const gaxRequire = createRequire(require.resolve('google-gax'));
  const { GoogleAuth } = gaxRequire('google-auth-library') as {
    GoogleAuth: new (o: object) => AuthRequester;
  };
  const auth = new GoogleAuth({ scopes: SCOPES });
  // A network failure is gaxios's own error ("request to URL failed, reason: ...", the errno as
  // its code): errors.ts names the host from it, as for the SDK clients.
  return async (url, _authorized, timeout) => {
    const response = await auth.request({
      url,
      headers: API_CLIENT,
      responseType: 'text',
      validateStatus: () => true,
      ...(timeout !== undefined && { timeout }),
    });
    const body = typeof response.data === 'string' ? response.data : JSON.stringify(response.data);
    return { status: response.status, body };
  };
}

interface AuthRequester {
  request(options: object): Promise<{ status: number; data: unknown }>;
}
