import { describe, expect, it } from 'vitest';
import { messageIdsOf, outboundMessageId, referencesFor } from './intake-threads.js';

describe('Message-IDs for threading', () => {
  const org = '0b7e4c52-5d5a-4f43-9d55-3a1c1f0b9a11';
  const entry = '6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';

  it("names Kluis's own replies by entry only: no organisation id in a Message-ID", () => {
    const id = outboundMessageId(entry, 'https://kluis.ambrix.nl');
    expect(id).toBe(`<kluis.${entry}@kluis.ambrix.nl>`);
    expect(id).not.toContain(org);
  });

  it('collects ids from In-Reply-To and References in order, once each, ignoring junk', () => {
    expect(messageIdsOf('<a@x> <b@x>', ['<b@x>', ' <c@x> '], undefined, 'no id here')).toEqual([
      '<a@x>',
      '<b@x>',
      '<c@x>',
    ]);
  });

  it('keeps the root and the latest ids when a thread grows long', () => {
    const ids = Array.from({ length: 30 }, (_, i) => `<m${i}@x>`);
    const refs = referencesFor(ids, 5);
    expect(refs).toEqual(['<m0@x>', '<m26@x>', '<m27@x>', '<m28@x>', '<m29@x>']);
    expect(referencesFor(ids.slice(0, 3), 5)).toEqual(ids.slice(0, 3));
  });
});
