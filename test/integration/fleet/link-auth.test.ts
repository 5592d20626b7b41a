/**
 * FleetLink's connection options as operators write them (src/plane/fleet/link.ts):
 * TLS with a CA and a client certificate (file paths relative to the config's
 * directory), and a NATS credentials file under decentralised (operator/JWT)
 * auth, against a real nats-server 2.9. Wrong credentials or a missing client
 * certificate leave the link disconnected with the reason, retrying, and the
 * PoPs local.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fleetSchema } from '../../../src/plane/fleet/config.js';
import { FleetLink } from '../../../src/plane/fleet/link.js';
import { until } from '../../helpers/dns.js';
import { operatorAuth, testPki } from '../../helpers/nats-auth.js';
import { startNatsServer } from '../../helpers/nats.js';
import { tempDir } from '../../helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function link(dir: string, fleet: Record<string, unknown>, instance = 'ns1'): FleetLink {
  const l = FleetLink.start({ config: fleetSchema.parse(fleet), instance, baseDir: dir, pops: ['fra', 'syd'] });
  cleanups.push(() => l.close());
  return l;
}

function dirFor(prefix: string): string {
  const dir = tempDir(prefix);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('FleetLink authentication', () => {
  it('TLS with a client certificate: connects and syncs; without the client certificate it is refused and stays local', async () => {
    const dir = dirFor('meridian-fleet-tls-');
    const pki = testPki(dir);
    const server = await startNatsServer([
      '--tls',
      '--tlscert',
      pki.serverCert,
      '--tlskey',
      pki.serverKey,
      '--tlsverify',
      '--tlscacert',
      pki.ca,
    ]);
    cleanups.push(() => server.close());
    const url = `tls://127.0.0.1:${server.port}`;
    const good = link(dir, {
      servers: [url],
      tls: { ca_file: 'ca.pem', cert_file: 'client.pem', key_file: 'client.key' },
      heartbeat: '500ms',
    });
    await until(() => good.connection().connected, 'TLS connection in sync').catch((e) => {
      throw new Error(`${e.message}: ${good.connection().lastError}`);
    });
    await until(() => good.view().members.some((m) => m.self && m.alive), 'own heartbeat read back');
    const noCert = link(dir, { servers: [url], tls: { ca_file: 'ca.pem' } }, 'ns2');
    await until(() => noCert.connection().lastError !== null, 'a refusal reported');
    expect(noCert.connection().connected).toBe(false);
    expect(noCert.view().pops.every((p) => p.source === 'local')).toBe(true);
    const noCa = link(dir, { servers: [url], tls: { cert_file: 'client.pem', key_file: 'client.key' } }, 'ns3');
    await until(() => noCa.connection().lastError !== null, 'an unverifiable server refused');
    expect(noCa.connection().connected).toBe(false);
  });

  it('a credentials file (operator/JWT auth): connects and syncs; a user the server does not trust is refused', async () => {
    const dir = dirFor('meridian-fleet-creds-');
    const auth = operatorAuth(dir);
    const server = await startNatsServer(['-c', auth.serverConf]);
    cleanups.push(() => server.close());
    const good = link(dir, { servers: [server.url], credentials: 'meridian.creds', heartbeat: '500ms' });
    await until(() => good.connection().connected, 'connected with the credentials file');
    await good.setOverride('fra', 'drain');
    await until(
      () => good.view().pops.find((p) => p.pop === 'fra')!.override?.override === 'drain',
      'the override read back',
    );
    const stranger = link(dir, { servers: [server.url], credentials: 'stranger.creds' }, 'ns2');
    await until(() => /authoriz/i.test(stranger.connection().lastError ?? ''), 'an authorization refusal reported');
    expect(stranger.connection().connected).toBe(false);
  });
});
