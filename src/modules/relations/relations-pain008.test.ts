/**
 * The pain.008 file validates against the official pain.008.001.02 XSD (committed under
 * test/fixtures/sepa), checked offline with libxml2's xmllint compiled to WebAssembly; a broken
 * file fails the same check, so the check can fail.
 */
import { describe, expect, it } from 'vitest';
import { validatePain008 } from '../../../test/sepa-xsd.js';
import { buildPain008, type Pain008Input } from './relations-pain008.js';
import { creditorIdCheckDigits } from './relations-sepa.js';

const input: Pain008Input = {
  messageId: 'KLUIS-20300601-AB12CD34EF',
  createdAt: new Date('2030-06-01T09:15:00.000Z'),
  requestedCollectionDate: '2030-06-05',
  creditor: {
    name: 'Ambrix B.V.',
    creditorId: `NL${creditorIdCheckDigits('NL', '123456780000')}ZZZ123456780000`,
    iban: 'NL91ABNA0417164300',
    bic: 'ABNANL2A',
  },
  transactions: [
    {
      endToEndId: '20300601-AB12-1',
      amountCents: 12_50,
      mandateReference: 'AMB-2030-0001',
      mandateSignedAt: '2030-01-15',
      sequenceType: 'FRST',
      scheme: 'CORE',
      debtorName: 'Zoë de Vries & Zn.',
      debtorIban: 'NL20INGB0001234567',
      debtorBic: 'INGBNL2A',
      remittance: 'Factuur 2030-0042 <hosting>',
    },
    {
      endToEndId: '20300601-AB12-2',
      amountCents: 1_234_56,
      mandateReference: 'AMB-2030-0002',
      mandateSignedAt: '2029-11-02',
      sequenceType: 'RCUR',
      scheme: 'CORE',
      debtorName: 'Bakkerij Jansen',
      debtorIban: 'DE89370400440532013000',
      debtorBic: null,
      remittance: '',
    },
    {
      endToEndId: '20300601-AB12-3',
      amountCents: 99_00,
      mandateReference: 'AMB-B2B-7',
      mandateSignedAt: '2030-02-01',
      sequenceType: 'OOFF',
      scheme: 'B2B',
      debtorName: 'Klant B.V.',
      debtorIban: 'NL91ABNA0417164300',
      debtorBic: 'ABNANL2A',
      remittance: 'Eenmalig',
    },
  ],
};

describe('the SEPA pain.008.001.02 file', () => {
  it('validates against the official XSD, with one payment block per scheme and sequence type', async () => {
    const xml = buildPain008(input);
    const result = await validatePain008(xml);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(xml).toContain('<NbOfTxs>3</NbOfTxs>');
    expect(xml).toContain('<CtrlSum>1346.06</CtrlSum>');
    expect(xml.match(/<PmtInf>/g)).toHaveLength(3);
    expect(xml).toContain('<SeqTp>FRST</SeqTp>');
    expect(xml).toContain('<Cd>B2B</Cd>');
    expect(xml).toContain('<Id>NOTPROVIDED</Id>');
    // Names and texts in the SEPA character set, markup escaped away.
    expect(xml).toContain('<Nm>Zoe de Vries + Zn.</Nm>');
    expect(xml).not.toContain('<hosting>');
  });

  it('fails the same validation when the file is broken', async () => {
    const xml = buildPain008(input);
    const missingMessageId = xml.replace(/<MsgId>[^<]*<\/MsgId>/, '');
    const badIban = xml.replace('<IBAN>NL20INGB0001234567</IBAN>', '<IBAN>nl20 ingb</IBAN>');
    const badSequence = xml.replace('<SeqTp>FRST</SeqTp>', '<SeqTp>FIRST</SeqTp>');
    for (const broken of [missingMessageId, badIban, badSequence]) {
      const result = await validatePain008(broken);
      expect(result.valid).toBe(false);
      expect(result.errors.length).toBeGreaterThan(0);
    }
  });

  it('refuses to build an empty file', () => {
    expect(() => buildPain008({ ...input, transactions: [] })).toThrow(RangeError);
  });
});
