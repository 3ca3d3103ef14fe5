import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { seedConversation, seedRelation } from '../../../test/retention-fixtures.js';
import { createFixedClock } from '../../shared/clock.js';
import { translator } from '../../shared/i18n/messages.js';
import { forecastChart, forecastTable, niceMax } from './retention-chart.js';

describe('the retention forecast', () => {
  let kluis: TestKluis;
  const clock = createFixedClock('2024-03-15T10:00:00.000Z');
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('counts per month over 24 months what expires, by category, with overdue records in the first month', async () => {
    const org = await createOrg(kluis, 'tenant');
    const other = await createOrg(kluis, 'tenant');
    await seedConversation(kluis, org.id, { closedAt: '2022-01-01T00:00:00.000Z' }); // overdue
    await seedConversation(kluis, org.id, { closedAt: '2023-07-31T10:00:00.000Z' }); // 2024-07
    await seedConversation(kluis, org.id, { closedAt: '2023-07-01T10:00:00.000Z' }); // 2024-07
    await seedConversation(kluis, org.id, { closedAt: '2026-03-01T10:00:00.000Z' }); // beyond 24 months
    await seedConversation(kluis, org.id, { status: 'open' });
    await seedConversation(kluis, other.id, { closedAt: '2023-07-01T10:00:00.000Z' });
    await seedRelation(kluis, org.id, { endedAt: '2024-02-29', mandate: { collections: ['2017-06-01'] } });

    const forecast = await kluis.services.retention.forecast(org);
    expect(forecast.months).toHaveLength(24);
    expect(forecast.months[0]).toBe('2024-03');
    const series = (c: string) => forecast.series.find((s) => s.category === c)?.counts ?? [];
    const at = (c: string, month: string) => series(c)[forecast.months.indexOf(month)];
    expect(at('intake.conversations', '2024-03')).toBe(1);
    expect(at('intake.conversations', '2024-07')).toBe(2);
    expect(series('intake.conversations').reduce((a, b) => a + b, 0)).toBe(3);
    expect(at('relations.client_data', '2024-05')).toBe(1); // 29 Feb + 3 months = 29 May
    expect(at('relations.fiscal_collections', '2025-01')).toBe(1); // FY 2017 + 7 years
    expect(forecast.series.map((s) => s.category)).not.toContain('subjects.erase');

    const t = translator('en');
    const svg = forecastChart(t, forecast).value;
    expect(svg.match(/<rect x=/g)?.length).toBe(4);
    expect(svg).toContain('<title id="forecast-title">Records expiring per month</title>');
    expect(svg).not.toMatch(/style=|<script/);
    const table = forecastTable(t, forecast).value;
    expect(table).toContain('<tr><th scope="row">2024-07</th><td>2</td>');
  });

  it('rounds the axis to 5, 10, 20, 50 ...', () => {
    expect([niceMax(5), niceMax(7), niceMax(11), niceMax(20), niceMax(21), niceMax(999)]).toEqual([
      5, 10, 20, 20, 50, 1000,
    ]);
  });
});
