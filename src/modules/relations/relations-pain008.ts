/**
 * SEPA direct-debit initiation file, pain.008.001.02 (P4, bookkeeping): built with xmlbuilder2
 * (escaping and well-formedness are the library's), one payment information block per scheme
 * and sequence type, amounts in euro with two decimals, names and texts in the SEPA character
 * set. Pure: the caller supplies ids, time and the already validated data. The output validates
 * against the official XSD (`test/fixtures/sepa/pain.008.001.02.xsd`, see the test).
 */
import { create } from 'xmlbuilder2';
import type { MandateScheme, SequenceType } from './relations-schema.js';
import { centsToDecimal, sepaText } from './relations-sepa.js';

const PAIN_008_NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:pain.008.001.02';

export interface Pain008Creditor {
  readonly name: string;
  readonly creditorId: string;
  readonly iban: string;
  readonly bic: string | null;
}

export interface Pain008Transaction {
  readonly endToEndId: string;
  readonly amountCents: number;
  readonly mandateReference: string;
  /** ISO date of the mandate's signature. */
  readonly mandateSignedAt: string;
  readonly sequenceType: SequenceType;
  readonly scheme: MandateScheme;
  readonly debtorName: string;
  readonly debtorIban: string;
  readonly debtorBic: string | null;
  readonly remittance: string;
}

export interface Pain008Input {
  /** Unique per creditor, at most 35 characters. */
  readonly messageId: string;
  readonly createdAt: Date;
  /** ISO date. */
  readonly requestedCollectionDate: string;
  readonly creditor: Pain008Creditor;
  readonly transactions: readonly Pain008Transaction[];
}

type XmlObject = { [key: string]: string | XmlObject | XmlObject[] };

function sum(txs: readonly Pain008Transaction[]): string {
  return centsToDecimal(txs.reduce((total, tx) => total + tx.amountCents, 0));
}

/** A financial institution by BIC, or "NOTPROVIDED" (IBAN-only, allowed since 2016). */
function agent(bic: string | null): XmlObject {
  return { FinInstnId: bic === null ? { Othr: { Id: 'NOTPROVIDED' } } : { BIC: bic } };
}

/** ISO date-time without milliseconds, as the EPC guidelines show it. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildPain008(input: Pain008Input): string {
  if (input.transactions.length === 0) throw new RangeError('a pain.008 file needs at least one transaction');
  const groups = new Map<string, Pain008Transaction[]>();
  for (const tx of input.transactions) {
    const key = `${tx.scheme}/${tx.sequenceType}`;
    groups.set(key, [...(groups.get(key) ?? []), tx]);
  }
  const creditorName = sepaText(input.creditor.name, 70);
  const paymentInfos: XmlObject[] = [...groups.values()].map((txs, index) => {
    const first = txs[0];
    if (first === undefined) throw new RangeError('empty payment group');
    return {
      PmtInfId: sepaText(`${input.messageId}-${index + 1}`, 35),
      PmtMtd: 'DD',
      BtchBookg: 'true',
      NbOfTxs: String(txs.length),
      CtrlSum: sum(txs),
      PmtTpInf: {
        SvcLvl: { Cd: 'SEPA' },
        LclInstrm: { Cd: first.scheme },
        SeqTp: first.sequenceType,
      },
      ReqdColltnDt: input.requestedCollectionDate,
      Cdtr: { Nm: creditorName },
      CdtrAcct: { Id: { IBAN: input.creditor.iban } },
      CdtrAgt: agent(input.creditor.bic),
      ChrgBr: 'SLEV',
      CdtrSchmeId: {
        Id: { PrvtId: { Othr: { Id: input.creditor.creditorId, SchmeNm: { Prtry: 'SEPA' } } } },
      },
      DrctDbtTxInf: txs.map(
        (tx): XmlObject => ({
          PmtId: { EndToEndId: sepaText(tx.endToEndId, 35) },
          InstdAmt: { '@Ccy': 'EUR', '#': centsToDecimal(tx.amountCents) },
          DrctDbtTx: { MndtRltdInf: { MndtId: tx.mandateReference, DtOfSgntr: tx.mandateSignedAt } },
          DbtrAgt: agent(tx.debtorBic),
          Dbtr: { Nm: sepaText(tx.debtorName, 70) || 'NOTPROVIDED' },
          DbtrAcct: { Id: { IBAN: tx.debtorIban } },
          ...(sepaText(tx.remittance, 140) === '' ? {} : { RmtInf: { Ustrd: sepaText(tx.remittance, 140) } }),
        }),
      ),
    };
  });
  const doc = create(
    { version: '1.0', encoding: 'UTF-8' },
    {
      Document: {
        '@xmlns': PAIN_008_NAMESPACE,
        CstmrDrctDbtInitn: {
          GrpHdr: {
            MsgId: sepaText(input.messageId, 35),
            CreDtTm: isoSeconds(input.createdAt),
            NbOfTxs: String(input.transactions.length),
            CtrlSum: sum(input.transactions),
            InitgPty: { Nm: creditorName },
          },
          PmtInf: paymentInfos,
        },
      },
    },
  );
  return doc.end({ prettyPrint: true });
}
