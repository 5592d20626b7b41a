/**
 * The node:dgram fallback (used when the batched-UDP addon is not built or
 * MERIDIAN_UDP=dgram): the same answers as the batched path. This file forces
 * the fallback for its own process (vitest runs each file in its own fork).
 */
process.env.MERIDIAN_UDP = 'dgram';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchAddon } from '../../../src/transport/udp-batch.js';
import { addresses, udpQuery, udpRaw, buildQuery, decodeReply } from '../../helpers/dns.js';
import { testConfig } from '../../helpers/configs.js';
import { startServer, type TestServer } from '../../helpers/server.js';

describe('UDP over node:dgram (fallback)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(testConfig());
  });
  afterAll(() => t.close());

  it('is really the fallback', () => {
    expect(batchAddon()).toBeNull();
    expect(t.server.data.udpMode).toBe('dgram');
    expect(t.server.data.udp[0].socket).not.toBeNull();
  });

  it('answers static and geo names, with ECS scope, truncation and errors', async () => {
    expect(addresses(await udpQuery(t.port, { name: 'www.example.net' }))).toEqual(['198.51.100.10']);
    const geo = await udpQuery(t.port, { name: 'cdn.example.net', ecs: '6.0.1.0/24' });
    expect(addresses(geo)).toEqual(['192.0.2.6']);
    expect(geo.ecs?.scope).toBeGreaterThan(0);
    const noEcs = await udpQuery(t.port, { name: 'cdn.example.net' });
    expect(addresses(noEcs)).toEqual(['192.0.2.1']); // 127.0.0.1 is Berlin in the fixture
    const big = decodeReply((await udpRaw(t.port, buildQuery({ name: 'big.example.net', type: 'TXT' })))!);
    expect(big.flags.tc).toBe(true);
    expect((await udpQuery(t.port, { name: 'example.com' })).rcode).toBe(5);
  });

  it('drops responses (QR=1) and runts', async () => {
    const q = buildQuery({ name: 'www.example.net' });
    q[2] |= 0x80;
    expect(await udpRaw(t.port, q, '127.0.0.1', 300)).toBeNull();
    expect(await udpRaw(t.port, Buffer.alloc(5), '127.0.0.1', 300)).toBeNull();
  });
});
