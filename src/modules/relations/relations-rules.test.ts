/** Pure rules of P4: salutation, billing address, IBAN/BIC, creditor id, amounts, sequence types. */
import { describe, expect, it } from 'vitest';
import { normaliseDutchPostcode, validateBillingAddress } from './relations-address.js';
import { pdfProblem, safeFileName } from './relations-agreements.js';
import { relationsEn, relationsNl } from './relations-messages.js';
import { addressee, salutation } from './relations-salutation.js';
import {
  checkBic,
  checkCreditorId,
  checkIban,
  checkMandateReference,
  creditorIdCheckDigits,
  maskIban,
  nextSequenceType,
  parseEuroAmount,
  sepaText,
} from './relations-sepa.js';

describe('the salutation', () => {
  const sam = { firstName: 'Sam', lastName: 'de Vries' };
  it.each([
    ['nl', 'mr', 'formal', 'Geachte heer De Vries,'],
    ['nl', 'ms', 'formal', 'Geachte mevrouw De Vries,'],
    ['nl', 'neutral', 'formal', 'Geachte Sam de Vries,'],
    ['nl', 'mr', 'informal', 'Beste Sam,'],
    ['nl', 'ms', 'informal', 'Beste Sam,'],
    ['nl', 'neutral', 'informal', 'Beste Sam,'],
    ['en', 'mr', 'formal', 'Dear Mr De Vries,'],
    ['en', 'ms', 'formal', 'Dear Ms De Vries,'],
    ['en', 'neutral', 'formal', 'Dear Sam de Vries,'],
    ['en', 'mr', 'informal', 'Hi Sam,'],
    ['en', 'ms', 'informal', 'Hi Sam,'],
    ['en', 'neutral', 'informal', 'Hi Sam,'],
  ] as const)('addresses %s/%s (%s) as "%s"', (locale, formOfAddress, register, expected) => {
    expect(salutation(locale, { formOfAddress, ...sam }, register)).toBe(expected);
  });

  it('uses the full name without a title when the form of address is neutral, also without a first name', () => {
    expect(
      salutation(
        'nl',
        { formOfAddress: 'neutral', lastName: 'de Vries', fullName: 'Sam de Vries' },
        'informal',
      ),
    ).toBe('Beste Sam de Vries,');
    expect(salutation('en', { formOfAddress: 'neutral', lastName: 'Jansen' })).toBe('Dear Jansen,');
    expect(salutation('nl', { formOfAddress: 'ms', lastName: 'van der Berg' }, 'informal')).toBe(
      'Beste mevrouw Van der Berg,',
    );
  });

  it('capitalises only Dutch surname prefixes, and leaves other names as written', () => {
    expect(salutation('nl', { formOfAddress: 'mr', lastName: 'von Trapp' })).toBe('Geachte heer von Trapp,');
    expect(salutation('nl', { formOfAddress: 'mr', lastName: "'t Hart" })).toBe("Geachte heer 't Hart,");
    expect(salutation('en', { formOfAddress: 'ms', lastName: 'Jansen' })).toBe('Dear Ms Jansen,');
  });

  it('writes the addressee line with dhr./mevr. or nothing', () => {
    expect(addressee('nl', { formOfAddress: 'mr', ...sam })).toBe('dhr. Sam de Vries');
    expect(addressee('nl', { formOfAddress: 'ms', ...sam })).toBe('mevr. Sam de Vries');
    expect(addressee('en', { formOfAddress: 'neutral', ...sam })).toBe('Sam de Vries');
  });
});

describe('billing addresses', () => {
  it.each([
    ['1234ab', '1234 AB'],
    [' 1234  ab ', '1234 AB'],
    ['9999 ZZ', '9999 ZZ'],
  ])('normalises the Dutch postcode %s to %s', (input, expected) => {
    expect(normaliseDutchPostcode(input)).toBe(expected);
  });

  it.each(['0123 AB', '1234 SA', '1234 SD', '1234 SS', '123 AB', '12345', '1234 A1', ''])(
    'refuses the Dutch postcode "%s"',
    (input) => {
      expect(normaliseDutchPostcode(input)).toBeUndefined();
      const result = validateBillingAddress({
        country: 'NL',
        city: 'Utrecht',
        postcode: input,
        street: 'Oudegracht',
        houseNumber: '1',
      });
      expect(result).toEqual({ ok: false, errors: { postcode: 'relations.address.postcodeNl' } });
    },
  );

  it('splits "12a" into number and addition for Dutch addresses, and refuses a non-numeric number', () => {
    expect(
      validateBillingAddress({
        country: 'nl',
        city: 'Utrecht',
        postcode: '3511ab',
        street: 'Oudegracht',
        houseNumber: '12a',
      }),
    ).toEqual({
      ok: true,
      value: {
        country: 'NL',
        city: 'Utrecht',
        postcode: '3511 AB',
        street: 'Oudegracht',
        houseNumber: '12',
        houseNumberAddition: 'A',
      },
    });
    const bad = validateBillingAddress({
      country: 'NL',
      city: 'X',
      postcode: '3511 AB',
      street: 'Y',
      houseNumber: 'twaalf',
    });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? null : bad.errors.houseNumber).toBe('relations.address.houseNumberNl');
  });

  it('applies other countries’ own postcode rules and refuses unknown countries', () => {
    const ok = (country: string, postcode: string) =>
      validateBillingAddress({ country, city: 'C', postcode, street: 'S', houseNumber: '5b' }).ok;
    expect(ok('DE', '10115')).toBe(true);
    expect(ok('DE', '1011')).toBe(false);
    expect(ok('BE', '1000')).toBe(true);
    expect(ok('BE', '10000')).toBe(false);
    expect(ok('FR', '75001')).toBe(true);
    expect(ok('XX', '12345')).toBe(false);
    expect(
      validateBillingAddress({ country: 'XX', city: 'C', postcode: '1', street: 'S', houseNumber: '1' }),
    ).toEqual({
      ok: false,
      errors: { country: 'relations.address.countryInvalid' },
    });
  });
});

describe('IBAN, BIC and creditor identifier', () => {
  it('accepts valid IBANs in any spacing and case', () => {
    expect(checkIban('nl91 abna 0417 1643 00')).toEqual({ ok: true, value: 'NL91ABNA0417164300' });
    expect(checkIban('DE89 3704 0044 0532 0130 00')).toEqual({ ok: true, value: 'DE89370400440532013000' });
  });

  it.each([
    ['NL91ABNA0417164301', 'relations.mandate.ibanChecksum'],
    ['NL92ABNA0417164300', 'relations.mandate.ibanChecksum'],
    ['NL91ABNA041716430', 'relations.mandate.ibanFormat'],
    ['XX91ABNA0417164300', 'relations.mandate.ibanCountry'],
    ['BR1500000000000010932840814P2', 'relations.mandate.ibanNotSepa'],
    ['not an iban', 'relations.mandate.ibanFormat'],
    ['', 'relations.mandate.ibanRequired'],
  ])('refuses the IBAN %s with %s', (iban, error) => {
    expect(checkIban(iban)).toEqual({ ok: false, error });
  });

  it('checks BIC format and, for Dutch IBANs, the bank; fills in a known Dutch bank’s BIC', () => {
    expect(checkBic('abnanl2a', 'NL91ABNA0417164300')).toEqual({ ok: true, value: 'ABNANL2A' });
    expect(checkBic('', 'NL91ABNA0417164300')).toEqual({ ok: true, value: 'ABNANL2A' });
    expect(checkBic('RABONL2U', 'NL91ABNA0417164300')).toEqual({
      ok: false,
      error: 'relations.mandate.bicMismatch',
    });
    expect(checkBic('ABNADE2A', 'NL91ABNA0417164300')).toEqual({
      ok: false,
      error: 'relations.mandate.bicMismatch',
    });
    expect(checkBic('ABN', undefined)).toEqual({ ok: false, error: 'relations.mandate.bicFormat' });
    expect(checkBic('ABNANL2', undefined)).toEqual({ ok: false, error: 'relations.mandate.bicFormat' });
    expect(checkBic('COBADEFFXXX', 'DE89370400440532013000')).toEqual({ ok: true, value: 'COBADEFFXXX' });
  });

  it('masks an IBAN to its country and last four digits', () => {
    expect(maskIban('NL91ABNA0417164300')).toBe('NL** **** **** **** 4300');
    expect(maskIban('DE89370400440532013000')).not.toContain('3704');
    expect(maskIban('DE89370400440532013000').endsWith(' 3000')).toBe(true);
  });

  it('checks creditor identifiers with ISO 7064 MOD 97-10', () => {
    expect(checkCreditorId('DE98ZZZ09999999999')).toEqual({ ok: true, value: 'DE98ZZZ09999999999' });
    const nl = `NL${creditorIdCheckDigits('NL', '123456780000')}ZZZ123456780000`;
    expect(checkCreditorId(nl).ok).toBe(true);
    expect(checkCreditorId(nl.replace(/^NL\d\d/, 'NL00'))).toEqual({
      ok: false,
      error: 'relations.creditor.idChecksum',
    });
    expect(checkCreditorId('NL98ZZZ1234')).toEqual({ ok: false, error: 'relations.creditor.idFormat' });
  });

  it('accepts mandate references of the SEPA set only', () => {
    expect(checkMandateReference(' AMB-2030-0001 ')).toEqual({ ok: true, value: 'AMB-2030-0001' });
    for (const bad of ['', 'met spatie', '/begin', 'eind/', 'a//b', 'x'.repeat(36), 'é']) {
      expect(checkMandateReference(bad).ok, bad).toBe(false);
    }
  });
});

describe('collections', () => {
  it.each([
    ['12,50', 1250],
    ['12.5', 1250],
    ['€ 1.234,56', 123456],
    ['1.234.567', 123456700],
    ['1,234.56', 123456],
    ['1,234,567.5', 123456750],
    ['7', 700],
  ])('reads %s as %i cents', (input, cents) => {
    expect(parseEuroAmount(input)).toBe(cents);
  });

  // Issue 16: "12.345" was read as €12,345.00. A single separator before exactly three digits
  // is a Dutch thousands dot or an English decimal point with one digit too many: refused.
  it.each(['12.345', '12,345', '1.234', '1,234', '1.234.5', '1,23.4', '12.', '1..2'])(
    'refuses the ambiguous or malformed amount "%s"',
    (input) => {
      expect(parseEuroAmount(input)).toBeUndefined();
    },
  );

  it('shows an example creditor id in the hint that passes its own check (nl and en)', () => {
    for (const locale of ['nl', 'en'] as const) {
      for (const key of ['relations.dd.creditorIdHint', 'relations.creditor.idFormat'] as const) {
        const example =
          /[A-Z]{2}[0-9]{2}ZZZ[0-9]+/.exec({ nl: relationsNl, en: relationsEn }[locale][key])?.[0] ?? '';
        expect(checkCreditorId(example), `${locale} ${key}: ${example}`).toEqual({
          ok: true,
          value: example,
        });
      }
    }
  });

  it.each(['', '0', '-5', 'abc', '1e3'])('refuses the amount "%s"', (input) => {
    expect(parseEuroAmount(input)).toBeUndefined();
  });

  it('gives FRST, then RCUR, for a recurrent mandate and OOFF once for a one-off', () => {
    expect(nextSequenceType({ sequence: 'recurrent', status: 'active', firstCollectionAt: null })).toBe(
      'FRST',
    );
    expect(
      nextSequenceType({ sequence: 'recurrent', status: 'active', firstCollectionAt: '2030-01-01' }),
    ).toBe('RCUR');
    expect(nextSequenceType({ sequence: 'one_off', status: 'active', firstCollectionAt: null })).toBe('OOFF');
    expect(
      nextSequenceType({ sequence: 'one_off', status: 'completed', firstCollectionAt: '2030-01-01' }),
    ).toBeUndefined();
    expect(
      nextSequenceType({ sequence: 'recurrent', status: 'revoked', firstCollectionAt: null }),
    ).toBeUndefined();
  });

  it('keeps texts in the SEPA character set', () => {
    expect(sepaText('Zoë & Søren <b>', 70)).toBe('Zoe + S ren b');
  });
});

describe('signed documents', () => {
  const file = (content: Buffer, truncated = false) => ({ fileName: 'x.pdf', content, truncated });
  it('accepts a PDF by its magic bytes and refuses anything else, empty or too large', () => {
    expect(pdfProblem(file(Buffer.from('%PDF-1.7\n...')))).toBeUndefined();
    expect(pdfProblem(file(Buffer.from('PK\u0003\u0004zip')))).toBe('relations.agreement.notPdf');
    expect(pdfProblem(file(Buffer.from('<html>%PDF-')))).toBe('relations.agreement.notPdf');
    expect(pdfProblem(file(Buffer.alloc(0)))).toBe('relations.agreement.emptyFile');
    expect(pdfProblem(file(Buffer.from('%PDF-1.7'), true))).toBe('relations.agreement.tooLarge');
    expect(pdfProblem(file(Buffer.from('%PDF-1.7 and more')), 8)).toBe('relations.agreement.tooLarge');
  });

  it('strips paths and control characters from file names', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd.pdf');
    expect(safeFileName('C:\\Users\\jan\\Contract "2030".pdf')).toBe('Contract _2030_.pdf');
    expect(safeFileName('')).toBe('overeenkomst.pdf');
  });
});
