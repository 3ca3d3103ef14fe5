/** `kluis doctor`: prints the effective configuration (no secret values) and every problem. */
import type { Writable } from 'node:stream';
import { ConfigError, describeConfig, loadConfig } from '../config/env.js';
import { openKluis } from '../kluis.js';
import { createLogger } from '../shared/logger.js';

export async function doctor(env: NodeJS.ProcessEnv, out: Writable): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      out.write('Configuration problems:\n');
      for (const p of error.problems) out.write(`  ✗ ${p}\n`);
      return 1;
    }
    throw error;
  }
  out.write('Configuration:\n');
  for (const [k, v] of Object.entries(describeConfig(config))) out.write(`  ${k.padEnd(30)} ${String(v)}\n`);
  try {
    const kluis = await openKluis(config, { logger: createLogger('silent'), migrate: false });
    await kluis.close();
    out.write('  ✓ database and key store reachable\n');
  } catch (error) {
    out.write(`  ✗ database: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  if (config.env !== 'production') {
    out.write('  ! not production: development secrets and plain HTTP are allowed\n');
  }
  return 0;
}
