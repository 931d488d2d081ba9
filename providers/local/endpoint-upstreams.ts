/**
 * A local DeployedEndpoint with `spec.container.command`: one sandboxed process per served
 * version, behind the endpoint's own `mlform serve` (its config lists the versions as
 * `upstream: {url, healthPath, predictPath}`). The processes are started by that server, handed
 * over in MLFORM_SERVE_UPSTREAMS, so they live and die with it: the endpoint's record, marker,
 * launch id and proof of identity stay those of the one server (endpoints.ts), and stopping it
 * stops them. Why not detached like the server: bubblewrap's `--die-with-parent` ends a sandbox
 * with its parent, and a CLI that started one would take it along when it exits.
 *
 * The sandbox (sandbox.ts): the data roots and the version's artifact folder read-only, the
 * version's scratch folder writable, the state folder hidden, only the variables below. A server
 * must listen, so it always gets the network; the operator's `allowCommands` alone decides
 * whether it runs (the network switch is for trainings, whose manifest may ask for it or not).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { deployedEndpointAddress } from '../../resources/address.js';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import type { ServingContainer } from '../../resources/deployed-endpoint.js';
import type { UpstreamLaunch } from '../../serving/upstream-launch.js';
import { resolveLocalEnv } from '../../trainer/secrets.js';
import type { ProviderContext, ValidateResource } from '../provider.js';
import { checkContainerEnv, containerArgs, containerEnv } from '../serving-container.js';
import { anyFreePort, HOST } from './ports.js';
import { sandboxLaunch } from './sandbox.js';
import { stateRoot, type LocalSettings } from './settings.js';

/** What a served version's process sees of the host's environment (its PATH is the system's). */
const BASE_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  TMPDIR: '/tmp',
};

/** A served version in the endpoint's config.json: its artifact and the server in front of it. */
export interface UpstreamVersion {
  version: number;
  percent: number;
  /** The artifact folder (local path) this version's server is given as MODEL_URI. */
  uri: string;
  upstream: { url: string; healthPath: string; predictPath: string };
}

const portOf = (url: string | undefined): number | undefined => {
  const m = url === undefined ? null : /:(\d+)$/.exec(url);
  return m ? Number(m[1]) : undefined;
};

/**
 * The config entries of an endpoint's versions: each keeps the port it had (`previous`: the
 * config serving now), so an unchanged endpoint keeps its config and is not restarted; a new
 * version gets a free port.
 */
export async function upstreamVersions(
  container: ServingContainer,
  versions: readonly { version: number; percent: number; uri: string }[],
  previous: readonly { version: number; upstream?: { url: string } }[],
): Promise<UpstreamVersion[]> {
  const taken = new Set<number>();
  const out: UpstreamVersion[] = [];
  for (const v of versions) {
    let port = portOf(previous.find((p) => p.version === v.version)?.upstream?.url);
    while (port === undefined || taken.has(port)) port = await anyFreePort();
    taken.add(port);
    const { healthPath, predictPath } = container;
    out.push({ ...v, upstream: { url: `http://${HOST}:${port}`, healthPath, predictPath } });
  }
  return out;
}

/**
 * Each version's sandboxed launch (its environment resolved, secrets included: it goes to the
 * server's environment, never to a file), or why it cannot run.
 */
export async function upstreamLaunches(
  settings: LocalSettings,
  ctx: ProviderContext,
  name: string,
  spec: { model: string; container: ServingContainer },
  versions: readonly UpstreamVersion[],
  dir: string,
): Promise<{ launches?: UpstreamLaunch[]; diagnostics: Diagnostic[] }> {
  const address = deployedEndpointAddress(name);
  const { container } = spec;
  const command = container.command;
  if (!command) return { diagnostics: [commandMissing(address)] };
  const secrets = await resolveLocalEnv(
    container.env,
    { env: process.env, ...(ctx.treeRoot !== undefined && { treeRoot: ctx.treeRoot }) },
    ['spec', 'container', 'env'],
  );
  if (!secrets.env) return { diagnostics: secrets.diagnostics.map((d) => ({ ...d, address })) };
  const launches: UpstreamLaunch[] = [];
  for (const v of versions) {
    const port = portOf(v.upstream.url) ?? 0;
    const scratch = join(dir, 'upstreams', `v${v.version}`);
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const values = { modelUri: v.uri, modelName: spec.model, version: v.version, port };
    const launch = sandboxLaunch(
      // A server must listen: the network is part of serving, so the command policy alone gates it.
      { ...settings.commands, allowNetwork: true },
      {
        argv: [...command, ...containerArgs(container, values)],
        cwd: ctx.projectDir,
        readOnly: [...(ctx.dataRoots ?? [ctx.projectDir]), v.uri],
        writable: [scratch],
        hidden: [stateRoot(settings, ctx)],
        env: { ...BASE_ENV, HOME: scratch, ...secrets.env, ...containerEnv(container, values) },
        network: true,
        what: `${address} (version ${v.version})`,
      },
    );
    if (!launch.ok) {
      return {
        diagnostics: [
          error(launch.code, launch.message, {
            address,
            path: ['spec', 'container', 'command'],
            hint: launch.hint,
          }),
        ],
      };
    }
    launches.push({
      version: v.version,
      command: launch.command,
      args: launch.args,
      env: launch.env,
      cwd: ctx.projectDir,
      logFile: join(dir, `upstream-v${v.version}.log`),
    });
  }
  return { launches, diagnostics: [] };
}

const commandMissing = (address: string): Diagnostic =>
  error(
    'local-container-command',
    'spec.container has an `image` but no `command`: the local provider runs programs, not images',
    {
      address,
      path: ['spec', 'container'],
      hint: 'add `command` (the server as a program and its arguments) for the local provider',
    },
  );

/**
 * Plan-time checks of serving containers: a `command` to run, an operator who allows commands
 * (and bubblewrap, or the opt-in to run unconfined), no reserved variable in `env`. Positioned at
 * the manifest's field; the codes are the sandbox's own, as for `trainer.command`.
 */
export function validateLocalEndpoints(
  settings: LocalSettings,
  resources: readonly ValidateResource[],
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const r of resources) {
    if (r.kind !== 'DeployedEndpoint') continue;
    const spec = (r.manifest as { spec: { container?: ServingContainer; machine?: { machineType: string } } })
      .spec;
    const at = { address: r.address, file: r.source.file, line: r.source.line, col: r.source.col };
    // `platform` and `machine` are gcp targets: locally the same model server runs on this machine.
    if (spec.machine) {
      out.push(
        warning(
          'local-machine-ignored',
          `${r.address}: spec.machine (${spec.machine.machineType}) is ignored by the local provider: the model server runs on this machine`,
          { ...at, path: ['spec', 'machine'], hint: 'it applies on gcp with `platform: vertexEndpoint`' },
        ),
      );
    }
    const container = spec.container;
    if (!container) continue;
    const found: Diagnostic[] = [...checkContainerEnv(container)];
    if (!container.command) found.push(commandMissing(r.address));
    else {
      // The refusal apply would meet (no policy, no bubblewrap), said at plan time.
      const refusal = sandboxLaunch(
        { ...settings.commands, allowNetwork: true },
        {
          argv: container.command,
          cwd: '/',
          readOnly: [],
          writable: [],
          hidden: [],
          env: {},
          network: true,
          what: r.address,
        },
      );
      if (!refusal.ok) {
        found.push(
          error(refusal.code, refusal.message, {
            path: ['spec', 'container', 'command'],
            hint: refusal.hint,
          }),
        );
      }
    }
    out.push(...found.map((d) => ({ ...d, ...at, ...(d.path && { path: d.path }) })));
  }
  return out;
}
