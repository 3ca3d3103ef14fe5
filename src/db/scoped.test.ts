/**
 * `findInOrg`, the one lookup by id that repositories share: a row is found in its own
 * organisation only. Attacks: another organisation's id, an unknown id, an id that is SQL.
 * Runs on the test dialect (KLUIS_TEST_DIALECT=postgres for PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../test/dialects.js';
import { createOrg, createStaffUser } from '../../test/factories.js';
import { findInOrg } from './scoped.js';

describe('findInOrg', () => {
  let kluis: TestKluis;
  let own: { orgId: string };
  let other: { orgId: string };
  let userId: string;

  beforeAll(async () => {
    kluis = await createTestKluis();
    own = { orgId: (await createOrg(kluis, 'tenant', 'Eigen Organisatie')).id };
    other = { orgId: (await createOrg(kluis, 'tenant', 'Andere Organisatie')).id };
    userId = (await createStaffUser(kluis, { orgId: own.orgId, roles: ['admin'] })).user.id;
  });

  afterAll(async () => {
    await kluis.destroy();
  });

  it('finds the row of the scope’s organisation, with its columns', async () => {
    const row = await findInOrg(kluis.db, 'users', own, userId);
    expect(row?.id).toBe(userId);
    expect(row?.org_id).toBe(own.orgId);
  });

  it('does not find another organisation’s row by its id', async () => {
    expect(await findInOrg(kluis.db, 'users', other, userId)).toBeUndefined();
  });

  it('finds nothing for an unknown id or an id written as SQL', async () => {
    expect(await findInOrg(kluis.db, 'users', own, 'no-such-id')).toBeUndefined();
    expect(await findInOrg(kluis.db, 'users', own, `${userId}' or '1'='1`)).toBeUndefined();
    expect(await findInOrg(kluis.db, 'users', other, `x' or org_id <> '`)).toBeUndefined();
  });
});
