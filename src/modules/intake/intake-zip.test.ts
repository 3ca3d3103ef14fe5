/**
 * Compressed attachments (ASVS 5.2.3): an office document (a zip) that inflates beyond 50 MiB,
 * has too many entries, or lies about its structure is refused at intake; a normal one is kept.
 * The archives are built with yazl (real deflate), the mail with nodemailer's composer, and taken
 * in through the same service the SMTP listener uses.
 */
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import type { Actor } from '../../shared/actor.js';
import type { Org } from '../orgs/index.js';
import { inspectZip, MAX_EXPANDED_BYTES, MAX_ZIP_ENTRIES } from './intake-zip.js';

async function zipOf(
  entries: readonly { name: string; content: Buffer; compress?: boolean }[],
): Promise<Buffer> {
  const zip = new ZipFile();
  for (const e of entries) zip.addBuffer(e.content, e.name, { compress: e.compress ?? true });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

describe('zip-based attachments are inflated within limits before they are kept (ASVS 5.2.3)', () => {
  let kluis: TestKluis;
  let org: Org;
  let normal: Buffer;
  let bomb: Buffer;

  beforeAll(async () => {
    kluis = await createTestKluis();
    org = await createOrg(kluis, 'tenant');
    normal = await zipOf([
      { name: '[Content_Types].xml', content: Buffer.from('<Types/>') },
      { name: 'word/document.xml', content: Buffer.from('<w:document>Hallo</w:document>'.repeat(200)) },
      { name: 'word/media/logo.png', content: Buffer.alloc(2_000, 7), compress: false },
    ]);
    // A megabyte of zeros deflates to about a kilobyte: 51 of them exceed the limit.
    const zeros = Buffer.alloc(1024 * 1024);
    bomb = await zipOf(Array.from({ length: 51 }, (_, i) => ({ name: `word/part${i}.xml`, content: zeros })));
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('inflates a normal document and counts what it really expands to', () => {
    const verdict = inspectZip(normal);
    expect(verdict).toEqual({ ok: true, entries: 3, expandedBytes: 8 + 200 * 30 + 2_000 });
  });

  it('refuses an archive that expands beyond the limit, however small it is', () => {
    expect(bomb.length).toBeLessThan(200_000);
    expect(inspectZip(bomb)).toEqual({ ok: false, reason: 'expands_too_far' });
    expect(MAX_EXPANDED_BYTES).toBe(50 * 1024 * 1024);
  });

  it('refuses too many entries, ZIP64 markers, entries sharing their data, and truncated archives', async () => {
    const many = await zipOf(
      Array.from({ length: MAX_ZIP_ENTRIES + 1 }, (_, i) => ({
        name: `f${i}`,
        content: Buffer.from('x'),
        compress: false,
      })),
    );
    expect(inspectZip(many)).toEqual({ ok: false, reason: 'too_many_entries' });

    const eocd = normal.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const zip64 = Buffer.from(normal);
    zip64.writeUInt32LE(0xffffffff, eocd + 16);
    expect(inspectZip(zip64)).toEqual({ ok: false, reason: 'malformed' });

    // Point the second entry's local header at the first: both would inflate the same data.
    const overlapping = Buffer.from(normal);
    const central = overlapping.readUInt32LE(eocd + 16);
    const second =
      central +
      46 +
      overlapping.readUInt16LE(central + 28) +
      overlapping.readUInt16LE(central + 30) +
      overlapping.readUInt16LE(central + 32);
    overlapping.writeUInt32LE(overlapping.readUInt32LE(central + 42), second + 42);
    expect(inspectZip(overlapping)).toEqual({ ok: false, reason: 'malformed' });

    expect(inspectZip(normal.subarray(0, normal.length - 30))).toEqual({ ok: false, reason: 'malformed' });
    expect(inspectZip(Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100)]))).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('keeps the normal document from a mail and refuses the bomb, noting its type and size', async () => {
    const raw = await new MailComposer({
      from: 'bas@example.nl',
      to: 'contact@example.test',
      subject: 'Twee documenten',
      text: 'Zie bijlagen.',
      attachments: [
        { filename: 'offerte.docx', content: normal, contentType: DOCX },
        { filename: 'bom.docx', content: bomb, contentType: DOCX },
      ],
    })
      .compile()
      .build();
    const outcome = await kluis.services.inboundMail.receive({ orgId: org.id, mailbox: 'contact', raw });
    if (outcome.kind !== 'opened') throw new Error(`not opened: ${outcome.kind}`);
    const support: Actor = {
      kind: 'system',
      orgId: org.id,
      orgKind: org.kind,
      reason: 'test',
      roles: ['support'],
    };
    const detail = await kluis.services.inbox.getConversation({ actor: support, id: outcome.conversationId });
    expect(detail.attachments.map((a) => [a.filename, a.size])).toEqual([['offerte.docx', normal.length]]);
    expect(detail.entries[0]?.refused).toEqual([{ contentType: DOCX, size: bomb.length }]);
  });
});
