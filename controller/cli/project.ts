/** What plan/apply/get need: the desired state, the project's provider and its context. */
import { hostname, userInfo } from 'node:os';
import { error, hasErrors, type Diagnostic } from '../../resources/diagnostic.js';
import { loadManifests, type DesiredState } from '../../manifests/load.js';
import { readLoadedFile } from '../../manifests/loaded-files.js';
import type { Provider, ProviderContext } from '../../providers/provider.js';
import { createLocalProvider } from '../../providers/local/index.js';
// providers/gcp is imported only when a project uses it: the Google SDKs cost ~100 MB and seconds
// of start-up, which a local-only CLI or controller should not pay.
import { pinpointDiagnostics } from '../engine/diagnostic-positions.js';
import { operatorFromEnv, type OperatorSettings } from './operator.js';

export interface LoadedProjectContext {
  desired: DesiredState;
  provider: Provider;
  providerCtx: ProviderContext;
}

const gcpProviders = new Map<string, Provider>();

export interface OpenProjectOptions {
  signal?: AbortSignal;
  /** Flags and environment of whoever runs mlform (never the manifests). */
  operator?: OperatorSettings;
}

export async function openProject(
  paths: readonly string[],
  options: OpenProjectOptions = {},
): Promise<{ project?: LoadedProjectContext; diagnostics: Diagnostic[] }> {
  const { signal } = options;
  const operator = options.operator ?? operatorFromEnv();
  const { desired, diagnostics } = await loadManifests(paths.length > 0 ? paths : ['.'], {
    trust: { treeRoot: operator.treeRoot, dataRoots: operator.dataRoots },
  });
  if (hasErrors(diagnostics)) return { diagnostics };
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
  const providerCtx: ProviderContext = {
    stack: config.stack,
    projectDir: project.dir,
    dataRoots: [desired.treeRoot, ...desired.dataRoots],
    signal,
  };
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
    // One provider per configuration and process: the controller opens the project on every
    // sync, and the clients, their connections and the rate-limit buckets should outlive that.
    const key = JSON.stringify(config.gcp);
    const { createGcpProvider } = await import('../../providers/gcp/index.js');
    provider = gcpProviders.get(key) ?? createGcpProvider({ config: config.gcp });
    gcpProviders.set(key, provider);
  } else {
    provider = createLocalProvider({
      stateDir: config.local.stateDir,
      operatorStateDir: operator.stateDir,
    });
  }
  if (provider.validate) {
    const found = await provider.validate(
      providerCtx,
      desired.resources.map((r) => ({
        kind: r.kind,
        name: r.name,
        address: r.address,
        manifest: r.manifest,
        source: { file: r.source.file, line: r.source.line, col: r.source.col },
      })),
    );
    // Onto the field itself (`training.yaml:14:11`), as the loader's own errors point; only files
    // the loader read from inside the tree are read again.
    const located = pinpointDiagnostics(found, readLoadedFile);
    if (hasErrors(located)) return { diagnostics: [...diagnostics, ...located] };
    diagnostics.push(...located);
  }
  return {
    project: { desired, provider, providerCtx },
    diagnostics,
  };
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
