import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import type { Actor, Role } from '../../shared/actor.js';
import { createFixedClock, DAY } from '../../shared/clock.js';
import { isAppError } from '../../shared/errors.js';
import { createAccessLogRepository, type NewAccessLogRow } from './access-log-repository.js';
import { createAccessLogService, sweepAccessLog } from './access-log-service.js';
import { auditVerifyOptionsOf } from './audit-checkpoint.js';
import { verifyAuditChain } from './audit-verify.js';

const NOW = new Date('2025-06-30T12:00:00.000Z').getTime();
const clock = createFixedClock(new Date(NOW));

function row(over: Partial<NewAccessLogRow> & { at: string }): NewAccessLogRow {
  return {
    org_id: null,
    ip: '198.51.100.23',
    ip_truncated: 0,
    user_agent: 'Mozilla/5.0 test',
    method: 'GET',
    route: '/',
    status: 200,
    request_id: randomUUID(),
    ...over,
  };
}

const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('the access-log retention sweep', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    clock.set(new Date(NOW));
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  const seedBoundaries = async () => {
    await createAccessLogRepository(kluis.db).insertMany([
      row({ request_id: 'truncate-day-before', at: ago(6 * DAY) }),
      row({ request_id: 'truncate-day-of', at: ago(7 * DAY) }),
      row({ request_id: 'truncate-just-after', at: ago(7 * DAY + 1) }),
      row({ request_id: 'truncate-day-after', at: ago(8 * DAY), ip: '2001:db8:abcd:12::7' }),
      row({ request_id: 'delete-day-before', at: ago(89 * DAY) }),
      row({ request_id: 'delete-day-of', at: ago(90 * DAY) }),
      row({ request_id: 'delete-just-after', at: ago(90 * DAY + 1) }),
      row({ request_id: 'delete-day-after', at: ago(91 * DAY) }),
    ]);
  };
  const byRequest = async () =>
    new Map(
      (await kluis.db.selectFrom('access_log').selectAll().execute()).map((r) => [
        r.request_id,
        { ip: r.ip, truncated: r.ip_truncated },
      ]),
    );

  it('cuts addresses strictly older than N days and deletes rows strictly older than M days', async () => {
    await seedBoundaries();
    const result = await sweepAccessLog(kluis.db, clock, kluis.config.accessLog);
    expect(kluis.config.accessLog).toEqual({ truncateIpAfterDays: 7, deleteAfterDays: 90 });
    expect(result).toMatchObject({ deleted: 2, truncated: 4 });
    const rows = await byRequest();
    expect(rows.get('truncate-day-before')).toEqual({ ip: '198.51.100.23', truncated: 0 });
    expect(rows.get('truncate-day-of')).toEqual({ ip: '198.51.100.23', truncated: 0 });
    expect(rows.get('truncate-just-after')).toEqual({ ip: '198.51.100.0', truncated: 1 });
    expect(rows.get('truncate-day-after')).toEqual({ ip: '2001:db8:abcd::', truncated: 1 });
    expect(rows.get('delete-day-before')).toEqual({ ip: '198.51.100.0', truncated: 1 });
    expect(rows.get('delete-day-of')).toEqual({ ip: '198.51.100.0', truncated: 1 });
    expect(rows.has('delete-just-after')).toBe(false);
    expect(rows.has('delete-day-after')).toBe(false);
  });

  it('moves with the clock: a day later the next rows go', async () => {
    await seedBoundaries();
    await sweepAccessLog(kluis.db, clock, kluis.config.accessLog);
    clock.advance(DAY);
    const result = await sweepAccessLog(kluis.db, clock, kluis.config.accessLog);
    expect(result).toMatchObject({ deleted: 1, truncated: 1 });
    const rows = await byRequest();
    expect(rows.get('truncate-day-before')?.truncated).toBe(0);
    expect(rows.get('truncate-day-of')?.truncated).toBe(1);
    expect(rows.has('delete-day-of')).toBe(false);
  });

  it('works in bounded batches, each audited with its counts, and the totals add up', async () => {
    await seedBoundaries();
    const result = await sweepAccessLog(kluis.db, clock, { ...kluis.config.accessLog, batchSize: 1 });
    expect(result).toMatchObject({ deleted: 2, truncated: 4 });
    expect(result.batches).toBeGreaterThanOrEqual(4);
    const audits = await kluis.db
      .selectFrom('audit_log')
      .select(['action', 'meta', 'actor'])
      .where('action', '=', 'security.access_log.swept')
      .execute();
    expect(audits).toHaveLength(result.batches);
    const sum = (key: 'deleted' | 'truncated') =>
      audits.reduce((n, a) => n + Number((JSON.parse(a.meta) as Record<string, number>)[key]), 0);
    expect(sum('deleted')).toBe(2);
    expect(sum('truncated')).toBe(4);
    expect(audits[0]?.actor).toBe('system:access-log-sweep');
    expect((await verifyAuditChain(kluis.db, auditVerifyOptionsOf(kluis))).ok).toBe(true);
  });

  it('leaves a trace even when there was nothing to do', async () => {
    expect(await sweepAccessLog(kluis.db, clock, kluis.config.accessLog)).toEqual({
      deleted: 0,
      truncated: 0,
      batches: 1,
    });
    const audit = await kluis.db.selectFrom('audit_log').select('meta').executeTakeFirstOrThrow();
    expect(JSON.parse(audit.meta)).toMatchObject({ deleted: 0, truncated: 0 });
  });

  it('removes nothing when the audit trail cannot be written (vault’s rule)', async () => {
    await seedBoundaries();
    await kluis.db.deleteFrom('audit_head').execute();
    const error = await sweepAccessLog(kluis.db, clock, kluis.config.accessLog).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('ERR_AUDIT_WRITE_FAILED');
    const rows = await byRequest();
    expect(rows.size).toBe(8);
    expect(rows.get('truncate-day-after')?.truncated).toBe(0);
  });
});

describe('reading the access log', () => {
  let kluis: TestKluis;
  const operatorOrg = randomUUID();
  const tenantA = randomUUID();
  const tenantB = randomUUID();
  const actor = (orgId: string, roles: Role[], orgKind: 'operator' | 'tenant' = 'tenant'): Actor => ({
    kind: 'user',
    orgId,
    orgKind,
    userId: randomUUID(),
    roles,
  });

  beforeAll(async () => {
    clock.set(new Date(NOW));
    kluis = await createTestKluis({ clock });
    const rows: NewAccessLogRow[] = [];
    for (let i = 0; i < 120; i++) {
      rows.push(row({ at: ago(i * 60_000), org_id: tenantA, route: '/staff/users/:id', status: 200 }));
    }
    rows.push(row({ at: ago(2 * DAY), org_id: tenantA, route: '/login', status: 401 }));
    rows.push(row({ at: ago(3 * DAY), org_id: tenantB, route: '/login', status: 200 }));
    rows.push(row({ at: ago(4 * DAY), org_id: null, route: '(unmatched)', status: 404 }));
    await createAccessLogRepository(kluis.db).insertMany(rows);
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  const service = () => createAccessLogService({ db: kluis.db, clock });

  it('refuses everyone without the security role, whatever else they hold', async () => {
    for (const roles of [['owner', 'admin'], ['privacy_officer'], ['support', 'finance']] as Role[][]) {
      const error = await service()
        .list(actor(operatorOrg, roles, 'operator'), { page: 1 })
        .catch((e: unknown) => e);
      expect(isAppError(error) && error.code).toBe('ERR_FORBIDDEN');
    }
  });

  it('shows a tenant’s security role only its own org’s requests', async () => {
    const page = await service().list(actor(tenantB, ['security']), { page: 1 });
    expect(page.total).toBe(1);
    expect(page.rows.every((r) => r.org_id === tenantB)).toBe(true);
  });

  it('shows the operator’s security role the whole installation, anonymous requests included', async () => {
    const page = await service().list(actor(operatorOrg, ['security'], 'operator'), { page: 1 });
    expect(page.total).toBe(123);
    expect(page.rows).toHaveLength(50);
    expect(page.pages).toBe(3);
  });

  it('filters by status, route prefix and date range, and paginates newest first', async () => {
    const reader = actor(operatorOrg, ['security'], 'operator');
    expect((await service().list(reader, { page: 1, status: 404 })).total).toBe(1);
    expect((await service().list(reader, { page: 1, route: '/login' })).total).toBe(2);
    expect((await service().list(reader, { page: 1, route: '/staff' })).total).toBe(120);
    const day = new Date(NOW - 3 * DAY).toISOString().slice(0, 10);
    const onDay = await service().list(reader, { page: 1, from: day, to: day });
    expect(onDay.rows.map((r) => r.org_id)).toEqual([tenantB]);
    const last = await service().list(reader, { page: 3 });
    expect(last.rows).toHaveLength(23);
    const first = await service().list(reader, { page: 1 });
    expect(first.rows[0]?.at).toBe(new Date(NOW).toISOString());
  });

  it('records every read in the audit trail, with the filter but no addresses', async () => {
    const reader = actor(tenantA, ['security']);
    await service().list(reader, { page: 2, status: 200, route: '/staff' });
    const entry = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'security.access_log.read')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(entry.actor).toBe(`user:${reader.kind === 'user' ? reader.userId : ''}`);
    expect(entry.org_id).toBe(tenantA);
    expect(JSON.parse(entry.meta)).toMatchObject({ page: 2, status: 200, route: '/staff' });
    expect(entry.meta).not.toContain('198.51.100');
  });
});

describe('reading the access log when the audit trail is down', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('shows nothing when the read cannot be audited', async () => {
    await createAccessLogRepository(kluis.db).insertMany([row({ at: ago(0) })]);
    await kluis.db.deleteFrom('audit_head').execute();
    const reader: Actor = {
      kind: 'user',
      orgId: randomUUID(),
      orgKind: 'operator',
      userId: randomUUID(),
      roles: ['security'],
    };
    const error = await createAccessLogService({ db: kluis.db, clock })
      .list(reader, { page: 1 })
      .catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('ERR_AUDIT_WRITE_FAILED');
  });
});
