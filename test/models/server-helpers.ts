/**
 * Test helpers for the HTTP adapter and sharded evaluation: `xent serve` child
 * processes on loopback (port 0; the bound URL is read from stdout), a loopback proxy
 * that can break answers on purpose, and async CLI runs (the proxy lives in the test
 * process, so the CLI must not block it). Every wait is bounded in time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLI } from '../helpers/shared.js';

export interface Served {
  url: string;
  proc: ChildProcess;
  stderr(): string;
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
/** Kills every server still running (call in `after`). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => stop(p)));
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

export function startServe(model: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--model', model, '--port', '0', '--threads', '1', ...extra], {
    env: { ...process.env, CI: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`xent serve did not start within 60 s: ${err}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^listening (\S+)/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, proc, stderr: () => err, kill: () => stop(proc) });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`xent serve exited with ${code}: ${err}`));
    });
  });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process's event loop (bounded: 120 s). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, CI: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.once('exit', (code) => {
      clearTimeout(timer);
      live.delete(p);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A loopback proxy to `target`. `breakCompletion(n)` is asked for the n-th (0-based)
 * POST /v1/completions: return undefined to forward it, or a function that answers it.
 */
export async function startProxy(
  target: string,
  breakCompletion: (n: number) => ((res: ServerResponse, body: Buffer) => void) | undefined,
): Promise<{ url: string; completions: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/v1/completions') {
        const f = breakCompletion(n++);
        if (f) return f(res, body);
      }
      const u = new URL(req.url ?? '/', target);
      const headers = { ...req.headers, host: u.host };
      const fwd = request(u, { method: req.method, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      fwd.on('error', () => res.destroy());
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    completions: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
