/**
 * `meridian reload`: ask a running server to reload, show what is held, or
 * accept a held change, through the admin API (the same calls as
 * POST /admin/reload and POST /admin/reload?accept=ID). The admin address
 * and token come from the config file the server runs (admin.listen,
 * admin.token / admin.token_env), or --admin and MERIDIAN_ADMIN_TOKEN.
 *
 * Exit codes: 0 reloaded (or accepted), 1 failed or refused, 3 held by the
 * change guard (accept it with `meridian reload --accept ID`).
 */
import { loadConfigFile } from '../build/config/load.js';
import { ConfigError } from '../errors.js';
import { formatHostPort, parseHostPort } from '../net/listen-address.js';
import { formatChangeReport, type ChangeReport } from '../build/change-guard.js';

export interface ReloadOptions {
  configFile: string;
  /** HOST:PORT of the admin listener (overrides the config). */
  admin?: string;
  /** --accept given; `id` pins the change reviewed (else the one held now). */
  accept: boolean;
  id?: string;
  status: boolean;
  json: boolean;
}

interface Io {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** Where the server's admin API is and the token for writes, from the config (or the flags). */
function target(opts: ReloadOptions): { base: string; token: string | null } {
  let listen = opts.admin;
  let token: string | null = process.env.MERIDIAN_ADMIN_TOKEN ?? null;
  try {
    const { config } = loadConfigFile(opts.configFile);
    listen ??= config.admin.listen;
    token =
      config.admin.token ?? (config.admin.token_env ? (process.env[config.admin.token_env] ?? null) : null) ?? token;
  } catch (err) {
    if (!(err instanceof ConfigError) || !opts.admin) throw err;
  }
  const hp = parseHostPort(listen!);
  // A wildcard listener is reached on loopback.
  const host = hp.host === '0.0.0.0' ? '127.0.0.1' : hp.host === '::' ? '::1' : hp.host;
  return { base: `http://${formatHostPort({ host, port: hp.port })}`, token };
}

async function call(
  base: string,
  method: string,
  path: string,
  token: string | null,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(600_000),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { error: text.trim() };
  }
  return { status: res.status, body };
}

export async function reloadCommand(opts: ReloadOptions, io: Io = stdio): Promise<number> {
  const { base, token } = target(opts);
  const show = (body: unknown) => io.out(JSON.stringify(body, null, 2));
  let r: Awaited<ReturnType<typeof call>>;
  try {
    if (opts.status) {
      r = await call(base, 'GET', '/admin/reload', null);
      if (opts.json) show(r.body);
      else {
        const held = r.body.held as { id: string; report: ChangeReport } | null;
        const running = r.body.running as { elapsedSeconds: number; reason: string } | null;
        io.out(
          running
            ? `a reload is running (${running.reason}, ${running.elapsedSeconds.toFixed(1)} s)`
            : 'no reload running',
        );
        io.out(held ? `held change ${held.id}:\n${formatChangeReport(held.report)}` : 'no change held');
      }
      return r.status === 200 ? 0 : 1;
    }
    if (opts.accept) {
      let id = opts.id;
      if (!id) {
        const status = await call(base, 'GET', '/admin/reload', null);
        const held = status.body.held as { id: string; report: ChangeReport } | null;
        if (!held) {
          io.err('meridian reload: no change is held: nothing to accept');
          return 1;
        }
        id = held.id;
        if (!opts.json) io.out(`accepting held change ${id}:\n${formatChangeReport(held.report)}`);
      }
      r = await call(base, 'POST', `/admin/reload?accept=${encodeURIComponent(id)}`, token);
      if (opts.json) show(r.body);
      else if (r.status === 200) io.out(`change ${id} applied`);
      else io.err(`meridian reload: ${String(r.body.error ?? r.body.message)} (HTTP ${r.status})`);
      return r.status === 200 ? 0 : 1;
    }
    r = await call(base, 'POST', '/admin/reload', token);
  } catch (err) {
    io.err(`meridian reload: cannot reach the admin API at ${base}: ${(err as Error).message}`);
    return 1;
  }
  if (opts.json) show(r.body);
  else if (r.status === 200) io.out(`reloaded (${String(r.body.compileMs)} ms)`);
  else if (r.status === 409 && r.body.held) {
    const report = r.body.held as ChangeReport;
    io.out(formatChangeReport(report));
    io.out(`held: apply it with \`meridian reload --accept ${report.id}\` (or POST /admin/reload?accept=${report.id})`);
  } else io.err(`meridian reload: ${String(r.body.error ?? r.body.message)} (HTTP ${r.status})`);
  return r.status === 200 ? 0 : r.status === 409 && r.body.held ? 3 : 1;
}
