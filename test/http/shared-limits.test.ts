/**
 * Rate limits a cluster shares (issue 15): with KLUIS_REDIS_URL every node counts requests and
 * form submissions per address against one budget in Redis, so adding nodes does not multiply
 * what one address may send. (The login throttle lives in the database, `login_attempts`, and is
 * shared by every node already.) Skipped when no Redis answers on KLUIS_TEST_REDIS_URL.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { Kluis } from '../../src/kluis.js';
import { createFixedClock, HOUR } from '../../src/shared/clock.js';
import { createSubmissionLimiter } from '../../src/shared/http/form-guard.js';
import { createTestKluis, type TestKluis } from '../dialects.js';

const redisUrl = process.env.KLUIS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const redisUp = await (async () => {
  const probe = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
})();

describe.runIf(redisUp)('rate limits shared across nodes through Redis', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('counts one submission budget per address over every node, and forgets it with the window', async () => {
    const clock = createFixedClock('2031-01-01T10:00:00.000Z');
    const name = `test-${randomBytes(4).toString('hex')}`;
    const nodeA = createSubmissionLimiter({ clock, max: 3, windowMs: HOUR, name, redis });
    const nodeB = createSubmissionLimiter({ clock, max: 3, windowMs: HOUR, name, redis });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await (i % 2 === 0 ? nodeA : nodeB).hit('192.0.2.7'));
    expect(results).toEqual([true, true, true, false, false]);
    // Another address has its own budget; the key expires with its window.
    expect(await nodeB.hit('192.0.2.8')).toBe(true);
    const keys = await redis.keys(`kluis:limit:${name}:*`);
    expect(keys).toHaveLength(2);
    const ttl = await redis.pttl(keys[0] ?? '');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(HOUR);
    clock.advance(HOUR);
    expect(await nodeA.hit('192.0.2.7')).toBe(true);
  });

  describe('the request limit of two nodes', () => {
    let kluis: TestKluis;
    let peer: Kluis;
    beforeAll(async () => {
      kluis = await createTestKluis({ env: { KLUIS_REDIS_URL: redisUrl, KLUIS_RATE_LIMIT_PER_MINUTE: '4' } });
      peer = await kluis.openPeer();
    });
    afterAll(async () => {
      await kluis.destroy();
    });

    it('refuses the address that spread its requests over both nodes once their sum passes the limit', async () => {
      const apps = [await buildApp(kluis), await buildApp(peer)];
      try {
        const ip = `198.51.100.${1 + Math.floor(Math.random() * 250)}`;
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) {
          const app = apps[i % 2];
          if (app === undefined) throw new Error('no app');
          const res = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: ip });
          statuses.push(res.statusCode);
        }
        expect(statuses.slice(0, 4).every((s) => s !== 429)).toBe(true);
        expect(statuses.slice(4)).toEqual([429, 429]);
      } finally {
        for (const app of apps) await app.close();
      }
    });
  });
});
