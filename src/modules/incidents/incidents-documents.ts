/**
 * What the register gives out: the prepared notification to the Autoriteit Persoonsgegevens
 * (Dutch, with what Art. 33(3) requires: the nature of the breach with the categories and
 * approximate numbers of data subjects and records, the contact point, the likely consequences,
 * the measures taken and proposed; and the reasons for a late notification), and the register
 * itself as CSV and JSON (Art. 33(5): notified or not). Reading either is audited.
 */
import { stringify } from 'csv-stringify/sync';
import type { Actor } from '../../shared/actor.js';
import { scopeOf } from '../../shared/actor.js';
import { type Locale, type MessageKey, t } from '../../shared/i18n/messages.js';
import { assertCan } from '../../shared/permissions.js';
import { csvSafe } from '../register/index.js';
import type { IncidentsDeps } from './incidents-register.js';
import { type IncidentDetail, parseCategories } from './incidents-register.js';
import { createIncidentsRepository } from './incidents-repository.js';

export const AUTHORITY_FORMAT = 'kluis.ap-melding/1';

/** The prepared notification, in Dutch (the authority's language). */
export interface AuthorityNotice {
  readonly formaat: typeof AUTHORITY_FORMAT;
  readonly opgesteldOp: string;
  readonly melder: {
    readonly organisatie: string;
    readonly rol: 'verwerkingsverantwoordelijke' | 'verwerker';
    readonly contactpunt: { readonly email: string; readonly telefoon: string; readonly adres: string };
  };
  readonly incident: {
    readonly kenmerk: string;
    readonly omschrijving: string;
    readonly aard: string;
    readonly bekendSinds: string;
    readonly periode: { readonly van: string; readonly tot: string };
    readonly bron: string;
  };
  readonly omvang: {
    readonly categorieenPersoonsgegevens: readonly string[];
    readonly betrokkenenBijBenadering: number;
    readonly recordsBijBenadering: number;
    readonly getroffenOrganisaties: readonly string[];
  };
  readonly waarschijnlijkeGevolgen: string;
  readonly maatregelen: { readonly genomen: string; readonly voorgesteld: string };
  readonly risico: { readonly niveau: string | null; readonly redenen: string | null };
  readonly betrokkenenGeinformeerd: {
    readonly wachtrij: number;
    readonly verzonden: number;
    readonly mislukt: number;
  };
  readonly termijn: {
    readonly uiterlijk: string;
    readonly teLaat: boolean;
    readonly redenenVertraging: string | null;
  };
  readonly indiening: {
    readonly op: string | null;
    readonly wijze: string | null;
    readonly kenmerk: string | null;
  };
  readonly vervolgmeldingen: readonly { readonly op: string; readonly tekst: string }[];
}

const riskNl: Record<string, string> = { none: 'geen risico', risk: 'risico', high: 'hoog risico' };

export function createIncidentDocuments(
  deps: IncidentsDeps,
  register: { get(actor: Actor, id: string): Promise<IncidentDetail> },
) {
  const { db, audit } = deps;
  return {
    /** The prepared notification to the Autoriteit Persoonsgegevens (audited as read). */
    async authorityNotice(actor: Actor, id: string): Promise<AuthorityNotice> {
      const detail = await register.get(actor, id);
      const { incident: row } = detail;
      const { settings } = await deps.register.snapshotOf(row.org_id);
      await audit.append(db, {
        actor,
        action: 'incidents.authority_notice.read',
        target: { type: 'incident', id },
        purpose: 'breach_notification',
      });
      const filedLate = row.authority_filed_at !== null && row.delay_reasons !== null;
      return {
        formaat: AUTHORITY_FORMAT,
        opgesteldOp: deps.clock.now().toISOString(),
        melder: {
          organisatie: settings.name,
          rol: row.role === 'processor' ? 'verwerker' : 'verwerkingsverantwoordelijke',
          contactpunt: {
            email: settings.privacyEmail || settings.contactEmail,
            telefoon: settings.phone,
            adres: settings.contactAddress,
          },
        },
        incident: {
          kenmerk: row.id,
          omschrijving: row.title,
          aard: row.nature,
          bekendSinds: row.aware_at,
          periode: { van: row.window_from_at, tot: row.window_to_at },
          bron:
            row.signal === null ? 'vastgelegd door medewerker' : t('nl', `incidents.signal.${row.signal}`),
        },
        omvang: {
          categorieenPersoonsgegevens: detail.categories.map((c) =>
            t('nl', `register.category.${c}` as MessageKey),
          ),
          betrokkenenBijBenadering: row.subjects_approx,
          recordsBijBenadering: row.records_approx,
          getroffenOrganisaties: detail.affected.map((a) => a.name),
        },
        waarschijnlijkeGevolgen: row.consequences,
        maatregelen: { genomen: row.measures_taken, voorgesteld: row.measures_proposed },
        risico: {
          niveau: row.risk === null ? null : (riskNl[row.risk] ?? row.risk),
          redenen: row.risk_reasons,
        },
        betrokkenenGeinformeerd: {
          wachtrij: detail.notices.queued,
          verzonden: detail.notices.sent,
          mislukt: detail.notices.failed,
        },
        termijn: {
          uiterlijk: detail.clock.deadline,
          teLaat: filedLate || (row.authority_filed_at === null && detail.clock.overdue),
          redenenVertraging: row.delay_reasons,
        },
        indiening: {
          op: row.authority_filed_at,
          wijze: row.authority_channel,
          kenmerk: row.authority_reference,
        },
        vervolgmeldingen: detail.events
          .filter((e) => e.kind === 'authority_follow_up')
          .map((e) => {
            const meta = JSON.parse(e.meta) as { text?: unknown };
            return { op: e.at, tekst: typeof meta.text === 'string' ? meta.text : '' };
          }),
      };
    },
  };
}

/** The register as rows (JSON) and as CSV (Art. 33(5): notified or not). */
export function createRegisterExport(deps: IncidentsDeps) {
  const { db, audit } = deps;
  return {
    /** The register as rows (JSON) and as CSV in the reader's language (audited as read). */
    async exportRegister(actor: Actor, locale: Locale) {
      assertCan(actor, 'incidents.read');
      const repo = createIncidentsRepository(db);
      const rows = await repo.list(scopeOf(actor));
      const names = new Map((await deps.orgs.list()).map((o) => [o.id, o.name]));
      const items = [];
      for (const r of rows) {
        const affected = (await repo.affected(scopeOf(actor), r.id)).map(
          (a) => names.get(a.affected_org_id) ?? a.affected_org_id,
        );
        items.push({
          id: r.id,
          title: r.title,
          role: r.role,
          source: r.source,
          signal: r.signal,
          awareAt: r.aware_at,
          nature: r.nature,
          categories: parseCategories(r),
          subjectsApprox: r.subjects_approx,
          recordsApprox: r.records_approx,
          consequences: r.consequences,
          measuresTaken: r.measures_taken,
          measuresProposed: r.measures_proposed,
          risk: r.risk,
          riskReasons: r.risk_reasons,
          decision: r.notify_decision,
          decisionReasons: r.decision_reasons,
          decidedBy: r.decided_by,
          decidedAt: r.decided_at,
          authorityFiledAt: r.authority_filed_at,
          delayReasons: r.delay_reasons,
          status: r.status,
          affectedOrganisations: affected,
        });
      }
      await audit.append(db, {
        actor,
        action: 'incidents.register.exported',
        purpose: 'breach_register',
        meta: { incidents: items.length },
      });
      const header = (
        [
          'id',
          'title',
          'role',
          'source',
          'aware',
          'categories',
          'subjects',
          'records',
          'risk',
          'decision',
          'filed',
          'status',
          'affected',
        ] as const
      ).map((k) => t(locale, `incidents.csv.${k}`));
      const csvRows = items.map((i) =>
        [
          i.id,
          i.title,
          i.role,
          i.source,
          i.awareAt,
          i.categories.join(' '),
          String(i.subjectsApprox),
          String(i.recordsApprox),
          i.risk ?? '',
          i.decision ?? '',
          i.authorityFiledAt ?? '',
          i.status,
          i.affectedOrganisations.join('; '),
        ].map(csvSafe),
      );
      return {
        items,
        csv: `\ufeff${stringify([header, ...csvRows], { record_delimiter: 'windows' })}`,
      };
    },
  };
}
