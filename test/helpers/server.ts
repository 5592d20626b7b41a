/**
 * Start a real Meridian server for a test: the YAML goes to a temp dir (so
 * relative paths and reloads work like in production), listeners on
 * 127.0.0.1 port 0 (and ::1 when asked).
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeridianServer } from '../../src/plane/server.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'geo-data', 'fixtures');

export interface TestServer {
  server: MeridianServer;
  port: number;
  dir: string;
  configFile: string;
  /** Rewrite the config file (atomically, by rename). */
  writeConfig(yaml: string): void;
  close(): Promise<void>;
}

export function tempDir(prefix = 'meridian-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, text);
  // rename(2) is atomic: readers see the old or the new file, never half of one.
  renameSync(tmp, file);
}

export async function startServer(
  yaml: string,
  opts: { listen?: string[]; files?: Record<string, string>; admin?: string | null } = {},
): Promise<TestServer> {
  const dir = tempDir();
  const configFile = path.join(dir, 'meridian.yaml');
  writeFileSync(configFile, yaml);
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(path.join(dir, name), text);
  const server = await MeridianServer.start({
    configFile,
    listen: opts.listen ?? ['127.0.0.1:0'],
    admin: opts.admin === undefined ? '127.0.0.1:0' : opts.admin,
  });
  return {
    server,
    port: server.addresses[0].port,
    dir,
    configFile,
    writeConfig: (text) => writeAtomically(configFile, text),
    close: async () => {
      await server.close(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
