/**
 * Legal orders through their pages and `kluis legal-order …` (issue 12, P9): the operator's
 * privacy officer records a case, the tenant's owners are told at once (or, under a
 * non-disclosure order, by the scheduled job when it ends); one person cannot give both
 * approvals; the sealed export holds the scope and nothing else; every step lands in the
 * tenant's audit trail. Another tenant's owner (who holds `legal_orders.manage` in its own org)
 * finds no case; an operator user without the permission is refused; the CLI signs in a named
 * operator person and refuses a tenant's account.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshot } from '../../../test/authz/db-snapshot.js';
import { runCommands, testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  type StaffCredentials,
  staffRequests,
} from '../../../test/factories.js';
import { unzip } from '../../../test/zip.js';
import { buildApp } from '../../app.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { enqueue } from '../jobs/index.js';
import { createWorker } from '../jobs/jobs-worker.js';
import { createMailSink, type MailSink } from '../mail/mail-sink.js';
import type { Org } from '../orgs/index.js';
import { registerDisclosureCommands } from './disclosure-cli.js';
import { DISCLOSURE_RELEASE_JOB } from './index.js';

describe('legal orders: pages and CLI', () => {
  const clock = createFixedClock('2031-03-02T09:00:00.000Z');
  let sink: MailSink;
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;
  let tenant: Org;
  let officer: StaffCredentials;
  let owner: StaffCredentials;
  let both: StaffCredentials;
  let tenantOwner: StaffCredentials;
  const web = new Map<string, LoggedIn>();
  const seeded: { subjectId: string; relationId: string }[] = [];
  let foreignSubject = '';
  const http = () => staffRequests(app);

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    kluis = await createTestKluis({
      clock,
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' },
    });
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator', 'Beheerder Bevel');
    tenant = await createOrg(kluis, 'tenant', 'Klant Met Bevel');
    const other = await createOrg(kluis, 'tenant', 'Andere Klant');
    officer = await createStaffUser(kluis, { orgId: operator.id, roles: ['privacy_officer'], totp: true });
    owner = await createStaffUser(kluis, { orgId: operator.id, roles: ['owner'], totp: true });
    both = await createStaffUser(kluis, {
      orgId: operator.id,
      roles: ['owner', 'privacy_officer'],
      totp: true,
    });
    const support = await createStaffUser(kluis, { orgId: operator.id, roles: ['support', 'admin'] });
    tenantOwner = await createStaffUser(kluis, {
      orgId: tenant.id,
      roles: ['owner'],
      email: 'baas@klant.example',
    });
    const otherOwner = await createStaffUser(kluis, { orgId: other.id, roles: ['owner', 'privacy_officer'] });
    for (const [name, who] of [
      ['officer', officer],
      ['owner', owner],
      ['both', both],
      ['support', support],
      ['other tenant', otherOwner],
    ] as const) {
      web.set(name, await loginAs(app, { ...who, totp: () => who.totp() }));
    }
    const relations = kluis.services.relations;
    for (const [org, family] of [
      [tenant, 'Bevelsma'],
      [tenant, 'Buitenscoop'],
      [other, 'Elderstam'],
    ] as const) {
      const actor: Actor = {
        kind: 'user',
        orgId: org.id,
        orgKind: 'tenant',
        userId: 'seed',
        roles: ['support'],
      };
      const { id } = await relations.createRelation({
        actor,
        values: {
          kind: 'person',
          formOfAddress: 'mr',
          givenName: 'Jan',
          familyName: family,
          email: `${family.toLowerCase()}@example.nl`,
          status: 'active',
          startedAt: '2030-01-01',
        },
      });
      const row = await kluis.db
        .selectFrom('relations')
        .select('subject_id')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      if (org === tenant) seeded.push({ subjectId: row.subject_id, relationId: id });
      else foreignSubject = row.subject_id;
    }
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
    await sink.close();
  });

  const session = (name: string): LoggedIn => {
    const s = web.get(name);
    if (s === undefined) throw new Error(`no session ${name}`);
    return s;
  };
  const mails = async () =>
    (
      await kluis.db
        .selectFrom('jobs')
        .select('id')
        .where('type', '=', 'mail.send')
        .where('org_id', '=', tenant.id)
        .execute()
    ).length;
  const tenantTrail = async (orderId: string) =>
    (
      await kluis.db
        .selectFrom('audit_log')
        .select(['action', 'target_id', 'meta'])
        .where('org_id', '=', tenant.id)
        .where('action', 'like', 'disclosure.%')
        .orderBy('seq')
        .execute()
    )
      .filter((r) => r.target_id === orderId || r.meta.includes(orderId))
      .map((r) => r.action);

  async function cli(env: Record<string, string>, ...args: string[]) {
    const run = testCli({ kluis, env });
    return runCommands(run, [registerDisclosureCommands], args);
  }
  /** CLI options signing in `who` (the TOTP code of now; the clock moves on so codes are fresh). */
  const as = (who: StaffCredentials) => {
    clock.advance(31_000);
    return {
      env: { KLUIS_STAFF_PASSWORD: who.password },
      args: ['--as', who.email, '--totp', who.totp()],
    };
  };

  it('records, approves with two people, and exports only the scope through the pages', async () => {
    const [inScope, outside] = seeded;
    if (inScope === undefined || outside === undefined) throw new Error('not seeded');
    const before = await mails();
    const created = await http().post(session('officer'), '/staff/legal-orders', {
      tenant: tenant.id,
      authority: 'Rechtbank Midden-Nederland',
      legalBasis: 'art. 126nd Sv',
      orderReference: 'RB-2031-0100',
      subjects: `${inScope.subjectId}\n`,
      records: `relations:${inScope.relationId}`,
      deadline: '2031-03-20',
    });
    expect(created.statusCode).toBe(303);
    const id = /\/staff\/legal-orders\/([0-9a-f-]{36})/.exec(created.headers.location ?? '')?.[1] ?? '';
    expect(id).not.toBe('');
    // The tenant's owner is told at once (no non-disclosure order).
    expect(await mails()).toBe(before + 1);

    const page = await http().get(session('officer'), `/staff/legal-orders/${id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('RB-2031-0100');
    expect(page.body).not.toContain('Bevelsma');

    // One person holding both roles: the first approval, then no second, and no export.
    expect(
      (await http().post(session('both'), `/staff/legal-orders/${id}/approve`, { as: 'privacy_officer' }))
        .statusCode,
    ).toBe(303);
    expect(
      (await http().post(session('both'), `/staff/legal-orders/${id}/approve`, { as: 'owner' })).statusCode,
    ).toBe(403);
    expect((await http().post(session('both'), `/staff/legal-orders/${id}/disclose`)).statusCode).toBe(403);
    // Approving as a role one does not hold.
    expect(
      (await http().post(session('officer'), `/staff/legal-orders/${id}/approve`, { as: 'owner' }))
        .statusCode,
    ).toBe(403);
    expect((await http().get(session('owner'), `/staff/legal-orders/${id}/export`)).statusCode).toBe(409);

    expect(
      (await http().post(session('owner'), `/staff/legal-orders/${id}/approve`, { as: 'owner' })).statusCode,
    ).toBe(303);
    expect((await http().post(session('owner'), `/staff/legal-orders/${id}/disclose`)).statusCode).toBe(303);
    const download = await http().get(session('officer'), `/staff/legal-orders/${id}/export`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toContain('application/zip');
    const entries = await unzip(download.rawPayload);
    const all = [...entries.values()].map((b) => b.toString('utf8')).join('\n');
    expect(all).toContain('Bevelsma');
    expect(all).not.toContain('Buitenscoop');
    expect(all).not.toContain(outside.relationId);
    expect([...entries.keys()].filter((k) => k !== 'order.json').sort()).toEqual([
      `subjects/${inScope.subjectId}/relations.csv`,
      `subjects/${inScope.subjectId}/relations.json`,
    ]);

    expect(await tenantTrail(id)).toEqual([
      'disclosure.recorded',
      'disclosure.tenant_notified',
      'disclosure.approved_privacy_officer',
      'disclosure.approved_owner',
      'disclosure.disclosed',
      'disclosure.subject.disclosed',
    ]);
    const list = await http().get(session('owner'), '/staff/legal-orders');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('RB-2031-0100');
  });

  it('shows the form again with the errors in the page’s language', async () => {
    const res = await http().post(session('officer'), '/staff/legal-orders', {
      tenant: tenant.id,
      authority: '',
      legalBasis: 'art. 126nd Sv',
      orderReference: 'X',
      subjects: 'not-an-id',
      deadline: '2031-03-20',
      gagUntil: '2031-01-01',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Elke regel moet een id van een betrokkene zijn.');
    const foreign = await http().post(session('officer'), '/staff/legal-orders', {
      tenant: tenant.id,
      authority: 'Rechtbank',
      legalBasis: 'art. 126nd Sv',
      orderReference: 'X',
      subjects: foreignSubject,
      deadline: '2031-03-20',
    });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.body).toContain('geen betrokkene van deze klant');
  });

  it('finds no case for another tenant’s owner and refuses operator staff without the permission', async () => {
    const [{ id } = { id: '' }] = await kluis.db.selectFrom('legal_orders').select('id').execute();
    const before = await snapshot(kluis);
    const other = session('other tenant');
    for (const url of [
      '/staff/legal-orders',
      '/staff/legal-orders/new',
      `/staff/legal-orders/${id}`,
      `/staff/legal-orders/${id}/export`,
    ]) {
      expect((await http().get(other, url)).statusCode, url).toBe(404);
      expect((await http().get(session('support'), url)).statusCode, url).toBe(403);
    }
    for (const url of [
      `/staff/legal-orders/${id}/approve`,
      `/staff/legal-orders/${id}/disclose`,
      '/staff/legal-orders',
    ]) {
      const res = await http().post(other, url, {
        as: 'owner',
        tenant: tenant.id,
        subjects: seeded[0]?.subjectId ?? '',
      });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('RB-2031');
      expect((await http().post(session('support'), url, { as: 'owner' })).statusCode, url).toBe(403);
    }
    expect(await snapshot(kluis)).toEqual(before);
  });

  it('runs the same case from the CLI: a gagged order tells the tenant only when the job finds it ended', async () => {
    const [, second] = seeded;
    if (second === undefined) throw new Error('not seeded');
    const before = await mails();
    const o = as(officer);
    const created = await cli(
      o.env,
      'legal-order',
      'create',
      ...o.args,
      '--tenant',
      tenant.slug,
      '--authority',
      'Officier van justitie',
      '--legal-basis',
      'art. 126nf Sv',
      '--order-reference',
      'OVJ-GAG-9',
      '--subject',
      second.subjectId,
      '--deadline',
      '2031-03-30',
      '--gag-until',
      '2031-06-01',
    );
    expect(created.error).toBeUndefined();
    const id = /legal order ([0-9a-f-]{36}) recorded/.exec(created.out)?.[1] ?? '';
    expect(id).not.toBe('');

    // One person cannot approve twice; a tenant's account cannot sign in as operator staff.
    const b1 = as(both);
    expect(
      (await cli(b1.env, 'legal-order', 'approve', ...b1.args, '--id', id, '--role', 'privacy_officer'))
        .error,
    ).toBeUndefined();
    const b2 = as(both);
    expect(
      (await cli(b2.env, 'legal-order', 'approve', ...b2.args, '--id', id, '--role', 'owner')).error?.message,
    ).toMatch(/ERR_FORBIDDEN/);
    const t1 = { env: { KLUIS_STAFF_PASSWORD: tenantOwner.password }, args: ['--as', tenantOwner.email] };
    expect((await cli(t1.env, 'legal-order', 'list', ...t1.args)).error?.message).toMatch(
      /ERR_AUTH_INVALID_CREDENTIALS/,
    );
    const early = as(owner);
    const out = join(kluis.dir, 'bevel.zip');
    expect(
      (await cli(early.env, 'legal-order', 'export', ...early.args, '--id', id, '--out', out)).error?.message,
    ).toMatch(/ERR_FORBIDDEN/);
    const wrongTotp = await cli(
      { KLUIS_STAFF_PASSWORD: owner.password },
      'legal-order',
      'list',
      '--as',
      owner.email,
      '--totp',
      '000000',
    );
    expect(wrongTotp.error?.message).toMatch(/ERR_AUTH_TOTP_INVALID/);

    const ow = as(owner);
    expect(
      (await cli(ow.env, 'legal-order', 'approve', ...ow.args, '--id', id, '--role', 'owner')).error,
    ).toBeUndefined();
    const ex = as(owner);
    const exported = await cli(ex.env, 'legal-order', 'export', ...ex.args, '--id', id, '--out', out);
    expect(exported.error).toBeUndefined();
    const all = [...(await unzip(readFileSync(out))).values()].map((b) => b.toString('utf8')).join('\n');
    expect(all).toContain('Buitenscoop');
    expect(all).not.toContain('Bevelsma');
    const listed = as(officer);
    const list = await cli(listed.env, 'legal-order', 'list', ...listed.args);
    expect(list.out).toContain(`${id}\t${tenant.slug}\tOVJ-GAG-9\tdisclosed`);
    expect(list.out).toContain('gag 2031-06-01\ttold no');
    expect(list.out).not.toContain('Buitenscoop');

    // Gagged: no mail and nothing in the tenant's trail, until the scheduled job runs after the end.
    expect(await mails()).toBe(before);
    expect(await tenantTrail(id)).toEqual([]);
    const runJob = async () => {
      await enqueue(kluis.db, clock, { type: DISCLOSURE_RELEASE_JOB, payload: {} });
      await createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false }).runOnce();
    };
    await runJob();
    expect(await mails()).toBe(before);
    clock.set('2031-06-01T07:05:00.000Z');
    await runJob();
    expect(await mails()).toBe(before + 1);
    expect(await tenantTrail(id)).toEqual([
      'disclosure.recorded',
      'disclosure.approved_privacy_officer',
      'disclosure.approved_owner',
      'disclosure.disclosed',
      'disclosure.subject.disclosed',
      'disclosure.tenant_notified',
    ]);
  });

  it('refuses a CLI case naming a subject of another tenant', async () => {
    const o = as(officer);
    const res = await cli(
      o.env,
      'legal-order',
      'create',
      ...o.args,
      '--tenant',
      tenant.slug,
      '--authority',
      'Rechtbank',
      '--legal-basis',
      'art. 126nd Sv',
      '--order-reference',
      'X-2',
      '--subject',
      foreignSubject,
      '--deadline',
      '2031-07-01',
    );
    expect(res.error?.message).toMatch(/ERR_VALIDATION/);
    expect(
      await kluis.db.selectFrom('legal_orders').select('id').where('order_reference', '=', 'X-2').execute(),
    ).toEqual([]);
  });
});
