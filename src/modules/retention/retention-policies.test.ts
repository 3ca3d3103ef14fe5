import { describe, expect, it } from 'vitest';
import {
  addMonths,
  checkPolicyChange,
  defaultPolicies,
  effectivePolicies,
  expiresOn,
  firstKeptDay,
  monthsFrom,
  policyDefinitions,
} from './retention-policies.js';

const months = { trigger: 'request_closed', unit: 'months' } as const;
const fiscal = { trigger: 'fiscal_year_end', unit: 'months' } as const;

describe('retention calendar arithmetic', () => {
  it('adds calendar months and clamps to the end of a shorter month', () => {
    expect(addMonths('2024-01-15', 12)).toBe('2025-01-15');
    expect(addMonths('2024-01-31', 1)).toBe('2024-02-29');
    expect(addMonths('2023-01-31', 1)).toBe('2023-02-28');
    expect(addMonths('2024-03-31', -1)).toBe('2024-02-29');
    expect(addMonths('2024-11-30', 3)).toBe('2025-02-28');
  });

  it('expires a record on the anniversary day: kept the day before, expired on the day and after', () => {
    const ref = '2024-01-15T16:00:00.000Z';
    expect(expiresOn(months, 12, ref.slice(0, 10))).toBe('2025-01-15');
    const kept = (asOf: string) => ref < firstKeptDay(months, 12, new Date(asOf));
    expect(kept('2025-01-14T23:59:59.999Z')).toBe(false);
    expect(kept('2025-01-15T00:00:00.000Z')).toBe(true);
    expect(kept('2025-01-16T12:00:00.000Z')).toBe(true);
  });

  it('agrees with expiresOn for every day of a leap year, also at month ends', () => {
    for (let d = Date.parse('2024-01-01'); d < Date.parse('2025-01-01'); d += 86_400_000) {
      const day = new Date(d).toISOString().slice(0, 10);
      for (const n of [1, 3, 12]) {
        const expiry = expiresOn(months, n, day);
        const before = new Date(Date.parse(`${expiry}T00:00:00.000Z`) - 1);
        expect(day < firstKeptDay(months, n, before), `${day}+${n} before ${expiry}`).toBe(false);
        expect(
          day < firstKeptDay(months, n, new Date(`${expiry}T00:00:00.000Z`)),
          `${day}+${n} on ${expiry}`,
        ).toBe(true);
      }
    }
  });

  it('starts the fiscal duty at the end of the fiscal year: 7 years after 31 December', () => {
    expect(expiresOn(fiscal, 84, '2024-03-10')).toBe('2032-01-01');
    expect(expiresOn(fiscal, 84, '2024-12-31')).toBe('2032-01-01');
    expect(firstKeptDay(fiscal, 84, new Date('2031-12-31T23:59:59Z'))).toBe('2024-01-01');
    expect(firstKeptDay(fiscal, 84, new Date('2032-01-01T00:00:00Z'))).toBe('2025-01-01');
  });

  it('lists the months of a forecast starting with the current one', () => {
    expect(monthsFrom(new Date('2024-11-20T10:00:00Z'), 4)).toEqual([
      '2024-11',
      '2024-12',
      '2025-01',
      '2025-02',
    ]);
  });
});

describe('tightening and loosening policies', () => {
  it('allows a shorter period and a longer one up to the legal maximum, refuses the rest', () => {
    expect(checkPolicyChange(defaultPolicies.contact_request, 6)).toBeUndefined();
    expect(checkPolicyChange(defaultPolicies.contact_request, 0)).toBeUndefined();
    expect(checkPolicyChange(defaultPolicies.contact_request, 24)).toBeUndefined();
    expect(checkPolicyChange(defaultPolicies.contact_request, 25)).toBe('above_legal_max');
    expect(checkPolicyChange(defaultPolicies.fiscal_7y, 83)).toBe('below_legal_min');
    expect(checkPolicyChange(defaultPolicies.fiscal_7y, 121)).toBe('above_legal_max');
    expect(checkPolicyChange(defaultPolicies.client_relation, 1.5)).toBe('not_whole');
    expect(checkPolicyChange(defaultPolicies.access_log, 30)).toBe('configured');
  });

  it('takes the access-log period from configuration and clamps stored values into the legal bounds', () => {
    const defs = policyDefinitions({ accessLog: { truncateIpAfterDays: 3, deleteAfterDays: 45 } });
    const rows = [
      { policy_id: 'fiscal_7y', period_value: 12, updated_at: '2024-01-01', updated_by_id: null },
      { policy_id: 'contact_request', period_value: 6, updated_at: '2024-01-01', updated_by_id: 'u' },
      { policy_id: 'access_log', period_value: 1, updated_at: '2024-01-01', updated_by_id: null },
    ];
    const p = effectivePolicies(defs, rows);
    expect(p.access_log.value).toBe(45);
    expect(p.fiscal_7y.value).toBe(84);
    expect(p.contact_request).toMatchObject({ value: 6, customised: true });
    expect(p.client_relation).toMatchObject({ value: 3, customised: false });
  });
});
