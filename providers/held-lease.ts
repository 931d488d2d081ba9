/** A lease record as `Provider.inspectLock` reports it (`mlform unlock`), for both providers. */
import { hostname } from 'node:os';
import { error, type Diagnostic } from '../resources/diagnostic.js';
import type { HeldLease, Response } from './provider.js';
import { pidExists } from './local/processes.js';

/** What both providers' lease records hold about their holder. */
export interface LeaseFields {
  holder: string;
  pid: number;
  hostname: string;
  acquiredAt: string;
  expiresAt: string;
}

/** Written on this host by a process that is gone: nobody will renew or release it. */
export const holderGone = (record: Pick<LeaseFields, 'hostname' | 'pid'>): boolean =>
  record.hostname === hostname() && Number.isInteger(record.pid) && !pidExists(record.pid);

/** The lease read (undefined: a lease file or object mlform cannot parse) and its release. */
export function heldLease(record: LeaseFields | undefined, release: () => Promise<Response>): HeldLease {
  return {
    holder: record?.holder ?? '(unreadable lease)',
    pid: record?.pid ?? 0,
    hostname: record?.hostname ?? '',
    acquiredAt: record?.acquiredAt ?? '',
    expiresAt: record?.expiresAt ?? '',
    holderGone: record !== undefined && holderGone(record),
    release,
  };
}

/** The release found another lease than the one read: it stays. */
export const lockChanged = (what: string, address: string): Diagnostic =>
  error('lock-changed', `the ${what} changed hands after it was read; left in place`, {
    address,
    hint: 'run `mlform unlock` again to see the new holder',
  });
