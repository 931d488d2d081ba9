/**
 * The operator's say over notifications (SECURITY.md "Notification destinations"): flags of
 * `apply`, `destroy` and `controller`, or the environment. A commit can name sinks; only the
 * operator can allow private addresses, restrict hosts or add a CA.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { OptionDefinition } from '../cli/command.js';
import { collect } from '../cli/operator.js';
import type { NotifyOperator } from './notifier.js';

export const NOTIFY_ENV = {
  allowPrivate: 'MLFORM_NOTIFY_ALLOW_PRIVATE',
  allowHosts: 'MLFORM_NOTIFY_ALLOW_HOSTS',
  ca: 'MLFORM_NOTIFY_CA',
} as const;

export interface NotifyFlags {
  notifyAllowPrivate?: boolean;
  notifyAllowHost?: string[];
  notifyCa?: string;
}

export const NOTIFY_OPTIONS: readonly OptionDefinition[] = [
  {
    flags: '--notify-allow-private',
    description: `let notification sinks reach loopback, link-local and private addresses (default $${NOTIFY_ENV.allowPrivate}=1)`,
  },
  {
    flags: '--notify-allow-host <hosts>',
    description: `hosts notification sinks may reach, comma-separated; .example.com allows its subdomains (repeatable; default $${NOTIFY_ENV.allowHosts})`,
    parse: collect,
  },
  {
    flags: '--notify-ca <file>',
    description: `PEM certificates to trust, besides the system's, for notification receivers (default $${NOTIFY_ENV.ca})`,
  },
];

const hostsOf = (values: readonly string[]): string[] =>
  values
    .flatMap((v) => v.split(','))
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');

/** Flags first, then the environment; the policy file's `notificationHosts` applies as well. */
export async function notifyOperator(
  flags: NotifyFlags,
  env: NodeJS.ProcessEnv,
  policyHosts?: readonly string[],
): Promise<NotifyOperator> {
  const hosts = hostsOf(flags.notifyAllowHost ?? [env[NOTIFY_ENV.allowHosts] ?? '']);
  const caFile = flags.notifyCa ?? (env[NOTIFY_ENV.ca] || undefined);
  return {
    policy: {
      allowPrivate: flags.notifyAllowPrivate === true || env[NOTIFY_ENV.allowPrivate] === '1',
      allowHosts: [
        ...(hosts.length > 0 ? [hosts] : []),
        ...(policyHosts && policyHosts.length > 0 ? [hostsOf(policyHosts)] : []),
      ],
    },
    ...(caFile !== undefined && { ca: [await readCa(caFile)] }),
  };
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(resolve(file), 'utf8');
  } catch {
    throw new Error(`--notify-ca ${file}: cannot read it; give a PEM file of the CA certificates to trust`);
  }
}
