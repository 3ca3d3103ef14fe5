import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { rejection } from '../../../test/errors.js';
import { createOrg } from '../../../test/factories.js';
import type { Actor, Role } from '../../shared/actor.js';
import { type CatalogueField, fieldCatalogue } from '../../shared/catalogue.js';
import { createFixedClock } from '../../shared/clock.js';
import { t } from '../../shared/i18n/messages.js';
import type { Org } from '../orgs/orgs-repository.js';
import { label } from '../register/register-labels.js';
import { createRegisterService } from '../register/register-service.js';
import { createStatementService } from './statement-service.js';

const clock = createFixedClock('2030-03-04T09:00:00.000Z');

function staff(org: Pick<Org, 'id' | 'kind'>, roles: readonly Role[]): Actor {
  return { kind: 'user', orgId: org.id, orgKind: org.kind, userId: randomUUID(), roles };
}

const hosting = {
  name: 'Hostnet B.V.',
  service: 'Hosting van servers',
  location: 'Amsterdam',
  country: 'NL',
  dataCategories: ['contact_details', 'message_content'],
  agreementVersion: '2.1',
  agreementSignedOn: '2029-11-01',
};

describe('the privacy statement', () => {
  let kluis: TestKluis;
  let operator: Org;
  let officer: Actor;

  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    officer = staff(operator, ['privacy_officer']);
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('names every data category and purpose of the catalogue, in Dutch and in English', async () => {
    const { generated } = await kluis.services.statement.generateFor(operator.id);
    expect(fieldCatalogue().fields.length).toBeGreaterThan(5);
    for (const locale of ['nl', 'en'] as const) {
      const text = generated.markdown[locale];
      const tr = (key: Parameters<typeof t>[1], values?: Parameters<typeof t>[2]) => t(locale, key, values);
      for (const field of fieldCatalogue().fields) {
        const where = `${field.table}.${field.column} (${locale})`;
        expect(text, where).toContain(`**${label(tr, 'category', field.category)}**`);
        for (const purpose of field.purposes) {
          expect(text, where).toContain(`### ${label(tr, 'purpose', purpose)}`);
        }
      }
    }
    expect(generated.markdown.nl).toContain('# Privacyverklaring Ambrix');
    expect(generated.markdown.en).toContain('# Privacy statement Ambrix');
  });

  it('says what the seed statement says: rights portal, privacy address, the authority, terms and log periods', async () => {
    await kluis.services.register.updateSettings({
      actor: officer,
      values: {
        privacyEmail: 'privacy@ambrix.nl',
        termsUrl: 'http://av.ambrix.nl/',
        channels: ['web_form', 'email', 'phone', 'other'],
      },
    });
    const { generated } = await kluis.services.statement.generateFor(operator.id);
    const { truncateIpAfterDays, deleteAfterDays } = kluis.config.accessLog;
    for (const text of [generated.markdown.nl, generated.markdown.en]) {
      expect(text).toContain(`${kluis.config.publicOrigin}`);
      expect(text).toContain('/rights>');
      expect(text).toContain('(<mailto:privacy@ambrix.nl>)');
      expect(text).toContain('(<https://autoriteitpersoonsgegevens.nl>)');
      expect(text).toContain('(<http://av.ambrix.nl/>)');
      expect(text).toContain(`${truncateIpAfterDays}`);
      expect(text).toContain(`${deleteAfterDays}`);
    }
    expect(generated.markdown.nl).toContain('/privacy/versions>');
    expect(generated.markdown.en).toContain('/en/privacy/versions>');
    expect(generated.markdown.nl).toContain('Autoriteit Persoonsgegevens');
  });

  it('is out of date until published, up to date after, and out of date again when the register changes', async () => {
    const statement = kluis.services.statement;
    expect(await statement.getStatus({ actor: officer })).toMatchObject({
      latest: undefined,
      outOfDate: true,
    });
    const v1 = await statement.publish({ actor: officer, values: { changeSummaryNl: 'Eerste versie' } });
    expect(v1.number).toBe(1);
    expect(await statement.getStatus({ actor: officer })).toMatchObject({ outOfDate: false, nextNumber: 2 });

    await kluis.services.register.createSubprocessor({ actor: officer, values: hosting });
    expect((await statement.getStatus({ actor: officer })).outOfDate).toBe(true);

    await statement.publish({ actor: officer, values: { changeSummaryNl: 'Hostnet toegevoegd' } });
    expect((await statement.getStatus({ actor: officer })).outOfDate).toBe(false);
    await kluis.services.register.updateActivity({
      actor: officer,
      purpose: 'handle_requests',
      values: { description: 'Wij beantwoorden uw vraag.' },
    });
    expect((await statement.getStatus({ actor: officer })).outOfDate).toBe(true);
  });

  it('is out of date when the catalogue gains a field the published version does not mention', async () => {
    const statement = kluis.services.statement;
    await statement.publish({ actor: officer, values: { changeSummaryNl: 'Eerste versie' } });
    const unused = (['consent', 'rights_request'] as const).find(
      (c) => !fieldCatalogue().fields.some((f) => f.category === c),
    );
    const extra: CatalogueField = {
      table: 'consents',
      column: 'given_for',
      category: unused ?? 'consent',
      purposes: ['rights_handling'],
      legalBasis: 'consent',
      subjects: 'contact',
      retention: 'data_subject',
      readRoles: ['privacy_officer'],
      protection: 'subject_key',
    };
    const register = createRegisterService({
      db: kluis.db,
      clock,
      keyring: kluis.keyring,
      config: kluis.config,
      users: { listUsers: async () => [] },
      audit: kluis.services.audit,
      fields: [...fieldCatalogue().fields, extra],
    });
    const extended = createStatementService({
      db: kluis.db,
      clock,
      config: kluis.config,
      register,
      audit: kluis.services.audit,
    });
    // Same database, same published version: only the catalogue differs.
    expect((await statement.getStatus({ actor: officer })).outOfDate).toBe(false);
    expect((await extended.getStatus({ actor: officer })).outOfDate).toBe(true);
    const { generated } = await extended.generateFor(operator.id);
    expect(generated.markdown.nl).toContain(`**${label((k) => t('nl', k), 'category', extra.category)}**`);
  });

  it('stores both languages at publication, so later changes never alter an old version', async () => {
    const statement = kluis.services.statement;
    await statement.publish({
      actor: officer,
      values: { changeSummaryNl: 'Eerste versie', changeSummaryEn: 'First version' },
    });
    const before = await statement.findVersion(operator.id, 1);
    await kluis.services.register.createSubprocessor({ actor: officer, values: hosting });
    await statement.saveSections({ actor: officer, values: { intro_nl: 'Nieuwe inleiding.' } });
    const after = await statement.findVersion(operator.id, 1);
    const plain = (v: typeof after) =>
      JSON.stringify({ ...v, html: { nl: v?.html.nl.value, en: v?.html.en.value } });
    expect(plain(after)).toEqual(plain(before));
    expect(after?.markdown.nl).not.toContain('Hostnet');
    expect(after?.html.nl.value).toContain('<h1>Privacyverklaring Ambrix</h1>');
    expect(after?.html.en.value).toContain('<h1>Privacy statement Ambrix</h1>');
    expect(after?.changeSummary).toEqual({ nl: 'Eerste versie', en: 'First version' });
  });

  it('refuses to publish a version identical to the newest one', async () => {
    const statement = kluis.services.statement;
    await statement.publish({ actor: officer, values: { changeSummaryNl: 'Eerste versie' } });
    const error = await rejection(
      statement.publish({ actor: officer, values: { changeSummaryNl: 'Nog eens' } }),
    );
    expect(error.code).toBe('ERR_VALIDATION');
    expect(error.fields).toEqual({ changeSummaryNl: 'statement.publish.unchanged' });
    expect(await statement.listVersions(operator.id)).toHaveLength(1);
  });

  it('records every publication in the audit trail, in the same transaction', async () => {
    await kluis.services.statement.publish({
      actor: officer,
      values: { changeSummaryNl: 'Eerste versie' },
    });
    const entries = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'statement.publish')
      .execute();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ org_id: operator.id, target_type: 'statement_version' });
    expect(JSON.parse(entries[0]?.meta ?? '{}')).toMatchObject({ number: 1 });
  });

  it('lets only the privacy officer publish or edit; owners and admins may look', async () => {
    const statement = kluis.services.statement;
    for (const role of ['support', 'finance', 'security', 'owner', 'admin'] as const) {
      const actor = staff(operator, [role]);
      expect((await rejection(statement.publish({ actor, values: { changeSummaryNl: 'x' } }))).code).toBe(
        'ERR_FORBIDDEN',
      );
      expect((await rejection(statement.saveSections({ actor, values: { intro_nl: 'x' } }))).code).toBe(
        'ERR_FORBIDDEN',
      );
    }
    for (const role of ['support', 'finance', 'security'] as const) {
      expect((await rejection(statement.getEditor({ actor: staff(operator, [role]) }))).code).toBe(
        'ERR_FORBIDDEN',
      );
    }
    await expect(statement.getEditor({ actor: staff(operator, ['owner']) })).resolves.toBeDefined();
    expect(await statement.listVersions(operator.id)).toEqual([]);
  });

  it('keeps published versions immutable in the database itself: UPDATE and DELETE are refused', async () => {
    const statement = kluis.services.statement;
    await statement.publish({ actor: officer, values: { changeSummaryNl: 'Eerste versie' } });
    const before = await kluis.db.selectFrom('statement_versions').selectAll().execute();
    await expect(
      sql`update statement_versions set markdown_nl = ${'# Iets anders'}`.execute(kluis.db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`update statement_versions set number = 7`.execute(kluis.db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from statement_versions`.execute(kluis.db)).rejects.toThrow(/append-only/);
    if (kluis.dialect === 'postgres') {
      await expect(sql`truncate statement_versions`.execute(kluis.db)).rejects.toThrow(/append-only/);
    }
    expect(await kluis.db.selectFrom('statement_versions').selectAll().execute()).toEqual(before);
  });

  it('numbers versions per organisation: a tenant has its own statement and archive', async () => {
    const tenant = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    const tenantOfficer = staff(tenant, ['privacy_officer']);
    const statement = kluis.services.statement;
    await statement.publish({ actor: officer, values: { changeSummaryNl: 'Ambrix v1' } });
    const v = await statement.publish({ actor: tenantOfficer, values: { changeSummaryNl: 'Jansen v1' } });
    expect(v.number).toBe(1);
    const tenantVersion = await statement.findLatestVersion(tenant.id);
    expect(tenantVersion?.markdown.nl).toContain('# Privacyverklaring Bakkerij Jansen');
    expect(tenantVersion?.markdown.nl).toContain(`${kluis.config.publicOrigin}/o/${tenant.slug}/rights`);
    // A tenant's statement has no "processing by clients" section and no operator terms by default.
    expect(tenantVersion?.markdown.nl).not.toContain('Verwerking door klanten');
    expect(tenantVersion?.markdown.nl).not.toContain('av.ambrix.nl');
    expect((await statement.listVersions(operator.id)).map((x) => x.changeSummary.nl)).toEqual(['Ambrix v1']);
  });

  it('shows an added sub-processor in the differences between two versions', async () => {
    const statement = kluis.services.statement;
    await statement.publish({ actor: officer, values: { changeSummaryNl: 'Eerste versie' } });
    await kluis.services.register.createSubprocessor({ actor: officer, values: hosting });
    await statement.publish({ actor: officer, values: { changeSummaryNl: 'Hostnet toegevoegd' } });
    for (const locale of ['nl', 'en'] as const) {
      const diff = await statement.diff(operator.id, 1, 2, locale);
      const added = diff?.blocks.filter((b) => b.kind === 'added').flatMap((b) => b.lines) ?? [];
      expect(
        added.some((l) => l.includes('**Hostnet B.V.**')),
        locale,
      ).toBe(true);
      expect(
        diff?.blocks
          .filter((b) => b.kind === 'removed')
          .flatMap((b) => b.lines)
          .join('\n'),
      ).not.toContain('Hostnet');
    }
    expect(await statement.diff(operator.id, 1, 9, 'nl')).toBeUndefined();
  });

  it('renders the privacy officer’s markdown harmlessly: no script, no javascript: links, no raw HTML', async () => {
    const statement = kluis.services.statement;
    await statement.saveSections({
      actor: officer,
      values: {
        intro_nl: [
          '<script>alert(1)</script>',
          '[klik](javascript:alert(1))',
          '[klik2](JaVaScRiPt:alert(2))',
          '<img src=x onerror=alert(3)>',
          '![pixel](https://tracker.example/p.png)',
          '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==)',
          '[goed](https://example.nl/ok)',
        ].join('\n\n'),
      },
    });
    const preview = await statement.preview({ actor: officer, locale: 'nl' });
    await statement.publish({ actor: officer, values: { changeSummaryNl: 'Test' } });
    const published = await statement.findVersion(operator.id, 1);
    for (const markup of [preview.html.value, published?.html.nl.value ?? '']) {
      expect(markup).not.toMatch(/<script/i);
      expect(markup).not.toMatch(/href="(javascript|data|vbscript):/i);
      expect(markup).not.toMatch(/<img/i);
      expect(markup).not.toMatch(/<[^>]*\sonerror=/i);
      expect(markup).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(markup).toContain('<a href="https://example.nl/ok">goed</a>');
    }
  });

  it('escapes register values in the generated markdown (a name cannot smuggle a link)', async () => {
    await kluis.services.register.createSubprocessor({
      actor: officer,
      values: {
        ...hosting,
        name: 'Evil [x](javascript:alert(1)) <b>B.V.</b>',
      },
    });
    const preview = await kluis.services.statement.preview({ actor: officer, locale: 'nl' });
    expect(preview.html.value).not.toMatch(/href="javascript:/i);
    expect(preview.html.value).not.toContain('<b>B.V.</b>');
    expect(preview.html.value).toContain('Evil [x](javascript:alert(1)) &lt;b&gt;B.V.&lt;/b&gt;');
  });
});
