/**
 * Addresses for the SIP transports: `host[:port]` parsing (with `[v6]:port`), name resolution, and the
 * local address the operating system would use to reach a server (what goes in Via and Contact).
 */
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** A host (name or IP literal, IPv6 without brackets) and a port. */
export interface HostPort {
  host: string;
  port: number;
}

/** The SIP transports we speak. */
export type SipTransportName = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export const SIP_TRANSPORTS: readonly SipTransportName[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** RFC 3261 §19.1.2: 5060 for UDP and TCP, 5061 for TLS; RFC 7118: the HTTP ports for WebSocket. */
export function defaultSipPort(transport: SipTransportName): number {
  return { udp: 5060, tcp: 5060, tls: 5061, ws: 80, wss: 443 }[transport];
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port`. Throws a TypeError that names `option` when the
 * text is not an address (so that a bad config says which field is wrong).
 */
export function parseHostPort(text: unknown, defaultPort: number, option: string): HostPort {
  if (typeof text !== 'string' || text.trim() === '') throw new TypeError(`${option}: expected host[:port], got ${JSON.stringify(text)}`);
  const value = text.trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
    if (isIP(host) !== 6) throw new TypeError(`${option}: "${value}" is not an IPv6 address in brackets`);
  } else if (isIP(value) === 6) {
    host = value; // a bare IPv6 literal: no port possible
  } else {
    const colon = value.lastIndexOf(':');
    host = colon < 0 ? value : value.slice(0, colon);
    portText = colon < 0 ? undefined : value.slice(colon + 1);
    if (isIP(host) !== 4 && !HOST_NAME.test(host)) throw new TypeError(`${option}: "${host}" is not a host name or IP address`);
  }
  const port = portText === undefined ? defaultPort : parsePort(portText, option);
  return { host, port };
}

/** A port 1–65535 (0 only with `allowZero`: "any free port"). */
export function parsePort(value: unknown, option: string, allowZero = false): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) {
    throw new TypeError(`${option}: expected a port ${allowZero ? '0' : '1'}-65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `host:port` as written in a URI or a log line (`[v6]:port`). */
export function formatHostPort(address: HostPort): string {
  return `${isIP(address.host) === 6 ? `[${address.host}]` : address.host}:${address.port}`;
}

/** Resolves a name to one IP address (an IP literal is returned as it is). */
export async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  const found = await lookup(host);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

/**
 * The local IP address the operating system would send from to reach `remote` (a route lookup: a UDP
 * socket is "connected", which sends nothing, and asked for its address). This is what Via and Contact
 * must carry, since a server answers and calls back there.
 */
export function localAddressFor(remote: { address: string; family: 4 | 6 }, port = 5060): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(remote.family === 6 ? 'udp6' : 'udp4');
    const finish = (err: Error | undefined, address?: string): void => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve(address as string);
    };
    socket.once('error', (err) => finish(err));
    socket.connect(port, remote.address, () => {
      try {
        finish(undefined, socket.address().address);
      } catch (err) {
        finish(err as Error);
      }
    });
  });
}
