/**
 * Credentials for testing the fleet's NATS authentication the way operators
 * deploy it: a small PKI made by the openssl CLI (a CA, a server certificate
 * for 127.0.0.1, a client certificate), and NATS decentralised auth (an
 * operator, a JetStream-enabled account, a system account and a user) with
 * the server config that trusts them and the user's `.creds` file, signed
 * here with @nats-io/nkeys as `nsc` would.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function signedCert(dir: string, name: string, subject: string, ext: string): { cert: string; key: string } {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  const extFile = path.join(dir, `${name}.ext`);
  writeFileSync(extFile, `${ext}\n`);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    subject,
  ]);
  run([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    path.join(dir, 'ca.pem'),
    '-CAkey',
    path.join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    extFile,
  ]);
  return { cert, key };
}

/**
 * A CA, a server certificate and a client certificate, in `dir`. The server
 * certificate names IP 127.0.0.1 and DNS localhost: the nats.js client
 * upgrades to TLS after the server's INFO and, for a URL with an IP address,
 * checks the certificate against "localhost" (it sends no SNI for an IP).
 */
export function testPki(dir: string): TestPki {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path.join(dir, 'ca.key'),
      '-out',
      path.join(dir, 'ca.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=meridian test CA',
    ],
    { stdio: 'ignore' },
  );
  const server = signedCert(
    dir,
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth',
  );
  const client = signedCert(dir, 'client', '/CN=meridian', 'extendedKeyUsage=clientAuth');
  return {
    ca: path.join(dir, 'ca.pem'),
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
  };
}

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

/** A NATS JWT (ed25519-nkey), signed by `issuer`. */
function jwt(issuer: KeyPair, subject: KeyPair, name: string, nats: Record<string, unknown>): string {
  const header = b64u(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims = b64u(
    JSON.stringify({
      jti: randomUUID().replace(/-/g, '').toUpperCase(),
      iat: Math.floor(Date.now() / 1000),
      iss: issuer.getPublicKey(),
      name,
      sub: subject.getPublicKey(),
      nats: { ...nats, version: 2 },
    }),
  );
  return `${header}.${claims}.${b64u(issuer.sign(Buffer.from(`${header}.${claims}`)))}`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

function credsFile(userJwt: string, user: KeyPair): string {
  const seed = Buffer.from(user.getSeed()).toString();
  return `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
}

/**
 * Operator-mode auth in `dir`: `server.conf` (operator, memory resolver with
 * the accounts preloaded), `meridian.creds` (a user of the JetStream account)
 * and `stranger.creds` (a user signed by an account the server does not know).
 */
export function operatorAuth(dir: string): { serverConf: string; creds: string; strangerCreds: string } {
  const operator = createOperator();
  const account = createAccount();
  const system = createAccount();
  const user = createUser();
  const accountJwt = jwt(operator, account, 'meridian', {
    type: 'account',
    limits: { ...UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  const systemJwt = jwt(operator, system, 'SYS', { type: 'account', limits: UNLIMITED });
  const serverConf = path.join(dir, 'server.conf');
  writeFileSync(
    serverConf,
    [
      `operator: ${jwt(operator, operator, 'test operator', { type: 'operator' })}`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      `resolver_preload: {\n  ${account.getPublicKey()}: ${accountJwt}\n  ${system.getPublicKey()}: ${systemJwt}\n}`,
      '',
    ].join('\n'),
  );
  const userClaims = { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 };
  const creds = path.join(dir, 'meridian.creds');
  writeFileSync(creds, credsFile(jwt(account, user, 'ns1', userClaims), user));
  const stranger = createUser();
  const strangerCreds = path.join(dir, 'stranger.creds');
  writeFileSync(strangerCreds, credsFile(jwt(createAccount(), stranger, 'stranger', userClaims), stranger));
  return { serverConf, creds, strangerCreds };
}
