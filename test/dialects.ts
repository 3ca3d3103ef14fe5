/**
 * Test databases. `KLUIS_TEST_DIALECT=postgres` runs every suite against PostgreSQL
 * (KLUIS_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test), each Kluis in its own
 * schema; otherwise each gets a fresh SQLCipher file in a temp directory. Nothing is shared
 * between tests: each builds the real dependency graph on its own database.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Config, loadConfig } from '../src/config/env.js';
import { type Kluis, openKluis } from '../src/kluis.js';
import type { Clock } from '../src/shared/clock.js';
import { createLogger, type Logger } from '../src/shared/logger.js';

export const testDialect: 'sqlite' | 'postgres' =
  process.env.KLUIS_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
export const testPgUrl = process.env.KLUIS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestKluis extends Kluis {
  /** Temp directory for this Kluis (data dir, SQLite files). */
  readonly dir: string;
  /**
   * Another node of the same installation: a second Kluis on the same databases (and, on
   * PostgreSQL, the same schemas and shared ledger), as a second `kluis serve` would be. Closed
   * by `destroy` when the test has not closed it.
   */
  openPeer(options?: { clock?: Clock; logger?: Logger }): Promise<Kluis>;
  /** Closes and removes everything this test created. */
  destroy(): Promise<void>;
}

export interface TestKluisOptions {
  clock?: Clock;
  logger?: Logger;
  env?: Record<string, string>;
  /** False: open the databases without migrating them (migration tests). */
  migrate?: boolean;
}

export function testEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {
    NODE_ENV: 'test',
    KLUIS_DATA_DIR: dir,
    KLUIS_MASTER_KEY: randomBytes(32).toString('base64'),
    KLUIS_LOG_LEVEL: 'silent',
    KLUIS_REQUIRE_TOTP_OPERATOR: 'false',
    KLUIS_RATE_LIMIT_PER_MINUTE: '100000',
  };
  if (testDialect === 'postgres') {
    base.KLUIS_DATABASE_URL = testPgUrl;
  } else {
    base.KLUIS_DATABASE_URL = `sqlite:${join(dir, 'kluis.db')}`;
    base.KLUIS_KEYSTORE_URL = `sqlite:${join(dir, 'kluis-keys.db')}`;
    base.KLUIS_DATABASE_KEY = randomBytes(24).toString('base64url');
  }
  return { ...base, ...extra };
}

export function testConfig(dir: string, extra: Record<string, string> = {}): Config {
  return loadConfig(testEnv(dir, extra) as NodeJS.ProcessEnv);
}

export async function createTestKluis(options: TestKluisOptions = {}): Promise<TestKluis> {
  const dir = mkdtempSync(join(tmpdir(), 'kluis-test-'));
  const config = testConfig(dir, options.env);
  const schema = `t_${randomBytes(6).toString('hex')}`;
  let kluis: Kluis;
  try {
    kluis = await openKluis(config, {
      logger: options.logger ?? createLogger('silent'),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.migrate === false ? { migrate: false } : {}),
      ...(testDialect === 'postgres'
        ? { schema, keystoreSchema: `${schema}_keys`, ledgerSchema: `${schema}_ledger` }
        : {}),
    });
  } catch (error) {
    if (testDialect === 'postgres') await dropSchemas([schema, `${schema}_keys`, `${schema}_ledger`]);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const peers: Kluis[] = [];
  return {
    ...kluis,
    dir,
    async openPeer(peerOptions = {}) {
      const peer = await openKluis(config, {
        logger: peerOptions.logger ?? createLogger('silent'),
        ...(peerOptions.clock ? { clock: peerOptions.clock } : {}),
        migrate: false,
        ...(testDialect === 'postgres'
          ? { schema, keystoreSchema: `${schema}_keys`, ledgerSchema: `${schema}_ledger` }
          : {}),
      });
      let closed = false;
      const tracked: Kluis = {
        ...peer,
        async close() {
          if (closed) return;
          closed = true;
          await peer.close();
        },
      };
      peers.push(tracked);
      return tracked;
    },
    async destroy() {
      for (const peer of peers) await peer.close();
      await kluis.close();
      if (testDialect === 'postgres') await dropSchemas([schema, `${schema}_keys`, `${schema}_ledger`]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function dropSchemas(schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: testPgUrl });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await client.end();
  }
}
