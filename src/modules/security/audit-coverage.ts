/**
 * Which staff actions the audit trail records, by kind (P11). The statement's audit claim is made
 * from this list and nothing else, so it never says "every action". Each kind names the audit
 * actions that prove it; `audit-coverage.test.ts` checks each of those is really appended by the
 * code, so a kind cannot stay in the list after its audit call is removed.
 */
export const auditedKinds = {
  sign_in: ['auth.login.success', 'auth.login.failure', 'auth.account.locked'],
  personal_data_read: [
    'intake.conversation.read',
    'relations.mandate.read',
    'relations.agreement.document.read',
    'security.access_log.read',
  ],
  personal_data_change: [
    'relations.relation.updated',
    'intake.contact.corrected',
    'intake.conversation.deleted',
    'rights.subject.erased',
  ],
  access_change: [
    'auth.user.roles_changed',
    'auth.grant.created',
    'auth.grant.revoked',
    'auth.api_key.created',
  ],
  export: ['relations.collection.exported', 'backup.created'],
  policy_change: ['retention.policy.changed', 'register.settings.update', 'statement.publish'],
} as const satisfies Record<string, readonly string[]>;

export type AuditedKind = keyof typeof auditedKinds;

export const auditedKindList = Object.keys(auditedKinds) as AuditedKind[];
