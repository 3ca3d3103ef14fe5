import { describe, expect, it } from 'vitest';
import { newId, timeOfId } from './ids.js';

describe('record ids', () => {
  it('are version 7 UUIDs in lower case', () => {
    expect(newId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keep increasing as text, also within one millisecond, so new rows go to the end of an index', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('tell anyone who sees them when they were made (why they are never secrets)', () => {
    const before = Date.now();
    const at = timeOfId(newId())?.getTime() ?? 0;
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(timeOfId('3b241101-e2bb-4255-8caf-4136c566a962')).toBeUndefined();
  });
});
