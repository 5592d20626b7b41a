/**
 * What the NATS engine does on Debian's nats-server 2.9 with the pinned
 * official clients (@nats-io/transport-node, kv, obj 3.4.0). src/plane/fleet is
 * built on these facts; each one is checked here against a real server so a
 * client or server upgrade that changes one of them fails loudly:
 * KV put/get/watch (last values, updates only, history), bucket max_age
 * expiry (silent to watchers), per-message TTL (ignored by 2.9), multi-key
 * watch filters (refused by 2.9), Object Store put/get/watch, and a server
 * killed and restarted (reconnect; watches survive when the store does, and
 * die silently when it does not).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KvWatchEntry } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { startNatsServer, type NatsServer } from '../../helpers/nats.js';
import { until } from '../../helpers/dns.js';

let server: NatsServer;
let nc: NatsConnection;
const statuses: string[] = [];

/** Collect a watch's entries as "key=value" or "key:DEL". */
function collect(iter: AsyncIterable<KvWatchEntry>): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const e of iter) seen.push(e.operation === 'PUT' ? `${e.key}=${e.string()}` : `${e.key}:${e.operation}`);
  })();
  return seen;
}

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  void (async () => {
    for await (const s of nc.status()) statuses.push(s.type);
  })();
});

afterAll(async () => {
  await nc?.close();
  await server?.close();
});

describe('nats-server 2.9 with the 3.x clients', () => {
  it('is the server the project targets', () => {
    expect(nc.info?.version).toMatch(/^2\.(9|[1-9]\d)\./);
    expect(nc.info?.jetstream).toBe(true);
  });

  it('KV: create, put, get, and watch (last values, then updates; updates only; full history)', async () => {
    const kv = await new Kvm(nc).create('engine-kv', { history: 5 });
    await kv.put('members.a', 'a1');
    await kv.put('members.b', 'b1');
    await kv.put('members.a', 'a2');
    expect((await kv.get('members.a'))?.string()).toBe('a2');
    const last = collect(await kv.watch({ key: 'members.>' }));
    const updates = collect(await kv.watch({ key: 'members.>', include: 'updates' }));
    const history = collect(await kv.watch({ key: 'members.>', include: 'history' }));
    await until(() => last.length === 2 && history.length === 3, 'the replays');
    await kv.put('members.c', 'c1');
    await kv.delete('members.b');
    await until(() => last.length === 4 && updates.length === 2 && history.length === 5, 'the updates');
    expect(last).toEqual(['members.b=b1', 'members.a=a2', 'members.c=c1', 'members.b:DEL']);
    expect(updates).toEqual(['members.c=c1', 'members.b:DEL']);
    expect(history).toEqual(['members.a=a1', 'members.b=b1', 'members.a=a2', 'members.c=c1', 'members.b:DEL']);
    // The entry's `created` is the server's timestamp of the message: one clock for every reader.
    const e = await kv.get('members.c');
    expect(Math.abs(e!.created.getTime() - Date.now())).toBeLessThan(5000);
  });

  it('KV: a watch over several keys (filter_subjects) is refused by 2.9, so the fleet watches one wildcard per bucket', async () => {
    const kv = await new Kvm(nc).create('engine-multi');
    await expect(kv.watch({ key: ['members.>', 'obs.>'] })).rejects.toThrow(/filter_subjects.*2\.10/);
  });

  it('KV: bucket max_age removes old values, and watchers hear nothing of it (expiry must be computed by readers)', async () => {
    const kv = await new Kvm(nc).create('engine-ttl', { ttl: 1000 });
    await kv.put('members.a', 'a1');
    const seen = collect(await kv.watch({ key: '>' }));
    await until(() => seen.length === 1, 'the first value');
    await until(async () => (await kv.get('members.a')) === null, 'max_age expiry', 5000);
    // The value is gone from the stream; the watch got no DEL/PURGE for it.
    await kv.put('members.z', 'z1');
    await until(() => seen.length === 2, 'the later put');
    expect(seen).toEqual(['members.a=a1', 'members.z=z1']);
  });

  it('KV: per-message TTL (a 2.11 feature) is accepted by the client and silently ignored by 2.9', async () => {
    const kv = await new Kvm(nc).create('engine-msgttl');
    await kv.create('members.a', 'a1', '1s');
    await new Promise((r) => setTimeout(r, 1600));
    // Still there: relying on per-key TTL would keep dead members forever on 2.9.
    expect((await kv.get('members.a'))?.string()).toBe('a1');
  });

  it('Object Store: put (chunked), get, metadata, and watch', async () => {
    const os = await new Objm(nc).create('engine-obj');
    const seen: string[] = [];
    const w = await os.watch();
    void (async () => {
      for await (const info of w) if (!info.deleted) seen.push(`${info.name}@${info.metadata?.version}`);
    })();
    const blob = Buffer.alloc(300_000, 7);
    const info = await os.putBlob({ name: 'bundle-1', metadata: { version: '1' } }, blob);
    expect([info.size, info.chunks > 1]).toEqual([300_000, true]);
    expect(Buffer.from((await os.getBlob('bundle-1'))!).equals(blob)).toBe(true);
    await os.putBlob({ name: 'bundle-2', metadata: { version: '2' } }, Buffer.from('small'));
    await until(() => seen.length === 2, 'both objects watched');
    expect(seen).toEqual(['bundle-1@1', 'bundle-2@2']);
    w.stop();
  });

  it('a server killed and restarted on its store: the client reconnects, data and watches survive, a put while down fails', async () => {
    const js = jetstream(nc, { timeout: 1000 });
    const kv = await new Kvm(js).create('engine-restart');
    await kv.put('members.a', 'before');
    const seen = collect(await kv.watch({ key: '>' }));
    await until(() => seen.length === 1, 'the value before');
    await server.kill();
    await until(() => statuses.includes('disconnect'), 'disconnect');
    // No queueing across an outage: the put is refused after the request timeout.
    await expect(kv.put('members.a', 'while-down')).rejects.toThrow();
    await server.restart();
    await until(() => statuses.includes('reconnect'), 'reconnect', 10_000);
    // JetStream may need a moment after the restart (until() retries on a throw).
    await until(async () => (await kv.put('members.a', 'after')) > 0, 'a put after the restart');
    await until(() => seen.includes('members.a=after'), 'the old watch delivering after the restart', 10_000);
    expect(seen[0]).toBe('members.a=before');
    expect(seen).not.toContain('members.a=while-down');
  });

  it('a server restarted on an empty store: buckets must be created again, and a watch from before stays silent (so the fleet resyncs on every reconnect)', async () => {
    const kv = await new Kvm(nc).create('engine-wiped');
    await kv.put('members.a', 'before');
    const seen = collect(await kv.watch({ key: '>' }));
    await until(() => seen.length === 1, 'the value before');
    await server.kill();
    rmSync(server.storeDir, { recursive: true, force: true });
    mkdirSync(server.storeDir);
    statuses.length = 0;
    await server.restart();
    await until(() => statuses.includes('reconnect'), 'reconnect', 10_000);
    const again = await until(() => new Kvm(nc).create('engine-wiped'), 'the bucket created again');
    expect(await again.get('members.a')).toBeNull();
    await again.put('members.a', 'after');
    const fresh = collect(await again.watch({ key: '>' }));
    await until(() => fresh.length === 1, 'a new watch');
    await new Promise((r) => setTimeout(r, 500));
    expect(seen).toEqual(['members.a=before']);
  });
});
