/**
 * Health probes, the only I/O of the health stage: HTTP(S) requests and TCP
 * connects with a hard timeout. A probe always settles with a verdict and a
 * short reason (timeout, refused, reset, status 503, body mismatch, tls error,
 * ...) and never throws; a hanging endpoint costs one timeout.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { HealthCheckConfig } from '../build/config/schema.js';

export interface ProbeResult {
  ok: boolean;
  reason: string | null;
  durationMs: number;
}

export interface ProbeTarget {
  address: string;
  port: number;
}

/** Map a socket/TLS error to a short, low-cardinality reason. */
export function failureReason(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  // health.source_address is not an address of this host (or not of the target's family).
  if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return 'source address';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test(code) || /certificate|ssl|tls/i.test(err.message))
    return 'tls error';
  return 'error';
}

/** Target address and port for a PoP's check. */
export function probeTarget(check: HealthCheckConfig, pop: { ipv4: string[]; ipv6: string[] }): ProbeTarget {
  const address = check.target ?? pop.ipv4[0] ?? pop.ipv6[0];
  const port = check.port ?? (check.type === 'https' ? 443 : 80);
  return { address, port };
}

function tcpProbe(t: ProbeTarget, timeoutMs: number, localAddress: string | undefined): Promise<ProbeResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host: t.address, port: t.port, localAddress });
    const done = (ok: boolean, reason: string | null) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok, reason, durationMs: performance.now() - start });
    };
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    sock.once('connect', () => done(true, null));
    sock.once('error', (err) => done(false, failureReason(err)));
  });
}

const MAX_BODY = 64 * 1024;

function httpProbe(
  check: HealthCheckConfig,
  t: ProbeTarget,
  timeoutMs: number,
  localAddress: string | undefined,
): Promise<ProbeResult> {
  const start = performance.now();
  const secure = check.type === 'https';
  const lib = secure ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, reason: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ok, reason, durationMs: performance.now() - start });
    };
    const host = check.host ?? t.address;
    const req = lib.request(
      {
        host: t.address,
        port: t.port,
        localAddress,
        method: check.method,
        path: check.path,
        headers: {
          host: t.port === (secure ? 443 : 80) ? host : `${host}:${t.port}`,
          'user-agent': 'meridian-health/1',
          connection: 'close',
        },
        agent: false,
        servername: secure && !net.isIP(host) ? host : undefined,
        rejectUnauthorized: check.tls_verify,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (!check.expect_status.includes(status)) {
          res.resume();
          done(false, `status ${status}`);
          return;
        }
        if (check.expect_body === undefined || check.method === 'HEAD') {
          res.resume();
          done(true, null);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8');
          done(body.includes(check.expect_body!), body.includes(check.expect_body!) ? null : 'body mismatch');
        });
        res.on('error', (err) => done(false, failureReason(err)));
      },
    );
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done(false, failureReason(err)));
    req.end();
  });
}

/**
 * Run one probe of `check` against `target`, from `source` (health.source_address:
 * a local address, for multi-homed hosts) when given. Never rejects.
 */
export function runProbe(check: HealthCheckConfig, target: ProbeTarget, source?: string): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, check.timeout * 1000);
  if (check.type === 'tcp') return tcpProbe(target, timeoutMs, source);
  return httpProbe(check, target, timeoutMs, source);
}
