/**
 * The typed schema: the union of every module's tables. Each module declares its own tables in
 * `<module>-schema.ts`; add the module's interface here when it gets tables.
 */

import type { AuthTables } from '../modules/auth/auth-schema.js';
import type { DisclosureTables } from '../modules/disclosure/disclosure-schema.js';
import type { IncidentsTables } from '../modules/incidents/incidents-schema.js';
import type { IntakeTables } from '../modules/intake/intake-schema.js';
import type { JobsTables } from '../modules/jobs/jobs-schema.js';
import type { OffboardingTables } from '../modules/offboarding/offboarding-schema.js';
import type { OpendsrTables } from '../modules/opendsr/opendsr-schema.js';
import type { OrgsTables } from '../modules/orgs/orgs-schema.js';
import type { RegisterTables } from '../modules/register/register-schema.js';
import type { RelationsTables } from '../modules/relations/relations-schema.js';
import type { RetentionTables } from '../modules/retention/retention-schema.js';
import type { RightsTables } from '../modules/rights/rights-schema.js';
import type { AuditTables } from '../modules/security/audit-schema.js';
import type { SecurityTables } from '../modules/security/security-schema.js';
import type { StatementTables } from '../modules/statement/statement-schema.js';
import type { SubjectsTables } from '../modules/subjects/subjects-schema.js';
import type { TenantsTables } from '../modules/tenants/tenants-schema.js';

export interface DB
  extends AuthTables,
    OrgsTables,
    AuditTables,
    SecurityTables,
    JobsTables,
    SubjectsTables,
    IntakeTables,
    RegisterTables,
    StatementTables,
    RelationsTables,
    RetentionTables,
    RightsTables,
    OpendsrTables,
    OffboardingTables,
    DisclosureTables,
    IncidentsTables,
    TenantsTables {}
