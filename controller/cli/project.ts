/** What plan/apply/get need: the desired state, the project's provider and its context. */
import { hostname, userInfo } from 'node:os';
import { error, hasErrors, type Diagnostic } from '../../resources/diagnostic.js';
import { loadManifests, type DesiredState, type LoadedProject } from '../../manifests/load.js';
import { readLoadedFile } from '../../manifests/loaded-files.js';
import type { Provider, ProviderContext, ValidateResource } from '../../providers/provider.js';
import { stateDirEscapeDiagnostic } from '../../resources/project.js';
import { locate, parseYamlFile } from '../../manifests/yaml-document.js';
// Each provider is imported only when a project uses it: the Google SDKs cost ~100 MB and seconds
// of start-up, which a local-only CLI or controller should not pay, and a gcp plan needs none of
// the local provider's ~30 modules (processes, sandbox, serving launch).
import { pinpointDiagnostics } from '../engine/diagnostic-positions.js';
import type { Observation } from '../engine/observe.js';
import type { LoadedPolicy } from '../engine/policy.js';
import { OPERATOR_ENV, operatorFromEnv, type OperatorSettings } from './operator.js';
import { enforcePolicy, loadPolicyFile } from './policy-file.js';

export interface LoadedProjectContext {
  desired: DesiredState;
  provider: Provider;
  providerCtx: ProviderContext;
  /** The operator's policy, when one is given: plans take its word on prune and destroy. */
  policy?: LoadedPolicy;
  /** The observation `observeEarly` started while the manifests loaded (same provider and context). */
  observation?: Promise<Observation>;
}

const gcpProviders = new Map<string, Provider>();

export interface OpenProjectOptions {
  signal?: AbortSignal;
  /** Flags and environment of whoever runs mlform (never the manifests). */
  operator?: OperatorSettings;
  /**
   * Refuse manifests that break the operator policy (default). Off for commands that only read or
   * stop (get, describe, logs, cancel): a tree that breaks a new policy can still be inspected and
   * its runs cancelled. Its data roots apply either way.
   */
  enforcePolicy?: boolean;
  /**
   * Run the provider's checks of what it would refuse to create (default). Off for destroy as
   * well: removing a stack must not need, say, the operator's consent to run its commands.
   */
  providerChecks?: boolean;
  /** The command only looks (plan, get, describe, logs): see `ProviderContext.readOnly`. */
  readOnly?: boolean;
  /** The git commit the controller checked out for these manifests (the run lineage it records). */
  sourceRevision?: string;
  /**
   * Start observing a gcp project as soon as its mlform.yaml is loaded (plan): the list calls wait
   * on the network while the manifests are read and checked, instead of after. A project that then
   * fails to open drops the observation (read-only list calls, never reported). Off under an
   * operator policy, which is enforced on the loaded manifests first.
   */
  observeEarly?: boolean;
}

export async function openProject(
  paths: readonly string[],
  options: OpenProjectOptions = {},
): Promise<{ project?: LoadedProjectContext; diagnostics: Diagnostic[] }> {
  const operator = options.operator ?? operatorFromEnv();
  let policy: LoadedPolicy | undefined;
  if (operator.policyFile) {
    // Read on every open (the controller opens each new commit), so an edited policy (a mounted
    // ConfigMap) applies from the next commit on; a policy that does not load fails closed.
    const loaded = await loadPolicyFile(operator.policyFile);
    if (!loaded.policy) return { diagnostics: loaded.diagnostics };
    policy = loaded.policy;
  }
  let early: Promise<Observation> | undefined;
  // Resolved once the provider has validated the manifests (never, when the project fails).
  let validated = (): void => undefined;
  const endpointsAfter = new Promise<void>((resolve) => (validated = resolve));
  const observeEarly = async (project: LoadedProject, roots: TrustRootsSeen): Promise<void> => {
    const gcp = project.config.provider === 'gcp' ? project.config.gcp : undefined;
    if (!gcp) return;
    try {
      const [provider, { observe }] = await Promise.all([
        gcpProviderFor(gcp),
        import('../engine/observe.js'),
      ]);
      early = observe(provider, providerContextOf(project, roots, options), { endpointsAfter });
      // Awaited by the plan; dropped, without an unhandled rejection, when the project fails.
      early.catch(() => undefined);
    } catch {
      // The ordinary path below builds the provider again and reports what fails.
    }
  };
  const { desired, diagnostics } = await loadManifests(paths.length > 0 ? paths : ['.'], {
    trust: {
      treeRoot: operator.treeRoot,
      dataRoots: [...operator.dataRoots, ...(policy?.policy.dataRoots ?? [])],
    },
    // Not under an operator policy: it may forbid the project's regions, and nothing may be
    // called in them before it has been enforced.
    ...(options.observeEarly && !policy && { onProject: observeEarly }),
  });
  // With the manifests' own errors, so that all of a commit's problems are reported together.
  const refused =
    policy && options.enforcePolicy !== false && desired.project
      ? await enforcePolicy(desired, policy, desired.treeRoot)
      : [];
  if (hasErrors(diagnostics) || hasErrors(refused)) return { diagnostics: [...diagnostics, ...refused] };
  const project = desired.project;
  if (!project) {
    return {
      diagnostics: [
        ...diagnostics,
        error('no-project', `no mlform.yaml found in ${paths.join(', ') || '.'} or above`, {
          hint: 'create one with `stack: <name>` and `provider: local` next to your manifests',
        }),
      ],
    };
  }
  const config = project.config;
  const providerCtx = providerContextOf(
    project,
    { treeRoot: desired.treeRoot, dataRoots: desired.dataRoots },
    options,
  );
  let provider: Provider;
  if (config.provider === 'gcp') {
    if (!config.gcp) {
      return {
        diagnostics: [
          ...diagnostics,
          error('gcp-config', 'provider "gcp" needs a `gcp` section', { file: project.file }),
        ],
      };
    }
    provider = await gcpProviderFor(config.gcp);
  } else {
    const { createLocalProvider, stateDirEscape } = await import('../../providers/local/index.js');
    // The manifests may keep state only inside the project; the operator's --state-dir may be anywhere.
    if (operator.stateDir === undefined) {
      const escape = await stateDirEscape(project.dir, config.local.stateDir);
      if (escape) {
        const found = stateDirEscapeDiagnostic(config.local.stateDir, escape.escape, escape.detail);
        return { diagnostics: [...diagnostics, { ...found, ...positionIn(project.file, found.path ?? []) }] };
      }
    }
    if (Number.isNaN(operator.basePort)) {
      const message = `$${OPERATOR_ENV.basePort} must be 0 (any free port) or a port from 1024 to 65535`;
      return { diagnostics: [...diagnostics, error('operator-base-port', message)] };
    }
    provider = createLocalProvider({
      stateDir: config.local.stateDir,
      operatorStateDir: operator.stateDir,
      ...(operator.basePort !== undefined && { basePort: operator.basePort }),
      ...(operator.commands && { commands: operator.commands }),
      // Not a plan-time rule: runs beyond it are queued by the provider (training-slots.ts).
      ...(policy?.policy.maxLocalTrainings !== undefined && {
        maxLocalTrainings: policy.policy.maxLocalTrainings,
      }),
    });
  }
  // What the backend or the operator would refuse (an unavailable GPU, a command this operator does
  // not run) blocks creating, not looking or removing: get, describe, logs and cancel skip it like
  // the policy, destroy skips it alone.
  if (provider.validate && options.enforcePolicy !== false && options.providerChecks !== false) {
    const found = await provider.validate(providerCtx, validateResources(desired));
    // Onto the field itself (`training.yaml:14:11`), as the loader's own errors point; only files
    // the loader read from inside the tree are read again.
    const located = pinpointDiagnostics(found, readLoadedFile);
    if (hasErrors(located)) return { diagnostics: [...diagnostics, ...located] };
    diagnostics.push(...located);
  }
  validated();
  return {
    project: {
      desired,
      provider,
      providerCtx,
      ...(policy && { policy }),
      ...(early && { observation: early }),
    },
    diagnostics,
  };
}

interface TrustRootsSeen {
  treeRoot: string;
  dataRoots: readonly string[];
}

/** What the provider is told about the project; the same early (observeEarly) and after loading. */
function providerContextOf(
  project: LoadedProject,
  roots: TrustRootsSeen,
  options: OpenProjectOptions,
): ProviderContext {
  const config = project.config;
  return {
    stack: config.stack,
    projectDir: project.dir,
    dataRoots: [roots.treeRoot, ...roots.dataRoots],
    treeRoot: roots.treeRoot,
    ...(options.sourceRevision !== undefined && { sourceRevision: options.sourceRevision }),
    ...(options.readOnly && { readOnly: true }),
    ...(config.import?.length && { imports: config.import }),
    signal: options.signal,
  };
}

/**
 * One provider per configuration and process: the controller opens the project on every sync,
 * and the clients, their connections and the rate-limit buckets should outlive that.
 */
async function gcpProviderFor(config: NonNullable<LoadedProject['config']['gcp']>): Promise<Provider> {
  const key = JSON.stringify(config);
  const { createGcpProvider } = await import('../../providers/gcp/index.js');
  const provider = gcpProviders.get(key) ?? createGcpProvider({ config });
  gcpProviders.set(key, provider);
  return provider;
}

/** `file:line:col` of a field of mlform.yaml (its first document), for errors about the project file. */
function positionIn(file: string, path: readonly (string | number)[]) {
  try {
    // Only as the loader read it from inside the tree (a refused link is never opened).
    const text = readLoadedFile(file);
    if (text === undefined) return { file };
    const parsed = parseYamlFile(text, file);
    const doc = parsed.documents.find((d) => d.value !== undefined);
    if (!doc) return { file, line: 1, col: 1 };
    const { line, col, length } = locate(doc.doc, parsed.lineCounter, [...path]);
    return { file, line, col, length };
  } catch {
    return { file };
  }
}

/** "alice@laptop": who holds the apply lock (the provider records the pid beside it). */
export const lockHolder = (): string => `${safeUser()}@${hostname()}`;

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The loaded resources as a provider's checks see them (`Provider.validate`, static-checks.ts). */
export function validateResources(desired: DesiredState): ValidateResource[] {
  return desired.resources.map((r) => ({
    kind: r.kind,
    name: r.name,
    address: r.address,
    manifest: r.manifest,
    source: { file: r.source.file, line: r.source.line, col: r.source.col },
  }));
}
