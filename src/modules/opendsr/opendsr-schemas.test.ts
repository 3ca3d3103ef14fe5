/**
 * The JSON Schemas of OpenDSR 2.0 written from the specification
 * (../shared/reference/opendsr-specification.md), kept in `schemas/`: every example the
 * specification gives validates, and what the specification forbids does not. Issue 13 part 3
 * (the endpoint) will validate its requests and responses against these same files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';
import { describe, expect, it } from 'vitest';

// ajv-formats is CommonJS: its plugin is the module's `default` export.
const addFormats = (formatsModule as unknown as { default: FormatsPlugin }).default;
const dir = join(import.meta.dirname, 'schemas');
const base = 'https://kluis.invalid/opendsr/v1/';

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  }
  return (name: string, value: unknown): boolean => {
    const validate = ajv.getSchema(`${base}${name}`);
    if (validate === undefined) throw new Error(`no schema ${name}`);
    return validate(value) === true;
  };
}

const id = 'a7551968-d5d6-44b2-9831-815ac9017798';

describe('OpenDSR 2.0 JSON Schemas', () => {
  const valid = validator();

  it('accepts the specification’s example request (7.2), whose only flaw is a trailing comma', () => {
    const text = readFileSync(
      join(
        import.meta.dirname,
        '..',
        '..',
        '..',
        'test',
        'fixtures',
        'opendsr',
        'spec-7.2-example-request.txt',
      ),
      'utf8',
    );
    // The example as printed is not strict JSON ("property_id": "123456",}): an endpoint must
    // tolerate that comma to accept it; without it, the example validates as it stands, even
    // though it leaves out `regulation`, which 7.1.1 calls required.
    expect(() => JSON.parse(text)).toThrow();
    const example: unknown = JSON.parse(text.replace(/,(\s*[}\]])/g, '$1'));
    expect(valid('request.json', example)).toBe(true);
  });

  it('accepts the specification’s example responses, status, callback, cancellation, error and discovery', () => {
    expect(
      valid('request-response.json', {
        controller_id: 'example_controller_id',
        expected_completion_time: '2018-11-01T15:00:01Z',
        received_time: '2018-10-02T15:00:01Z',
        encoded_request: Buffer.from('{}').toString('base64'),
        subject_request_id: id,
      }),
    ).toBe(true);
    const status = {
      controller_id: 'example_controller_id',
      expected_completion_time: '2018-11-01T15:00:01Z',
      subject_request_id: id,
      request_status: 'pending',
      api_version: '2.0',
      results_url: 'https://exampleprocessor.com/secure/d188d4ba-12db-48a0-898c-cd0f8ba7b345',
      results_count: 103,
    };
    expect(valid('status-response.json', status)).toBe(true);
    expect(
      valid('callback.json', {
        controller_id: 'example_controller_id',
        expected_completion_time: '2018-11-01T15:00:01Z',
        status_callback_url: 'https://examplecontroller.com/opendsr/callbacks',
        subject_request_id: id,
        request_status: 'pending',
        results_url: 'https://exampleprocessor.com/secure/d188d4ba-12db-48a0-898c-cd0f8ba7b345',
        results_count: 340,
      }),
    ).toBe(true);
    expect(
      valid('cancel-response.json', {
        controller_id: 'example_controller_id',
        subject_request_id: id,
        received_time: '2018-10-02T15:00:01Z',
        api_version: '2.0',
      }),
    ).toBe(true);
    expect(
      valid('error.json', {
        error: {
          code: 400,
          message: 'subject_request_id field is required',
          errors: [
            {
              domain: 'Validation',
              reason: 'IllegalArgumentException',
              message: 'subject_request_id field is required.',
            },
          ],
        },
      }),
    ).toBe(true);
    expect(
      valid('discovery.json', {
        api_version: '2.0',
        supported_identities: [
          { identity_type: 'email', identity_format: 'raw' },
          { identity_type: 'email', identity_format: 'sha256' },
        ],
        supported_subject_request_types: ['erasure'],
        processor_certificate: 'https://exampleprocessor.com/cert.pem',
      }),
    ).toBe(true);
    // The status vocabulary is closed.
    expect(valid('status-response.json', { ...status, request_status: 'done' })).toBe(false);
  });

  it('refuses requests the specification does not allow', () => {
    const request = {
      subject_request_id: id,
      subject_request_type: 'erasure',
      submitted_time: '2018-10-02T15:00:00Z',
      subject_identities: [
        { identity_type: 'email', identity_value: 'a@example.com', identity_format: 'raw' },
      ],
    };
    expect(valid('request.json', request)).toBe(true);
    expect(valid('request.json', { ...request, subject_request_id: 'not-a-uuid' })).toBe(false);
    expect(valid('request.json', { ...request, subject_request_type: 'rectification' })).toBe(false);
    expect(valid('request.json', { ...request, submitted_time: 'yesterday' })).toBe(false);
    expect(valid('request.json', { ...request, regulation: 'lgpd' })).toBe(false);
    const { subject_identities: _none, ...withoutIdentities } = request;
    expect(valid('request.json', withoutIdentities)).toBe(false);
    expect(
      valid('request.json', {
        ...request,
        subject_identities: [{ identity_type: 'passport', identity_value: 'x', identity_format: 'raw' }],
      }),
    ).toBe(false);
    expect(
      valid('request.json', {
        ...request,
        subject_identities: [{ identity_type: 'email', identity_value: 'x', identity_format: 'base64' }],
      }),
    ).toBe(false);
  });
});
