/**
 * Vertex AI TensorboardService: CreateTensorboard (a long-running operation), ListTensorboards
 * (labels and display_name filters) and GetTensorboard. Only the instances; experiments, runs and
 * event uploads are Vertex's own business once a CustomJob names an instance.
 */
import type { FakeEnv } from './env.js';
import { ApiError, deepClone, notFound, nowIso, str, type HandlerContext } from './http.js';
import { matchFilter, page, parseFilter } from './list.js';
import { PL, SEG, type Route } from './router.js';

const TYPE = 'google.cloud.aiplatform.v1.Tensorboard';

export class VertexTensorboards {
  private readonly boards = new Map<string, Record<string, unknown>>();
  private counter = 0;

  constructor(private readonly env: FakeEnv) {}

  routes(): Route[] {
    return [
      {
        method: 'POST',
        pattern: new RegExp(`^/v1/${PL}/tensorboards$`),
        api: 'aiplatform',
        rpc: 'CreateTensorboard',
        handler: (ctx) => ({ json: this.create(ctx) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${PL}/tensorboards$`),
        api: 'aiplatform',
        rpc: 'ListTensorboards',
        handler: (ctx) => ({ json: this.list(ctx) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/(?<name>${PL}/tensorboards/${SEG})$`),
        api: 'aiplatform',
        rpc: 'GetTensorboard',
        handler: (ctx) => ({ json: this.view(this.get(ctx.params.name ?? '')) }),
      },
    ];
  }

  /** Whether `name` is an existing instance (CreateCustomJob refuses others, as Vertex does). */
  exists(name: string): boolean {
    return this.boards.has(name);
  }

  all(): Record<string, unknown>[] {
    return [...this.boards.values()].map((b) => deepClone(b));
  }

  /** An instance made outside mlform (the console, Terraform). */
  seed(s: {
    project: string;
    location: string;
    displayName: string;
    labels?: Record<string, string>;
  }): Record<string, unknown> {
    return this.insert(s.project, s.location, { displayName: s.displayName, labels: s.labels ?? {} });
  }

  private insert(project: string, location: string, body: Record<string, unknown>): Record<string, unknown> {
    this.counter += 1;
    const id = String(5000000000000000000n + BigInt(this.counter));
    const name = `projects/${project}/locations/${location}/tensorboards/${id}`;
    const now = nowIso();
    const board: Record<string, unknown> = {
      ...body,
      name,
      blobStoragePathPrefix: `cloud-ai-platform-${id}`,
      runCount: 0,
      createTime: now,
      updateTime: now,
      etag: `"${id}"`,
    };
    this.boards.set(name, board);
    return board;
  }

  private create(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', TYPE, 'tensorboard');
    if (!str(body.displayName)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'List of found errors:\t1.Field: tensorboard.display_name; Message: Required field is not set.\t',
      );
    }
    const { project = '', location = '' } = ctx.params;
    // Listed from the request on (a create whose response is lost can be found by its labels);
    // the operation hands it back when done.
    const board = this.insert(project, location, body);
    return this.env.vertexOperation(String(board.name), 'CreateTensorboardOperationMetadata', () => ({
      response: { '@type': `type.googleapis.com/${TYPE}`, ...deepClone(board) },
    }));
  }

  private list(ctx: HandlerContext): Record<string, unknown> {
    const { project = '', location = '' } = ctx.params;
    const terms = parseFilter(ctx.query.get('filter'));
    const prefix = `projects/${project}/locations/${location}/tensorboards/`;
    const all = [...this.boards.values()].filter(
      (b) => String(b.name).startsWith(prefix) && matchFilter(terms, b),
    );
    const p = page(all, ctx.query, this.env.pageOpts());
    const out: Record<string, unknown> = { tensorboards: p.items.map((b) => this.view(b)) };
    if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
    return out;
  }

  private get(name: string): Record<string, unknown> {
    const board = this.boards.get(name);
    if (!board) throw notFound(`Tensorboard ${name}`);
    return board;
  }

  private view(board: Record<string, unknown>): Record<string, unknown> {
    return this.env.out('aiplatform', TYPE, deepClone(board));
  }
}
