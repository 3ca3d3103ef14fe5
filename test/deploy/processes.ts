/**
 * Kluis as separate processes, the way a deployment runs it: `kluis <command>` from the source
 * (through tsx), web nodes that are waited for until they answer, and a TLS proxy (Caddy) in
 * front. Output is kept for the failure message, never printed on success.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

export interface Started {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM (or `signal`), then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `command` with `env`, keeping its output (a worker, a load balancer). */
export function startProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Runs `kluis …` to the end; rejects with its output when it fails. */
export async function kluisCommand(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const run = startProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], env);
  const code = await new Promise<number | null>((resolve) => run.child.once('exit', resolve));
  if (code !== 0) throw new Error(`kluis ${args.join(' ')} exited with ${code}:\n${run.output()}`);
  return run.output();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Starts `kluis serve --no-worker` on `port` and waits until it answers /healthz. */
export async function startWebNode(port: number, env: NodeJS.ProcessEnv): Promise<Started> {
  const node = startProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--no-worker'], {
    ...env,
    KLUIS_HOST: '127.0.0.1',
    KLUIS_PORT: String(port),
  });
  // Up to 90 s: a cold `tsx` start on a busy shared CI machine took over 30 s.
  for (let i = 0; i < 450; i++) {
    if (await healthy(port)) return node;
    if (node.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await node.stop('SIGKILL');
  throw new Error(`web node on ${port} did not come up:\n${node.output()}`);
}

/** Starts Caddy with `config` (Caddyfile) and `env`, and waits until `port` accepts connections. */
export async function startCaddy(config: string, env: NodeJS.ProcessEnv, port: number): Promise<Started> {
  const caddy = startProcess('caddy', ['run', '--config', config, '--adapter', 'caddyfile'], {
    ...process.env,
    ...env,
  });
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (open) return caddy;
    if (caddy.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await caddy.stop('SIGKILL');
  throw new Error(`caddy did not start:\n${caddy.output()}`);
}
