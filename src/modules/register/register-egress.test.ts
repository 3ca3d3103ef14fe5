/**
 * The egress registry (P14): mail goes only through a relay an active sub-processor (with an
 * agreement) covers; a send elsewhere is refused before anything leaves and recorded as the
 * security event `egress.refused`; production refuses to start with an uncovered relay; webhook
 * URLs must be registered; the register page lists every destination and the statement's
 * recipients section is made from the list.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { rejection } from '../../../test/errors.js';
import { createOrg, createStaffUser, loginAs, staffRequests } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import { relayStartProblem } from '../../cli/commands.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { createMailSink, type MailSink } from '../mail/mail-sink.js';
import { createMailer, guardMailer, type Mailer } from '../mail/mailer.js';
import type { Org } from '../orgs/index.js';
import { createEgressService, type EgressService } from './register-egress.js';
import { createOrgDirectory } from './register-orgs.js';

const clock = createFixedClock('2030-03-04T09:00:00.000Z');

const mail = { to: 'klant@example.nl', subject: 'Uw verzoek', text: 'Persoonlijke inhoud' };

describe('the egress registry (P14)', () => {
  let kluis: TestKluis;
  let operator: Org;
  let officer: Actor;
  let registered: MailSink;
  let unregistered: MailSink;
  const mailers: Mailer[] = [];

  /** The registry as production judges it (no loopback allowance), on this Kluis's database. */
  function productionEgress(): EgressService {
    return createEgressService({
      db: kluis.db,
      clock,
      config: { env: 'production' },
      audit: kluis.services.audit,
      orgs: createOrgDirectory(kluis.db),
      listOf: (orgId) =>
        kluis.services.register.listSubprocessors({
          actor: { kind: 'system', orgId, orgKind: 'operator', reason: 'test', roles: ['privacy_officer'] },
        }),
    });
  }

  function guarded(sink: MailSink, egress: EgressService): Mailer {
    const m = guardMailer(createMailer(kluis.config, { url: sink.url }), (relay) =>
      egress.checkMailRelay(relay),
    );
    mailers.push(m);
    return m;
  }

  beforeEach(async () => {
    registered = await createMailSink({ port: 0, host: '127.0.0.1' });
    unregistered = await createMailSink({ port: 0, host: '127.0.0.1' });
    kluis = await createTestKluis({ clock, env: { KLUIS_SMTP_URL: registered.url } });
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    officer = {
      kind: 'user',
      orgId: operator.id,
      orgKind: 'operator',
      userId: 'o-1',
      roles: ['privacy_officer'],
    };
    await kluis.services.register.createSubprocessor({
      actor: officer,
      values: {
        name: 'Relay Noord B.V.',
        service: 'Verzenden van e-mail',
        country: 'NL',
        dataCategories: ['contact_details', 'message_content'],
        agreementVersion: '1.0',
        agreementSignedOn: '2030-01-01',
        egressHosts: `127.0.0.1:${registered.port}`,
      },
    });
  });
  afterEach(async () => {
    for (const m of mailers.splice(0)) m.close();
    await kluis.destroy();
    await registered.close();
    await unregistered.close();
  });

  it('sends through the registered relay and refuses the unregistered one (two local listeners), recording egress.refused', async () => {
    const egress = productionEgress();
    await guarded(registered, egress).send(mail);
    await registered.waitFor((m) => m.subject === 'Uw verzoek');

    const refused = await rejection(guarded(unregistered, egress).send(mail));
    expect(refused.code).toBe('ERR_EGRESS_REFUSED');
    expect(unregistered.messages()).toEqual([]);
    const events = await kluis.db
      .selectFrom('audit_log')
      .select(['action', 'target_type', 'target_id', 'org_id'])
      .where('action', '=', 'egress.refused')
      .execute();
    expect(events).toEqual([
      {
        action: 'egress.refused',
        target_type: 'smtp_relay',
        target_id: `127.0.0.1:${unregistered.port}`,
        org_id: operator.id,
      },
    ]);
    // The record names the destination, never the mail's content or address.
    expect(JSON.stringify(events)).not.toContain('klant@example.nl');

    // An ended sub-processor covers nothing any more.
    const [relay] = await kluis.services.register.listSubprocessors({ actor: officer });
    await kluis.services.register.updateSubprocessor({
      actor: officer,
      id: relay?.id ?? '',
      values: {
        name: 'Relay Noord B.V.',
        service: 'Verzenden van e-mail',
        country: 'NL',
        status: 'ended',
        egressHosts: `127.0.0.1:${registered.port}`,
      },
    });
    expect((await rejection(guarded(registered, egress).send(mail))).code).toBe('ERR_EGRESS_REFUSED');
  });

  it('the running Kluis guards its own mailer: outside production a loopback relay is allowed and shown as such', async () => {
    expect((await kluis.services.register.egress.relayDecision(unregistered.url)).mode).toBe(
      'loopback_development',
    );
    expect((await kluis.services.register.egress.relayDecision(registered.url)).mode).toBe('subprocessor');
    expect((await kluis.services.register.egress.relayDecision('smtps://smtp.elders.example:465')).mode).toBe(
      'refused',
    );
    await kluis.mailer.send(mail);
    await registered.waitFor((m) => m.subject === 'Uw verzoek');
  });

  it('refuses a production start with an SMTP relay no active sub-processor covers', async () => {
    const asProduction = (relay: string) =>
      relayStartProblem({
        ...kluis,
        config: { ...kluis.config, env: 'production' },
        mailer: { ...kluis.mailer, relay },
      });
    expect(await asProduction(unregistered.url)).toContain(`127.0.0.1:${unregistered.port}`);
    expect(await asProduction('smtps://smtp.elders.example')).toContain('smtp.elders.example:465');
    expect(await asProduction(registered.url)).toBeUndefined();
    // Outside production the development relay is no reason to refuse.
    expect(await relayStartProblem({ ...kluis, mailer: { ...kluis.mailer, relay: unregistered.url } })).toBe(
      undefined,
    );
  });

  it('accepts only registered webhook URLs, lists every destination on /staff/register and in the statement', async () => {
    const tenant = await createOrg(kluis, 'tenant', 'Acme');
    const tenantOfficer: Actor = {
      kind: 'user',
      orgId: tenant.id,
      orgKind: 'tenant',
      userId: 't-1',
      roles: ['privacy_officer'],
    };
    const egress = kluis.services.register.egress;
    const plain = await rejection(
      egress.registerWebhook({ actor: tenantOfficer, values: { url: 'http://crm.acme.example/hook' } }),
    );
    expect(plain.fields).toEqual({ url: 'register.egress.httpsOnly' });
    await egress.registerWebhook({
      actor: tenantOfficer,
      values: { url: 'https://crm.acme.example/opendsr' },
    });
    expect((await egress.checkWebhook(tenant.id, 'https://CRM.acme.example/opendsr')).mode).toBe(
      'registered_webhook',
    );
    // Another org's registration, another path: refused and recorded.
    expect((await rejection(egress.checkWebhook(operator.id, 'https://crm.acme.example/opendsr'))).code).toBe(
      'ERR_EGRESS_REFUSED',
    );
    expect((await rejection(egress.checkWebhook(tenant.id, 'https://crm.acme.example/other'))).code).toBe(
      'ERR_EGRESS_REFUSED',
    );
    const refusals = await kluis.db
      .selectFrom('audit_log')
      .select(['target_type', 'org_id'])
      .where('action', '=', 'egress.refused')
      .execute();
    expect(refusals).toEqual([
      { target_type: 'webhook', org_id: operator.id },
      { target_type: 'webhook', org_id: tenant.id },
    ]);

    const app = await buildApp(kluis);
    try {
      const http = staffRequests(app);
      const staff = await loginAs(app, {
        ...(await createStaffUser(kluis, { orgId: operator.id, roles: ['privacy_officer'] })),
        org: operator.slug,
      });
      const page = await http.get(staff, '/staff/register');
      expect(page.body).toContain('data-egress="smtp_relay" data-egress-mode="subprocessor"');
      expect(page.body).toContain('Relay Noord B.V.');
      expect(page.body).toContain('data-egress="data_subject"');
      const bad = await http.post(staff, '/staff/register/webhooks', { url: 'javascript:alert(1)' });
      expect(bad.statusCode).toBe(400);
      const added = await http.post(staff, '/staff/register/webhooks', {
        url: 'https://ops.ambrix.example/hook',
      });
      expect(added.statusCode).toBe(303);
      expect((await http.get(staff, '/staff/register')).body).toContain('https://ops.ambrix.example/hook');
    } finally {
      await app.close();
    }

    const preview = await kluis.services.statement.preview({ actor: officer, locale: 'en' });
    expect(preview.html.value).toContain('Where your data goes:');
    expect(preview.html.value).toContain('Email we send you goes through Relay Noord B.V. (sub-processor).');
    expect(preview.html.value).toContain('the system refuses a send to a recipient not listed here');
  });
});
