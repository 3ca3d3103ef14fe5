/**
 * The facts the statement's claims rest on (issue 16, P11, P14). Every sentence of the statement
 * that claims a measure is made from these, never from a fixed text: TLS per connection (from the
 * configuration), two-step verification (the enforced policy), the kinds of audited staff actions
 * (the security module's declared and tested list), processor agreements on file and transfer
 * mechanisms for sub-processors outside the EEA (the register's data), and the named production
 * exceptions in force. A fact that does not hold drops the claim or words it as it is, and
 * `gapsOf` lists what the dashboard shows the privacy officer.
 */
import type { Config, InsecureOverride, TransportFacts } from '../../config/env.js';
import type { RegisterSnapshot } from '../register/index.js';
import { type AuditedKind, auditedKindList } from '../security/index.js';

export const connections = ['web', 'database', 'smtpRelay', 'inboundSmtp'] as const;
export type Connection = (typeof connections)[number];

export interface ClaimFacts {
  readonly transport: TransportFacts;
  readonly insecureOverrides: readonly InsecureOverride[];
  /** The operator's staff must enrol two-step verification before anything else. */
  readonly requireTotpForOperator: boolean;
  readonly auditedKinds: readonly AuditedKind[];
  /** The transfer mechanism on record, by sub-processor id (adequacy decision, SCCs with date, BCR). */
  readonly transferMechanisms: Readonly<Record<string, string>>;
}

/** What the statement may claim, fact by fact. */
export interface Claims {
  /** Connections that are not encrypted; the TLS claim holds when this is empty. */
  readonly unencrypted: readonly Connection[];
  /** Every staff member of this org must sign in with two-step verification. */
  readonly totpForAllStaff: boolean;
  readonly auditedKinds: readonly AuditedKind[];
  /** Names of active sub-processors without a processor agreement on file. */
  readonly withoutAgreement: readonly string[];
  /** Names of active sub-processors outside the EEA without a transfer mechanism on record. */
  readonly withoutSafeguard: readonly string[];
  readonly overrides: readonly InsecureOverride[];
  /** The transfer mechanism on record, by sub-processor id. */
  readonly transferMechanisms: Readonly<Record<string, string>>;
}

/** The facts as the running configuration enforces them. */
export function claimFactsOf(
  config: Pick<Config, 'transport' | 'insecureOverrides' | 'requireTotpForOperator'>,
): ClaimFacts {
  return {
    transport: config.transport,
    insecureOverrides: config.insecureOverrides,
    requireTotpForOperator: config.requireTotpForOperator,
    auditedKinds: auditedKindList,
    // The register records each sub-processor's mechanism (claimsOf reads it from the snapshot);
    // entries here override it (tests, or a wording the operator wants).
    transferMechanisms: {},
  };
}

function encrypted(connection: Connection, t: TransportFacts): boolean {
  switch (connection) {
    case 'web':
      return t.web !== 'none';
    case 'database':
      return t.database !== 'plain';
    case 'smtpRelay':
      return t.smtpRelay !== 'plain';
    case 'inboundSmtp':
      return t.inboundSmtp !== 'plain';
  }
}

/** The mechanism as the register records it, in words both statement languages can carry. */
function recordedMechanism(p: RegisterSnapshot['subprocessors'][number]): string {
  switch (p.transferMechanism) {
    case 'adequacy':
      return 'EU adequacy decision';
    case 'scc':
      return `EU SCC${p.sccDate === null ? '' : ` ${p.sccDate}`}`;
    case 'bcr':
      return 'BCR';
    case null:
      return '';
  }
}

export function claimsOf(
  facts: ClaimFacts,
  snapshot: Pick<RegisterSnapshot, 'org' | 'subprocessors'>,
): Claims {
  const active = snapshot.subprocessors.filter((p) => p.status === 'active');
  const mechanisms: Record<string, string> = {};
  for (const p of active) {
    const text = facts.transferMechanisms[p.id] ?? (p.inEea ? '' : recordedMechanism(p));
    if (text !== '') mechanisms[p.id] = text;
  }
  return {
    unencrypted: connections.filter((c) => !encrypted(c, facts.transport)),
    // Only the operator's staff are held to two-step verification; a tenant's staff may skip it.
    totpForAllStaff: snapshot.org.kind === 'operator' && facts.requireTotpForOperator,
    auditedKinds: facts.auditedKinds,
    withoutAgreement: active.filter((p) => p.agreement === undefined).map((p) => p.name),
    withoutSafeguard: active.filter((p) => !p.inEea && (mechanisms[p.id] ?? '') === '').map((p) => p.name),
    overrides: facts.insecureOverrides,
    transferMechanisms: mechanisms,
  };
}

export type ClaimGap =
  | { readonly kind: 'unencrypted'; readonly connections: readonly Connection[] }
  | { readonly kind: 'totp' }
  | { readonly kind: 'agreements'; readonly names: readonly string[] }
  | { readonly kind: 'transfers'; readonly names: readonly string[] }
  | { readonly kind: 'overrides'; readonly overrides: readonly InsecureOverride[] };

/** The claims the statement cannot make as the seed statement makes them: the dashboard's list. */
export function gapsOf(claims: Claims): ClaimGap[] {
  const gaps: ClaimGap[] = [];
  if (claims.unencrypted.length > 0) gaps.push({ kind: 'unencrypted', connections: claims.unencrypted });
  if (!claims.totpForAllStaff) gaps.push({ kind: 'totp' });
  if (claims.withoutAgreement.length > 0) gaps.push({ kind: 'agreements', names: claims.withoutAgreement });
  if (claims.withoutSafeguard.length > 0) gaps.push({ kind: 'transfers', names: claims.withoutSafeguard });
  if (claims.overrides.length > 0) gaps.push({ kind: 'overrides', overrides: claims.overrides });
  return gaps;
}
