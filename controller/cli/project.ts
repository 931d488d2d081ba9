/** What plan/apply/get need: the desired state, the project's provider and its context. */
import { hostname, userInfo } from 'node:os';
import { error, hasErrors, type Diagnostic } from '../../resources/diagnostic.js';
import { loadManifests, type DesiredState } from '../../manifests/load.js';
import type { Provider, ProviderContext } from '../../providers/provider.js';
import { createLocalProvider } from '../../providers/local/index.js';

export interface LoadedProjectContext {
  desired: DesiredState;
  provider: Provider;
  providerCtx: ProviderContext;
}

export async function openProject(
  paths: readonly string[],
  signal?: AbortSignal,
): Promise<{ project?: LoadedProjectContext; diagnostics: Diagnostic[] }> {
  const { desired, diagnostics } = await loadManifests(paths.length > 0 ? paths : ['.']);
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
  if (config.provider !== 'local') {
    return {
      diagnostics: [
        ...diagnostics,
        error('provider-unavailable', `provider "${config.provider}" is not available in this version yet`, {
          file: project.file,
          hint: 'use `provider: local` for now',
        }),
      ],
    };
  }
  const provider = createLocalProvider({ stateDir: config.local.stateDir });
  return {
    project: { desired, provider, providerCtx: { stack: config.stack, projectDir: project.dir, signal } },
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
