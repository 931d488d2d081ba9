/**
 * Where a notification may go. A sink's URL comes from a commit (through a secret the commit
 * names), so it is attacker-chosen: HTTPS only, no credentials in it, the host in the operator's
 * allow list when there is one, and every address the host resolves to outside loopback,
 * link-local (the cloud metadata server), private, shared, unique-local, multicast, reserved and
 * unspecified ranges — unless the operator allows private addresses (tests, an in-cluster
 * receiver). The request then connects to the address that was checked (`pinnedLookup`), so a DNS
 * answer that changes between the check and the connect cannot move it. Refusals name the sink,
 * never the URL (the URL is the secret).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface DestinationPolicy {
  /** `--notify-allow-private` / `MLFORM_NOTIFY_ALLOW_PRIVATE=1`. */
  allowPrivate: boolean;
  /**
   * Host lists a destination must be in, each (the operator's `--notify-allow-host`, the policy
   * file's `notificationHosts`). `hooks.slack.com` matches that host; `.example.com` any host under it.
   */
  allowHosts: readonly (readonly string[])[];
}

export type LookupAll = (host: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: LookupAll = (host) => dnsLookup(host, { all: true, verbatim: true });

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // shared address space (carrier NAT)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local: 169.254.169.254 is the metadata server
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
  ['100::', 64], // discard
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** An IPv4 address carried inside an IPv6 one (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`). */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return undefined;
  const [hi, lo] = [Number.parseInt(hex[1], 16), Number.parseInt(hex[2], 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True for an address a commit must not make mlform send to. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined) return blocked.check(v4, 'ipv4');
  return blocked.check(address, 'ipv6');
}

export const hostAllowed = (host: string, list: readonly string[]): boolean =>
  list.some((entry) => {
    const e = entry.trim().toLowerCase();
    return e.startsWith('.') ? host.endsWith(e) : host === e;
  });

/** A refusal: the message names the sink and why, never the URL. */
export class DestinationError extends Error {
  override name = 'DestinationError';
}

export interface CheckedDestination {
  url: URL;
  /** The address checked, which the request must connect to. */
  address: string;
  family: 4 | 6;
}

export async function checkDestination(
  sink: string,
  rawUrl: string,
  policy: DestinationPolicy,
  lookup: LookupAll = systemLookup,
): Promise<CheckedDestination> {
  let url: URL;
  try {
    url = new URL(rawUrl.trim());
  } catch {
    throw new DestinationError(`sink ${sink}: its URL is not a URL`);
  }
  if (url.protocol !== 'https:') {
    throw new DestinationError(
      `sink ${sink}: its URL must be https:// (got ${url.protocol.replace(':', '')})`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new DestinationError(
      `sink ${sink}: its URL carries a user name or password; put credentials in the signing key`,
    );
  }
  // `new URL` lower-cases the host and keeps IPv6 literals in brackets.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  for (const list of policy.allowHosts) {
    if (!hostAllowed(host, list)) {
      throw new DestinationError(
        `sink ${sink}: its host is not in the operator's allowed notification hosts (${list.join(', ')})`,
      );
    }
  }
  let addresses: { address: string; family: number }[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await lookup(host);
    } catch {
      throw new DestinationError(`sink ${sink}: its host does not resolve`);
    }
  }
  if (addresses.length === 0) throw new DestinationError(`sink ${sink}: its host does not resolve`);
  if (!policy.allowPrivate) {
    const refused = addresses.filter((a) => isPrivateAddress(a.address));
    if (refused.length > 0) {
      throw new DestinationError(
        `sink ${sink}: its host resolves to a loopback, link-local or private address (${refused.map((a) => a.address).join(', ')}); ` +
          'allow it with --notify-allow-private (MLFORM_NOTIFY_ALLOW_PRIVATE=1) if that is intended',
      );
    }
  }
  const first = addresses[0];
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` for http(s).request/Agent that answers the checked address and nothing else. */
export function pinnedLookup(checked: Pick<CheckedDestination, 'address' | 'family'>): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: checked.address, family: checked.family }]);
    else callback(null, checked.address, checked.family);
  }) as LookupFunction;
}
