/**
 * One contact form is taken once by the whole installation, not once per node (issue 15,
 * decision 0020): two nodes on one database (PostgreSQL: two processes' worth of pools on one
 * schema; SQLite: two connections on one file), each with its own app. The spent token is a row
 * written in the submission's own transaction, so the nodes share it without Redis.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { intakeCounts, openContactForm } from '../../../test/intake-fixtures.js';
import { buildApp } from '../../app.js';
import type { Kluis } from '../../kluis.js';
import { createFixedClock, HOUR, MINUTE } from '../../shared/clock.js';
import { isAppError } from '../../shared/errors.js';
import { createFormTimer, type SpentFormToken } from '../../shared/http/form-guard.js';
import { createWorker, enqueue } from '../jobs/index.js';
import type { Org } from '../orgs/orgs-repository.js';
import { PRUNE_SPENT_TOKENS } from './index.js';

const SECOND = 1000;
const USED = 'hetzelfde formulier wordt maar één keer aangenomen';
const EXPIRED = 'Het formulier stond lang open';

describe('the contact form on two nodes of one installation', () => {
  const clock = createFixedClock('2031-04-07T09:00:00.000Z');
  let nodeA: TestKluis;
  let nodeB: Kluis;
  let appA: FastifyInstance;
  let appB: FastifyInstance;
  let tenant: Org;

  beforeAll(async () => {
    nodeA = await createTestKluis({ clock });
    nodeB = await nodeA.openPeer({ clock });
    appA = await buildApp(nodeA);
    appB = await buildApp(nodeB);
    tenant = await createOrg(nodeA, 'tenant', 'Bakkerij Jansen');
  });
  afterAll(async () => {
    await appA.close();
    await appB.close();
    await nodeA.destroy();
  });
  beforeEach(() => {
    // A fresh rate-limit window for every test.
    clock.advance(2 * HOUR);
  });

  const formPath = () => `/o/${tenant.slug}/contact`;
  const fields = (started: string, message: string) => ({
    started,
    name: 'Eenmalig',
    email: 'eenmalig@example.nl',
    phone: '',
    message,
  });

  /** A visitor on `app` who opened the form there (so holds that page's CSRF pair). */
  async function visitor(app: FastifyInstance) {
    const b = new Browser(app);
    const started = await openContactForm(b, formPath());
    return { b, started };
  }

  async function spentRows() {
    return nodeA.db.selectFrom('intake_spent_tokens').selectAll().where('org_id', '=', tenant.id).execute();
  }

  it('refuses on node B a form that node A took, and on A itself, storing nothing more', async () => {
    const { b, started } = await visitor(appA);
    clock.advance(20 * SECOND);
    expect((await b.post(formPath(), fields(started, 'Eerste'))).statusCode).toBe(303);
    const after = await intakeCounts(nodeA);

    // The same token through the other node, from a browser that opened the form there.
    clock.advance(MINUTE);
    const other = await visitor(appB);
    const onB = await other.b.post(formPath(), fields(started, 'Nog een keer, via B'));
    expect(onB.statusCode).toBe(400);
    expect(onB.body).toContain(USED);

    // Also when its fields would not pass: refused as taken, not shown again with errors.
    const broken = await other.b.post(formPath(), { ...fields(started, 'Fout'), email: 'geen adres' });
    expect(broken.statusCode).toBe(400);
    expect(broken.body).toContain(USED);

    // And replayed on the node that took it.
    const onA = await b.post(formPath(), fields(started, 'Nog een keer, via A'));
    expect(onA.statusCode).toBe(400);
    expect(onA.body).toContain(USED);

    expect(await intakeCounts(nodeA)).toEqual(after);
    // What is kept: a hash, not the token, until the token expires anyway (24 hours after issue).
    const rows = await spentRows();
    for (const r of rows) expect(r.token_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rows.map((r) => r.expires_at)).toContain(
      new Date(Number(started.split('.')[0]) + 24 * HOUR).toISOString(),
    );
  });

  it('takes a form first sent on node B once, whichever node sees the replay', async () => {
    const { b, started } = await visitor(appB);
    clock.advance(20 * SECOND);
    expect((await b.post(formPath(), fields(started, 'Via B'))).statusCode).toBe(303);
    const after = await intakeCounts(nodeA);
    for (const app of [appA, appB]) {
      const again = await visitor(app);
      const res = await again.b.post(formPath(), fields(started, 'Herhaald'));
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain(USED);
    }
    expect(await intakeCounts(nodeA)).toEqual(after);
  });

  it('does not spend a token on a post that was not taken (invalid fields), so the corrected post is', async () => {
    const { b, started } = await visitor(appA);
    clock.advance(20 * SECOND);
    const before = await intakeCounts(nodeA);
    const invalid = await b.post(formPath(), { ...fields(started, 'Bericht'), email: 'geen adres' });
    expect(invalid.statusCode).toBe(400);
    expect(await intakeCounts(nodeA)).toEqual(before);
    // Corrected, on the other node.
    const other = await visitor(appB);
    expect((await other.b.post(formPath(), fields(started, 'Bericht'))).statusCode).toBe(303);
    expect((await intakeCounts(nodeA)).conversations).toBe(before.conversations + 1);
  });

  it('shows an expired form again instead of taking it, on either node', async () => {
    const { started } = await visitor(appA);
    clock.advance(24 * HOUR + MINUTE);
    const before = await intakeCounts(nodeA);
    for (const app of [appA, appB]) {
      const { b } = await visitor(app);
      const res = await b.post(formPath(), fields(started, 'Te laat'));
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain(EXPIRED);
    }
    expect(await intakeCounts(nodeA)).toEqual(before);
  });

  it('refuses a forged or other organisation’s token on both nodes', async () => {
    await createOrg(nodeA, 'operator', 'Ambrix');
    const opForm = new Browser(appA);
    const theirs = await openContactForm(opForm, '/contact');
    clock.advance(20 * SECOND);
    const before = await intakeCounts(nodeA);
    const [issued, nonce, mac] = theirs.split('.');
    const forged = `${issued}.${nonce}.${(mac ?? '').replace(/^./, (c) => (c === '0' ? '1' : '0'))}`;
    for (const app of [appA, appB]) {
      for (const token of [theirs, forged]) {
        const { b } = await visitor(app);
        const res = await b.post(formPath(), fields(token, 'Vals'));
        expect(res.statusCode).toBe(400);
        expect(res.body).not.toContain(USED);
      }
    }
    expect(await intakeCounts(nodeA)).toEqual(before);
  });

  /** A checked token of the tenant's form, as the route hands it to the service. */
  async function checkedToken(node: Kluis): Promise<SpentFormToken> {
    const timer = createFormTimer(node);
    const started = await timer.issue(tenant.id);
    clock.advance(20 * SECOND);
    const checked = await timer.check(tenant.id, started);
    if (checked.kind !== 'ok') throw new Error(`token not ok: ${checked.kind}`);
    return checked.token;
  }

  const submit = (node: Kluis, formToken: SpentFormToken, message: string) =>
    node.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId: tenant.id, ref: 'public:contact-form' },
      channel: 'web',
      request: { name: 'Race', email: 'race@example.nl', phone: undefined, message },
      locale: 'nl',
      formToken,
    });

  const spentConflict = (e: unknown) =>
    isAppError(e) && e.code === 'ERR_CONFLICT' && e.details?.reason === 'form_token_spent';

  it('spends the token in the submission’s transaction: a second submission with it stores nothing', async () => {
    const token = await checkedToken(nodeA);
    await submit(nodeA, token, 'Eerste');
    const after = await intakeCounts(nodeA);
    for (const node of [nodeB, nodeA]) {
      const second = await submit(node, token, 'Tweede').then(
        () => 'stored',
        (e: unknown) => (spentConflict(e) ? 'refused' : e),
      );
      expect(second).toBe('refused');
    }
    expect(await intakeCounts(nodeA)).toEqual(after);
  });

  // Two connections in one thread would wait on SQLite's write lock for each other; one SQLite
  // node serialises its transactions anyway. The race between processes is PostgreSQL's.
  it.runIf(testDialect === 'postgres')(
    'lets exactly one of two posts racing on two nodes through',
    async () => {
      for (let round = 0; round < 5; round++) {
        const token = await checkedToken(nodeA);
        const before = await intakeCounts(nodeA);
        const outcomes = await Promise.all(
          [nodeA, nodeB].map((node, i) =>
            submit(node, token, `Race ${i}`).then(
              () => 'stored',
              (e: unknown) => (spentConflict(e) ? 'refused' : e),
            ),
          ),
        );
        expect(outcomes.sort()).toEqual(['refused', 'stored']);
        expect((await intakeCounts(nodeA)).conversations).toBe(before.conversations + 1);
      }
    },
  );

  it('forgets spent tokens through the hourly job only after they expired anyway', async () => {
    const { b, started } = await visitor(appA);
    clock.advance(20 * SECOND);
    expect((await b.post(formPath(), fields(started, 'Opruimen'))).statusCode).toBe(303);
    const hashesOf = async () => (await spentRows()).map((r) => r.expires_at);
    const expiry = new Date(Number(started.split('.')[0]) + 24 * HOUR).toISOString();
    const worker = createWorker({ kluis: nodeB, registry: nodeB.jobRegistry, scheduler: false });
    const prune = async () => {
      await enqueue(nodeB.db, clock, { type: PRUNE_SPENT_TOKENS, payload: {} });
      const run = await worker.runOnce();
      expect(run.done).toBeGreaterThanOrEqual(1);
      expect(run.failed).toBe(0);
    };

    // Still valid (and a little after, for nodes whose clocks differ): kept, and still refused.
    clock.advance(24 * HOUR - MINUTE);
    await prune();
    expect(await hashesOf()).toContain(expiry);
    const replay = await visitor(appB);
    expect((await replay.b.post(formPath(), fields(started, 'Opnieuw'))).body).toContain(USED);
    clock.advance(30 * MINUTE);
    await prune();
    expect(await hashesOf()).toContain(expiry);

    // Well past its expiry: forgotten, and the token is refused as expired instead.
    clock.advance(HOUR);
    await prune();
    expect(await hashesOf()).not.toContain(expiry);
    const before = await intakeCounts(nodeA);
    const late = await visitor(appA);
    const res = await late.b.post(formPath(), fields(started, 'Nog eens'));
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain(EXPIRED);
    expect(await intakeCounts(nodeA)).toEqual(before);
  });
});
