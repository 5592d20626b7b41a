/** Parse HOST:PORT listen addresses ("127.0.0.1:53", "[::1]:53", "0.0.0.0:0"). Pure. */
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(text: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`bad listen address "${text}": expected HOST:PORT or [IPv6]:PORT`);
  const host = m[1];
  const port = Number(m[2]);
  if (!isIP(host) && host !== 'localhost')
    throw new UsageError(`bad listen address "${text}": "${host}" is not an IP address`);
  if (port > 65535) throw new UsageError(`bad listen address "${text}": port out of range`);
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
