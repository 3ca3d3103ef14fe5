/**
 * `kluis audit verify | checkpoint | pubkey`. Results go to stdout, progress and warnings to
 * stderr; `verify` exits with 1 when the trail is broken, so it can run from cron or CI.
 */
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Kluis } from '../../kluis.js';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import { auditSigningKeyOf, createCheckpoint, trustedAuditKeysOf } from './audit-checkpoint.js';
import { publicKeyPem } from './audit-signing.js';
import { type AuditVerifyReport, verifyAuditChain } from './audit-verify.js';
import { witnessOf } from './audit-witness.js';
import { reportBrokenChain } from './security-service.js';

/** Chains at least this long show progress on stderr (tests lower it). */
export const PROGRESS_THRESHOLD = 10_000;

interface VerifyOptions {
  batchSize: string;
  witness: string | boolean;
  trustedKey: string[];
  quick?: boolean;
  sign: boolean;
}

export function registerSecurityCommands(
  program: Command,
  io: CliIo,
  progressThreshold = PROGRESS_THRESHOLD,
): void {
  const say = sayTo(io.out);
  // These commands never change the schema: they open Kluis without migrating.
  const open = <T>(work: (kluis: Kluis) => Promise<T>) => withKluis(io, work, { migrate: false });

  const audit = program
    .command('audit')
    .description('the audit trail: verify it, sign checkpoints, print the public key');

  audit
    .command('verify')
    .description('walk the whole audit chain and its checkpoints; report the first broken link (exit code 1)')
    .option('--batch-size <n>', 'entries read per query', '1000')
    .option(
      '--witness <file>',
      'witness file to compare with (default: <KLUIS_DATA_DIR>/audit-witness.jsonl)',
    )
    .option('--no-witness', 'do not compare with a witness file')
    .option(
      '--trusted-key <base64>',
      'also accept checkpoints signed with this public key, e.g. from before a master key was retired (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--quick', 'only check what was appended since the latest checkpoint')
    .option(
      '--no-sign',
      'do not sign the verified head as a checkpoint (by default an intact chain is signed and witnessed)',
    )
    .action(async (opts: VerifyOptions) => {
      await open(async (kluis) => {
        const batchSize = Number.parseInt(opts.batchSize, 10);
        const witnessFile =
          opts.witness === false
            ? undefined
            : typeof opts.witness === 'string'
              ? opts.witness
              : witnessOf(kluis).source;
        const progress = createProgress(io.err, progressThreshold);
        const report = await verifyAuditChain(kluis.db, {
          trustedKeys: trustedAuditKeysOf(kluis.config, opts.trustedKey),
          witnessFile,
          batchSize: Number.isFinite(batchSize) && batchSize > 0 ? batchSize : 1000,
          from: opts.quick ? 'latest-checkpoint' : 'genesis',
          onProgress: progress.update,
        });
        progress.end();
        if (report.broken !== undefined) {
          await reportBrokenChain(kluis.services.audit, kluis.db, report.broken, 'cli');
        }
        for (const line of describeReport(report)) say(line);
        for (const warning of report.warnings) io.err.write(`! ${warning}\n`);
        if (!report.ok) io.setExitCode(1);
        // Entries appended since the last scheduled checkpoint are only as safe as the next
        // signature: an intact chain is signed and witnessed now, so rewriting what this run
        // verified is caught by every later run (issue 16).
        else if (opts.sign && (report.head?.seq ?? 0) > 0) {
          const cp = await createCheckpoint(kluis);
          say(
            cp.created
              ? `Witnessed: signed checkpoint at seq ${cp.seq} in ${cp.witnessFile}.`
              : `Witnessed: the latest checkpoint already covers seq ${cp.seq}.`,
          );
        }
      });
    });

  audit
    .command('checkpoint')
    .description('sign the current head of the chain and append it to the witness file')
    .action(async () => {
      await open(async (kluis) => {
        const cp = await createCheckpoint(kluis);
        if (cp.seq === 0) {
          say('The audit trail is empty: nothing to sign yet.');
          return;
        }
        say(
          cp.created
            ? `Signed checkpoint at seq ${cp.seq} (${cp.hash}), key ${cp.keyId}.`
            : `The latest checkpoint already covers the head (seq ${cp.seq}).`,
        );
        say(`Witness: ${cp.witnessFile} — copy it off this host (see docs/security.md).`);
      });
    });

  audit
    .command('pubkey')
    .description('print the public key that verifies checkpoints (derived from the master key)')
    .option('--pem', 'print as PEM (SPKI) instead of raw base64')
    .action((opts: { pem?: boolean }) => {
      const key = auditSigningKeyOf(io.loadConfig());
      if (opts.pem) io.out.write(publicKeyPem(key));
      else say(key.publicKeyBase64);
      io.err.write(`key id ${key.keyId} (Ed25519)\n`);
    });
}

/** The verify result as printed: `OK …` or `BROKEN …`, then checkpoint and witness lines. */
export function describeReport(report: AuditVerifyReport): string[] {
  const head = report.head;
  const lines: string[] = [];
  if (report.broken === undefined) {
    const scope = report.fromSeq > 0 ? ` since checkpoint ${report.fromSeq}` : '';
    lines.push(
      `OK: ${report.checked} entries verified${scope}; head seq ${head?.seq ?? 0} (${head?.hash ?? '-'})`,
    );
  } else {
    lines.push(`BROKEN at seq ${report.broken.seq}: ${report.broken.reason}`);
    lines.push(`  ${report.broken.detail}`);
    lines.push(`  (${report.checked} entries verified before the break)`);
  }
  const latest = report.checkpoints.latest;
  lines.push(
    latest === undefined
      ? 'Checkpoints: none'
      : `Checkpoints: ${report.checkpoints.checked} checked; latest seq ${latest.seq} signed at ${latest.at}`,
  );
  if (report.witness.file !== '') {
    lines.push(
      report.witness.present
        ? `Witness: ${report.witness.file}: ${report.witness.lines} lines, latest seq ${report.witness.latestSeq ?? '-'}`
        : `Witness: ${report.witness.file} not found`,
    );
  }
  return lines;
}

function createProgress(err: Writable & { isTTY?: boolean }, threshold: number) {
  const tty = err.isTTY === true;
  let shown = false;
  let lastStep = -1;
  return {
    update(checked: number, total: number): void {
      if (total < threshold) return;
      const percent = Math.min(100, Math.floor((checked / total) * 100));
      if (tty) {
        err.write(`\r  verifying: ${checked}/${total} (${percent}%)`);
        shown = true;
      } else if (Math.floor(percent / 10) > lastStep) {
        lastStep = Math.floor(percent / 10);
        err.write(`  verifying: ${checked}/${total} (${percent}%)\n`);
      }
    },
    end(): void {
      if (shown) err.write('\r\u001b[2K');
    },
  };
}
