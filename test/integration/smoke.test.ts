import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, udpQuery, tcpQuery } from '../helpers/dns.js';
import { testConfig } from '../helpers/configs.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('smoke: a server on the fixture database answers over UDP and TCP', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(testConfig());
  });
  afterAll(() => t.close());

  it('answers a static name with AA over UDP and TCP', async () => {
    for (const q of [udpQuery, tcpQuery]) {
      const r = await q(t.port, { name: 'www.example.net', type: 'A' });
      expect(r.rcode).toBe(0);
      expect(r.flags.aa).toBe(true);
      expect(addresses(r)).toEqual(['198.51.100.10']);
    }
  });

  it('answers a geo name per ECS client with the nearest PoP and a merged scope', async () => {
    const r = await udpQuery(t.port, { name: 'cdn.example.net', type: 'A', ecs: '6.0.1.0/24' });
    expect(addresses(r)).toEqual(['192.0.2.6']);
    expect(r.ecs?.scope).toBeGreaterThan(0);
    expect(r.ecs?.scope).toBeLessThanOrEqual(16);
  });
});

describe('smoke: the batched UDP path is in use when the addon is built', () => {
  it('reports its UDP mode consistently with the addon', async () => {
    const { batchAddon } = await import('../../src/transport/udp-batch.js');
    const t = await startServer(testConfig());
    try {
      expect(t.server.data.udpMode).toBe(batchAddon() ? 'batched' : 'dgram');
      if (batchAddon()) expect(t.server.data.udp[0].socket).toBeNull();
      expect(addresses(await udpQuery(t.port, { name: 'www.example.net' }))).toEqual(['198.51.100.10']);
    } finally {
      await t.close();
    }
  });
});
