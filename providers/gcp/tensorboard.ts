/**
 * Managed TensorBoard (`gcp.tensorboard`, README.md "TensorBoard"): which Vertex AI TensorBoard
 * instance a stack's jobs stream their event files into, and the page a run's experiment is on.
 *
 * A name in mlform.yaml is used as is (checked at load time, resources/project.ts). `{create:
 * true}` is the stack's own instance: found by its labels, or created once, on the first launch
 * of a run (never by a plan). The apply lock makes that create single; a second instance (two
 * applies of different versions, or a hand-made one with our labels) is harmless, the oldest wins.
 */
import type { protos } from '@google-cloud/aiplatform';
import { TENSORBOARD_NAME } from '../../resources/project.js';
import { awaitOperation, type Caller } from './call.js';
import type { ClientSettings } from './clients.js';
import { isoOf, listAll, type GcpSettings } from './context.js';
import { LABEL, parentOf, qualifiedName } from './names.js';
import type { TensorboardServiceClient } from './tensorboard-client.js';

type Tensorboard = protos.google.cloud.aiplatform.v1.ITensorboard;

export const TENSORBOARD_KIND = 'tensorboard';
const REMEMBER_MS = 10 * 60_000;

export interface Tensorboards {
  /** The instance a run of `stack` writes to; undefined when `gcp.tensorboard` is not set. */
  instanceFor(stack: string, signal?: AbortSignal): Promise<string | undefined>;
  close(): Promise<void>;
}

/** The stack's own instance: display name `mlform-<stack>_tensorboard`, ownership labels. */
export const stackTensorboard = (stack: string) => ({
  displayName: qualifiedName(stack, TENSORBOARD_KIND),
  labels: { [LABEL.stack]: stack, [LABEL.kind]: TENSORBOARD_KIND },
});

export function createTensorboards(
  settings: GcpSettings,
  clientSettings: ClientSettings,
  call: Caller,
  load: (s: ClientSettings) => Promise<TensorboardServiceClient> = async (s) =>
    (await import('./tensorboard-client.js')).createTensorboardClient(s),
): Tensorboards {
  let client: Promise<TensorboardServiceClient> | undefined;
  const clientOf = () => (client ??= load(clientSettings));
  // Remembered for a while: a controller runs for weeks, and an instance deleted by hand is
  // found missing (and created again) at most REMEMBER_MS later.
  const resolved = new Map<string, { at: number; name: Promise<string> }>();
  const parent = parentOf(settings.project, settings.trainingRegion);

  const find = async (stack: string): Promise<string | undefined> => {
    const tb = await clientOf();
    const own = stackTensorboard(stack);
    const found = await listAll<protos.google.cloud.aiplatform.v1.IListTensorboardsRequest, Tensorboard>(
      call,
      'aiplatform',
      'ListTensorboards',
      {
        parent,
        filter: `labels.${LABEL.stack}="${stack}" AND labels.${LABEL.kind}="${TENSORBOARD_KIND}"`,
      },
      (req, opts) => tb.listTensorboards(req, opts),
    );
    // The label filter is exact; the display name guards against an instance relabelled by hand.
    const ours = found
      .filter((b) => b.name && b.displayName === own.displayName)
      .sort(
        (a, b) =>
          (isoOf(a.createTime) ?? '').localeCompare(isoOf(b.createTime) ?? '') ||
          (a.name ?? '').localeCompare(b.name ?? ''),
      );
    return ours[0]?.name ?? undefined;
  };

  const create = async (stack: string, signal?: AbortSignal): Promise<string> => {
    const tb = await clientOf();
    const created = await call(
      'aiplatform',
      'CreateTensorboard',
      (opts) => tb.createTensorboard({ parent, tensorboard: stackTensorboard(stack) }, opts),
      {
        signal,
        complete: async ([op]): Promise<string> => {
          const board = await awaitOperation(
            call,
            'aiplatform',
            'CreateTensorboard',
            op,
            (n) => tb.checkCreateTensorboardProgress(n),
            signal,
          );
          if (!board.name) throw new Error('CreateTensorboard returned no name');
          return board.name;
        },
        // The id is Vertex's: a create whose response was lost is found by its labels.
        lookUpAfterFailure: () => find(stack),
      },
    );
    return created;
  };

  return {
    async instanceFor(stack, signal) {
      const wanted = settings.tensorboard;
      if (wanted === undefined) return undefined;
      if (typeof wanted === 'string') return wanted;
      const known = resolved.get(stack);
      if (known && settings.now().getTime() - known.at < REMEMBER_MS) return known.name;
      const name = (async () => (await find(stack)) ?? (await create(stack, signal)))();
      const entry = { at: settings.now().getTime(), name };
      resolved.set(stack, entry);
      // A failure is not remembered: the next launch tries again.
      name.catch(() => {
        if (resolved.get(stack) === entry) resolved.delete(stack);
      });
      return name;
    },
    async close() {
      if (client) await (await client).close();
    },
  };
}

/**
 * The TensorBoard web app page of a run's experiment. Vertex AI creates one experiment per job in
 * the instance, with the job's id as the experiment id (mlform cannot choose it), so the page is
 * `https://<location>.tensorboard.googleusercontent.com/experiment/<experiment name, / as +>`.
 */
export function tensorboardUrl(tensorboard: string, jobId: string): string | undefined {
  // Only names of the checked form reach a URL (a listed job's spec is anyone's writing).
  const location = TENSORBOARD_NAME.exec(tensorboard)?.[2];
  if (!location || !/^[0-9]+$/.test(jobId)) return undefined;
  return `https://${location}.tensorboard.googleusercontent.com/experiment/${`${tensorboard}/experiments/${jobId}`.replaceAll('/', '+')}`;
}
