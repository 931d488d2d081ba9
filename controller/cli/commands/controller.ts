/**
 * `mlform controller`: the long-running reconciler (controller/loop/). This file only turns
 * options into a SyncLoop, a status server and signal handling; the decisions live in the loop.
 */
import { destination, pino } from 'pino';
import { error, type Diagnostic } from '../../../resources/diagnostic.js';
import { createDirectorySource } from '../../loop/directory-source.js';
import { parseDuration } from '../../loop/duration-option.js';
import {
  DEFAULT_GIT_USERNAME,
  GIT_TOKEN_ENV,
  GIT_USERNAME_ENV,
  gitCredentials,
} from '../../loop/git-credentials.js';
import { branchNameProblem, createGitSource } from '../../loop/git-source.js';
import { defaultWorkDir, ensurePrivateDir } from '../workdir.js';
import { createControllerMetrics } from '../../loop/metrics.js';
import type { ManifestSource } from '../../loop/source.js';
import { startStatusServer } from '../../loop/status-server.js';
import { loadAuthToken, MIN_TOKEN_LENGTH } from '../../loop/auth-token.js';
import { CONTROLLER_BOUNDS, type ConnectionBounds } from '../../../serving/connection-bounds.js';
import { SyncLoop } from '../../loop/sync-loop.js';
import { ControllerSource } from '../../web/controller-source.js';
import { createViewBuilder } from '../../web/views/index.js';
import { loadWebhookSecret, WEBHOOK_SECRET_ENV } from '../../loop/webhook.js';
import { defineCommand } from '../command.js';
import type { CommandContext } from '../context.js';
import { openProject } from '../project.js';
import { policyDeletes, policyError } from '../../engine/policy.js';
import { loadPolicyFile } from '../policy-file.js';
import { sanitizeOutput } from '../../ui/escape.js';
import { packageVersion } from '../version.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { NOTIFY_OPTIONS, notifyOperator, type NotifyFlags } from '../../notify/operator.js';
import { failed } from '../problems.js';
import { join, resolve } from 'node:path';
import { readdir, rm } from 'node:fs/promises';
import { isWithin, pidExists } from '../../../providers/local/index.js';
import { commandPolicyWithFlags } from '../../../providers/local/sandbox.js';

/** The longest leader lease: a longer one is indistinguishable from a forged lock (providers/local/lease.ts). */
const MAX_LEASE_TTL_MS = 10 * 60_000;

interface ControllerOptions extends OperatorFlags, NotifyFlags {
  repo?: string;
  gitTokenFile?: string;
  gitUsername?: string;
  branch: string;
  path: string;
  workdir?: string;
  dir?: string;
  poll: string;
  resync: string;
  requeue: string;
  listen: string;
  webhookSecretFile?: string;
  authTokenFile?: string;
  headersTimeout: string;
  requestTimeout: string;
  keepAliveTimeout: string;
  maxConnections: string;
  selfHeal: boolean;
  prune?: boolean;
  leaseTtl: string;
  parallelism: string;
  logLevel: string;
  allowCommands?: boolean;
  allowCommandNetwork?: boolean;
  allowUnsandboxedCommands?: boolean;
}

export const controllerCommand = defineCommand({
  name: 'controller',
  summary: 'keep the actual state converged from a git branch or a directory',
  description: [
    'Run continuously, like Argo CD for ML resources: fetch the manifests (git:',
    'poll, or a signed webhook; a directory: watched), plan and apply with the',
    'same engine as `mlform apply`, and keep reconciling: every --requeue while',
    'trainings run (finished ones are registered, promoted and rolled out), at',
    '--resync otherwise. Local schedules fire on time here.',
    '',
    'A commit whose manifests do not load is reported (/api/status, /metrics,',
    'logs); the last good desired state keeps being reconciled until a good',
    'commit arrives. A failing resource is retried with backoff (5s doubling to',
    '5m) while the others proceed. Replicas elect a leader on the state',
    'directory (or bucket); only the leader acts. Each sync holds the apply lock',
    'briefly, so a CLI `mlform apply` and the controller never act at once.',
    '',
    'The local provider keeps its state in --state-dir (default <workdir>/state),',
    "outside the checkout: the manifests' local.stateDir is ignored, and nothing",
    'in the repository is ever read as state or as a lock. Replicas on one host',
    'share the default state (same source, same workdir) and each clones into',
    '<workdir>/checkouts/<pid>; checkouts of processes that are gone are removed.',
    'The workdir defaults to $XDG_STATE_HOME/mlform/controller-<hash of the source>',
    '(else ~/.local/state/mlform/...); folders are created with mode 0700, and a',
    'symlink, a folder of another user or one others can write is refused.',
    'Only refs/heads/<branch> is fetched (a tag of the same name never wins).',
    '',
    'Pruning is off by default (as in Argo CD): resources whose manifests are',
    'removed are left alone unless --prune. Drift is corrected unless',
    '--no-self-heal.',
    '',
    'The web dashboard is at / (open it in a browser): every resource, the plan,',
    'training curves, versions, endpoints and schedules, updated after each sync.',
    'Its pages are open; its data (/api/v1/...) needs the token like /api/status.',
    '',
    'HTTP (--listen, default 127.0.0.1:8080): /healthz (alive), /readyz (200 once',
    'the leader has synced; 503 on a standby), /metrics (Prometheus): open to anyone.',
    'POST /hooks/git (GitHub webhook: X-Hub-Signature-256 with the secret from',
    `--webhook-secret-file or $${WEBHOOK_SECRET_ENV}; disabled without one; a`,
    'repeated X-GitHub-Delivery id is acknowledged without a sync). Every other',
    'route, /api/status included (rendered by `mlform get --server URL`), needs',
    '`Authorization: Bearer <token>` when --auth-token-file is given; an address',
    'beyond loopback (e.g. 0.0.0.0:8080) requires it. The token file: one line of',
    `at least ${MIN_TOKEN_LENGTH} printable characters, not readable by other users.`,
    'Connections are bounded: headers within --headers-timeout, the whole request',
    'within --request-timeout, idle keep-alive closed after --keep-alive-timeout,',
    'at most --max-connections at once.',
    '',
    'Logs are JSON lines on stdout. SIGTERM/SIGINT: finish the current change,',
    'release the leader lease, exit 0.',
  ].join('\n'),
  options: [
    {
      flags: '--repo <url>',
      description: 'git repository to follow (URL or local path; no credentials in it)',
    },
    {
      flags: '--git-token-file <file>',
      description: `token for an https repository (default: $${GIT_TOKEN_ENV}; else git's credential helper or SSH key)`,
    },
    {
      flags: '--git-username <name>',
      description: `user name sent with the token (default: $${GIT_USERNAME_ENV}, else ${DEFAULT_GIT_USERNAME})`,
    },
    { flags: '--branch <name>', description: 'branch to follow', default: 'main' },
    {
      flags: '--path <dir>',
      description: 'folder of the manifests (and mlform.yaml) inside the repository',
      default: '.',
    },
    {
      flags: '--workdir <dir>',
      description:
        "the controller's own folder: state/ (the default --state-dir) and checkouts/<pid>/; created 0700, and an existing one must be a directory (not a link) of this user or root that other users cannot write (default: $XDG_STATE_HOME/mlform/controller-<hash of the source>, else ~/.local/state/mlform/...)",
    },
    { flags: '--dir <path>', description: 'follow a local directory instead of git (watched for changes)' },
    { flags: '--poll <duration>', description: 'git polling interval (±10% jitter)', default: '60s' },
    {
      flags: '--resync <duration>',
      description: 'reconcile this often even when nothing changes',
      default: '3m',
    },
    {
      flags: '--requeue <duration>',
      description: 'reconcile this often while trainings run or the plan waits',
      default: '5s',
    },
    {
      flags: '--listen <addr>',
      description:
        'HTTP address for health, metrics, status and the webhook (beyond loopback: needs --auth-token-file)',
      default: '127.0.0.1:8080',
    },
    {
      flags: '--webhook-secret-file <file>',
      description: `webhook secret (default: $${WEBHOOK_SECRET_ENV})`,
    },
    {
      flags: '--auth-token-file <file>',
      description:
        "bearer token required on /api/status, the dashboard's /api/v1 and every route but /healthz, /readyz, /metrics, /hooks/git and the dashboard's pages",
    },
    {
      flags: '--headers-timeout <duration>',
      description: 'HTTP: request line and headers must arrive within this',
      default: `${CONTROLLER_BOUNDS.headersTimeoutMs / 1000}s`,
    },
    {
      flags: '--request-timeout <duration>',
      description: 'HTTP: a whole request (headers and body) must arrive within this',
      default: `${CONTROLLER_BOUNDS.requestTimeoutMs / 1000}s`,
    },
    {
      flags: '--keep-alive-timeout <duration>',
      description: 'HTTP: idle keep-alive connections are closed after this',
      default: `${CONTROLLER_BOUNDS.keepAliveTimeoutMs / 1000}s`,
    },
    {
      flags: '--max-connections <n>',
      description: 'HTTP: connections beyond this many are closed',
      default: String(CONTROLLER_BOUNDS.maxConnections),
    },
    { flags: '--no-self-heal', description: 'report drift (OutOfSync) without correcting it' },
    {
      flags: '--prune',
      description: 'delete managed resources whose manifests are gone (default: keep them)',
    },
    {
      flags: '--lease-ttl <duration>',
      description: 'leader lease time to live; renewed every third of it',
      default: '15s',
    },
    { flags: '--parallelism <n>', description: 'changes carried out at once', default: '10' },
    {
      flags: '--allow-commands',
      description:
        'run the manifests\' trainer.command, in a bubblewrap sandbox (SECURITY.md "Commands from manifests"; also $MLFORM_ALLOW_COMMANDS=1); default: refused at plan',
    },
    {
      flags: '--allow-command-network',
      description:
        'give the network to a command whose manifest asks for it (`network: true`; also $MLFORM_ALLOW_COMMAND_NETWORK=1)',
    },
    {
      flags: '--allow-unsandboxed-commands',
      description:
        'where bubblewrap is missing, run commands unconfined instead of refusing them (also $MLFORM_ALLOW_UNSANDBOXED=1)',
    },
    {
      flags: '--log-level <level>',
      description: 'log level',
      choices: ['debug', 'info', 'warn', 'error'],
      default: 'info',
    },
    ...OPERATOR_OPTIONS,
    ...NOTIFY_OPTIONS,
  ],
  examples: [
    '# follow a branch; manifests under deploy/ml',
    'mlform controller --repo https://github.com/acme/ml.git --branch main --path deploy/ml',
    '# a private repository over https: the token from a file, never in the URL',
    'mlform controller --repo https://github.com/acme/ml.git --git-token-file /var/run/secrets/git/token',
    '# GitHub webhook for immediate syncs (secret never logged)',
    'MLFORM_WEBHOOK_SECRET=... mlform controller --repo git@github.com:acme/ml.git --poll 5m',
    '# a laptop: follow the working copy, delete what is removed; CLI commands see the',
    '# same state when given the same --state-dir (or $MLFORM_STATE_DIR), outside the tree',
    'MLFORM_STATE_DIR=~/.mlform-state mlform controller --dir examples/quickstart --prune --listen 127.0.0.1:8080',
    '# status of a running controller',
    'mlform get --server http://127.0.0.1:8080',
    '# reachable from other hosts (a pod): a token guards /api/status',
    'openssl rand -hex 32 > /etc/mlform/token && chmod 600 /etc/mlform/token',
    'mlform controller --repo ... --listen 0.0.0.0:8080 --auth-token-file /etc/mlform/token',
    'MLFORM_SERVER_TOKEN_FILE=/etc/mlform/token mlform get --server http://ctl:8080',
  ],
  exitStatus:
    '0 after a clean shutdown; 1 when the options are invalid, the\n' +
    'HTTP address cannot be bound, or it is beyond loopback without --auth-token-file.',
  handler: (_args: [], options: ControllerOptions, ctx) => controllerRunner(ctx)(options),
});

/**
 * The command bound to its context: options checked, folders made, then the loop and its status
 * server until SIGTERM or SIGINT.
 */
function controllerRunner(ctx: CommandContext): (options: ControllerOptions) => Promise<number> {
  return run;

  async function run(options: ControllerOptions): Promise<number> {
    const problems: Diagnostic[] = [];
    const duration = (flag: string, text: string): number => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        problems.push(
          error('bad-duration', `${flag} "${text}" is not a duration`, { hint: 'e.g. 500ms, 2s, 3m, 1h' }),
        );
      }
      return ms ?? 0;
    };
    const pollMs = duration('--poll', options.poll);
    const resyncMs = duration('--resync', options.resync);
    const progressMs = duration('--requeue', options.requeue);
    const leaseTtlMs = duration('--lease-ttl', options.leaseTtl);
    // HTTP bounds: a zero would mean "no bound" to Node, which is what they are there to prevent.
    const positiveDuration = (flag: string, text: string): number => {
      const ms = duration(flag, text);
      if (ms === 0 && parseDuration(text) !== undefined) {
        problems.push(error('bad-duration', `${flag} must be longer than 0`, { hint: 'e.g. 10s' }));
      }
      return ms;
    };
    const maxConnections = Number(options.maxConnections);
    if (!/^\d+$/.test(options.maxConnections) || maxConnections < 1) {
      problems.push(
        error('bad-number', `--max-connections "${options.maxConnections}" is not a positive integer`),
      );
    }
    const bounds: ConnectionBounds = {
      headersTimeoutMs: positiveDuration('--headers-timeout', options.headersTimeout),
      requestTimeoutMs: positiveDuration('--request-timeout', options.requestTimeout),
      keepAliveTimeoutMs: positiveDuration('--keep-alive-timeout', options.keepAliveTimeout),
      maxConnections,
    };
    if (leaseTtlMs > MAX_LEASE_TTL_MS) {
      problems.push(
        error(
          'bad-duration',
          `--lease-ttl ${options.leaseTtl} is longer than ${MAX_LEASE_TTL_MS / 60_000}m`,
          {
            hint: 'a lease that long would be taken for a forged lock; 15s to a few minutes is typical',
          },
        ),
      );
    }
    if (Boolean(options.repo) === Boolean(options.dir)) {
      problems.push(
        error('controller-source', 'give exactly one source: --repo <url> or --dir <path>', {
          hint: 'mlform controller --repo <url> --branch main, or mlform controller --dir .',
        }),
      );
    }
    const branchProblem = options.repo ? branchNameProblem(options.branch) : undefined;
    if (branchProblem) {
      problems.push(
        error('bad-branch', `--branch ${JSON.stringify(options.branch)} ${branchProblem}`, {
          hint: 'give the name of a branch as git shows it, e.g. --branch main',
        }),
      );
    }
    const secret = await loadWebhookSecret(options.webhookSecretFile, ctx.env);
    problems.push(...secret.diagnostics);
    const auth = options.authTokenFile ? await loadAuthToken(options.authTokenFile) : { diagnostics: [] };
    problems.push(...auth.diagnostics);
    // Credentials leave the URL before anything uses or shows it (git-credentials.ts).
    const git = options.repo
      ? await gitCredentials({
          repo: options.repo,
          ...(options.gitTokenFile !== undefined && { tokenFile: options.gitTokenFile }),
          ...(options.gitUsername !== undefined && { username: options.gitUsername }),
          env: ctx.env,
        })
      : undefined;
    problems.push(...(git?.diagnostics ?? []));
    const operator = {
      ...operatorSettings(options, ctx.env),
      // The operator's word on commands from manifests: these flags or the environment, never a commit.
      commands: commandPolicyWithFlags(
        {
          allowCommands: options.allowCommands,
          allowNetwork: options.allowCommandNetwork,
          allowUnsandboxed: options.allowUnsandboxedCommands,
        },
        ctx.env,
      ),
    };
    if (operator.policyFile) {
      // Checked at start so a broken policy or a forbidden --prune stops the controller before it
      // serves; each new commit is loaded with the policy read again (openProject).
      const loaded = await loadPolicyFile(operator.policyFile);
      problems.push(...loaded.diagnostics);
      if (options.prune && loaded.policy && !policyDeletes(loaded.policy).prune) {
        problems.push(
          policyError('allowPrune', '--prune is not allowed (allowPrune: false)', loaded.policy.file, {
            hint: 'start the controller without --prune (removed manifests then leave their resources alone)',
          }),
        );
      }
    }
    if (problems.length > 0) return failed(ctx, problems);

    const log = pino(
      { level: options.logLevel, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
      jsonLinesWithoutControls(destination({ fd: 1, sync: true })),
    );
    for (const warning of git?.warnings ?? []) log.warn(warning);
    const folders = await controllerFolders(
      options.workdir,
      operator.stateDir,
      git ? `git ${git.repo}#${options.branch}` : `dir ${resolve(options.dir ?? '.')}`,
      ctx.env,
    );
    if ('diagnostic' in folders) return failed(ctx, [folders.diagnostic]);
    const { workDir, stateDir } = folders;
    // A command from a commit sees neither the controller's folder nor its secret files.
    const secretFiles = [options.gitTokenFile, options.authTokenFile, options.webhookSecretFile];
    operator.commands.hidden = [workDir, ...secretFiles.flatMap((f) => (f ? [resolve(f)] : []))];
    const checkouts = join(workDir, 'checkouts');
    if (git) await sweepCheckouts(checkouts);
    const source: ManifestSource = git
      ? createGitSource({
          repo: git.repo,
          branch: options.branch,
          path: options.path,
          workDir: join(checkouts, String(process.pid)),
          ...(git.auth !== undefined && { auth: git.auth }),
        })
      : createDirectorySource({ dir: options.dir ?? '.' });
    // Provider state is the controller's, never the commit's: local.stateDir is ignored.
    if (await isWithin(stateDir, source.treeRoot)) {
      return failed(ctx, [
        error('state-dir-in-checkout', `the state directory ${stateDir} is inside ${source.treeRoot}`, {
          hint: 'a commit could then write its own state and locks; choose --state-dir outside the repository checkout or the followed directory',
        }),
      ]);
    }
    const metrics = createControllerMetrics();
    const loop = new SyncLoop({
      source,
      // The checkout is the tree root: a commit may name files inside it and nowhere else.
      // A run records the commit checked out, so no git ever runs inside the checkout for it.
      openProject: (paths, revision) =>
        openProject(paths, {
          operator: { ...operator, stateDir, treeRoot: source.treeRoot },
          ...(source.kind === 'git' && { sourceRevision: revision }),
        }),
      log,
      metrics,
      version: packageVersion(),
      pollMs: options.repo ? pollMs : undefined,
      resyncMs,
      progressMs,
      leaseTtlMs,
      selfHeal: options.selfHeal,
      prune: options.prune ?? false,
      parallelism: Math.max(1, Number.parseInt(options.parallelism, 10) || 10),
      // mlform.yaml's notifications, under the operator's destination rules (the policy's hosts join per commit).
      notify: { operator: await notifyOperator(options, ctx.env), env: ctx.env },
    });

    const dashboardSource = new ControllerSource(loop);
    const started = await startStatusServer({
      listen: options.listen,
      dashboard: { source: dashboardSource, build: createViewBuilder() },
      bounds,
      authToken: auth.token,
      registry: metrics.registry,
      status: () => loop.status(),
      isReady: () => loop.isReady,
      isLeader: () => loop.isLeader,
      webhookSecret: secret.secret,
      onWebhook: () => {
        const outcome = loop.requestFetch();
        log.info({ outcome }, 'webhook received');
        return outcome;
      },
      onWebhookRejected: (reason) => {
        metrics.errors.inc({ type: 'webhook' });
        log.warn({ reason }, 'webhook rejected');
      },
    });
    const server = started.server;
    if (!server) {
      dashboardSource.close();
      return failed(ctx, started.diagnostics);
    }
    // Handlers first: whoever reads "listening" may signal at once, and a SIGTERM before a handler
    // exists kills the process without the lease being released.
    let stopListening = (): void => {};
    const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
      stopListening = ctx.onStopSignal(resolve);
    });
    log.info(
      {
        url: server.url,
        source: source.description,
        stateDir,
        identity: loop.identity,
        selfHeal: options.selfHeal,
        prune: options.prune ?? false,
        webhook: secret.secret ? 'enabled' : 'disabled',
        auth: auth.token ? 'bearer token' : 'none (loopback only)',
      },
      'listening',
    );
    loop.start();

    const signal = await stopSignal;
    log.info({ signal }, 'shutting down: finishing the current change');
    await loop.stop();
    await server.close();
    dashboardSource.close();
    stopListening();
    log.info('stopped');
    return 0;
  }
}

/**
 * The log carries manifest values (a bad commit's diagnostics name its keys and values). JSON
 * escapes C0 controls but not DEL, C1 or the bidi controls, which `kubectl logs` would hand to a
 * terminal raw: they become `\u` escapes, still valid JSON with the same value.
 */
function jsonLinesWithoutControls(out: { write(text: string): unknown }): { write(text: string): unknown } {
  return { write: (text: string) => out.write(sanitizeOutput(text, false)) };
}

/**
 * The workdir and the state directory, made (0700) or checked (workdir.ts). The default workdir is
 * per source, not per process: the state in it must survive a restart (running servers are found
 * again) and be shared by replicas on one host (the leader lease lives there). Checkouts are per
 * process below it, since two replicas must not share one.
 */
async function controllerFolders(
  workdirFlag: string | undefined,
  stateDirFlag: string | undefined,
  source: string,
  env: Record<string, string | undefined>,
): Promise<{ workDir: string; stateDir: string } | { diagnostic: Diagnostic }> {
  const hint = 'pass --workdir <dir>: a folder of your own that no other user can write, or a new path';
  let workDir: string;
  let problem: Diagnostic | undefined;
  if (workdirFlag !== undefined) {
    workDir = resolve(workdirFlag);
    problem = await ensurePrivateDir(workDir, { what: '--workdir', hint, operatorGiven: true });
  } else {
    const chosen = defaultWorkDir(source, env);
    if ('diagnostic' in chosen) return chosen;
    workDir = chosen.dir;
    problem = await ensurePrivateDir(workDir, { what: 'the default workdir', hint, base: chosen.base });
  }
  if (problem) return { diagnostic: problem };
  const stateDir = stateDirFlag !== undefined ? resolve(stateDirFlag) : join(workDir, 'state');
  problem =
    stateDirFlag !== undefined
      ? await ensurePrivateDir(stateDir, {
          what: '--state-dir',
          hint: 'pass --state-dir <dir> (or $MLFORM_STATE_DIR): a folder of your own that no other user can write',
          operatorGiven: true,
          leaveLast: true,
        })
      : await ensurePrivateDir(stateDir, {
          what: 'the state directory',
          hint,
          base: workDir,
          leaveLast: true,
        });
  problem ??= await ensurePrivateDir(join(workDir, 'checkouts'), {
    what: 'the checkouts folder',
    hint,
    base: workDir,
  });
  return problem ? { diagnostic: problem } : { workDir, stateDir };
}

/** Removes the checkouts of controllers that are gone (named after their pid). */
async function sweepCheckouts(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid && !pidExists(Number(e)))
      .map((e) => rm(join(dir, e), { recursive: true, force: true }).catch(() => undefined)),
  );
}
