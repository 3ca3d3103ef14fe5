/**
 * Validates a SEPA pain.008.001.02 file against the official XSD (test/fixtures/sepa), offline,
 * with libxml2's xmllint compiled to WebAssembly (the `xmllint-wasm` package: no system
 * package, no download at install time).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateXML } from 'xmllint-wasm';

const xsd = readFileSync(
  resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures/sepa/pain.008.001.02.xsd'),
  'utf8',
);

/** Whether `xml` is a valid pain.008.001.02 document; the errors name the offending element. */
export async function validatePain008(xml: string): Promise<{ valid: boolean; errors: string[] }> {
  const result = await validateXML({
    xml: [{ fileName: 'collection.xml', contents: xml }],
    schema: [{ fileName: 'pain.008.001.02.xsd', contents: xsd }],
  });
  return { valid: result.valid, errors: result.errors.map((e) => e.message) };
}
