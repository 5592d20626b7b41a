/**
 * The optional sampled query log (logging.query_sample = N: one query in N),
 * off by default. It decodes the query and the answer after the fact, off the
 * answer's critical path, and never writes a full client address: IPv4 is cut
 * to /24 and IPv6 to /56, for the source address and the ECS subnet alike.
 */
import dnsPacket from 'dns-packet';
import type { Logger } from 'pino';
import { formatIp, maskInPlace, parseIp } from '../net/ip.js';

/** Truncate an address to /24 (IPv4) or /56 (IPv6) for logs. */
export function truncateAddress(text: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  const ip = parseIp(mapped ? mapped[1] : text);
  if (!ip) return 'invalid';
  const len = ip.family === 4 ? 24 : 56;
  maskInPlace(ip.bytes, len);
  return `${formatIp(ip.family, ip.bytes)}/${len}`;
}

function ecsOf(p: dnsPacket.DecodedPacket): string | null {
  for (const a of p.additionals ?? []) {
    if (a.type !== 'OPT') continue;
    for (const o of (a as unknown as { options?: Array<{ code: number; ip?: string; sourcePrefixLength?: number }> })
      .options ?? []) {
      if (o.code === 8 && o.ip !== undefined) {
        const t = truncateAddress(o.ip);
        const [addr, cut] = t.split('/');
        return `${addr}/${Math.min(Number(cut), o.sourcePrefixLength ?? 0)}`;
      }
    }
  }
  return null;
}

export function logSampledQuery(
  log: Logger,
  msg: Buffer,
  len: number,
  client: string,
  transport: number,
  reply: Buffer | null,
): void {
  try {
    const q = dnsPacket.decode(msg.subarray(0, len));
    const r = reply ? dnsPacket.decode(reply) : null;
    const question = q.questions?.[0];
    const scope = r
      ? (r.additionals ?? [])
          .flatMap((a) =>
            a.type === 'OPT'
              ? ((a as unknown as { options?: Array<{ code: number; scopePrefixLength?: number }> }).options ?? [])
              : [],
          )
          .find((o) => o.code === 8)?.scopePrefixLength
      : undefined;
    log.info(
      {
        transport: transport === 0 ? 'udp' : 'tcp',
        client: truncateAddress(client),
        ecs: ecsOf(q),
        qname: question?.name,
        qtype: question?.type,
        rcode: r ? (r.flags ?? 0) & 0xf : null,
        answers: (r?.answers ?? [])
          .filter((a) => a.type === 'A' || a.type === 'AAAA')
          .map((a) => (a as { data: string }).data),
        scope: scope ?? null,
      },
      'query',
    );
  } catch {
    log.info({ client: truncateAddress(client), transport: transport === 0 ? 'udp' : 'tcp' }, 'query (undecodable)');
  }
}
