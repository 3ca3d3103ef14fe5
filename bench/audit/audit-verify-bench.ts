/**
 * `kluis audit verify` (issue 15): entries per second of the real verification path
 * (verifyAuditChain with this installation's trusted keys and witness, as the CLI calls it)
 * against bare loops over the same rows in the same process:
 *   read + hash   the rows read in seq order in batches of the same size (one SELECT per batch,
 *                 the same driver), SHA-256(prev_hash || canonical entry) per row, nothing else:
 *                 the least any verification must do;
 *   hash only     the same hashing over rows already in memory (no database at all).
 * Target: verify reaches >= 60 % of the bare loop's entries/s (printed against both loops). The
 * three runs alternate, `--runs` times (default 3), and the median of each is reported.
 *
 * The chain is seeded directly (`--entries`, default 100,000; the size is 1,000,000):
 * entries computed like appendAudit computes them (the same canonical form and hash), inserted in
 * multi-row INSERTs, the head moved, then one signed checkpoint with its witness line (through
 * createCheckpoint), so the walk checks a checkpoint and the witness as a real one does.
 *
 *   npx tsx bench/audit/audit-verify-bench.ts [--dialect sqlite|postgres] [--entries 1000000]
 *     [--runs 3] [--batch-size 1000] [--profile audit-verify.cpuprofile]
 */
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: process.env.KLUIS_TEST_DIALECT ?? 'sqlite' },
    entries: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '1000' },
    profile: { type: 'string' },
    top: { type: 'string', default: '30' },
    // Accepted (and ignored) so the runner can pass its load flags to every suite alike.
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
  },
});
if (values.dialect !== 'sqlite' && values.dialect !== 'postgres')
  throw new Error('--dialect sqlite|postgres');
process.env.KLUIS_TEST_DIALECT = values.dialect;
const entries = Number(values.entries);
const runs = Number(values.runs);
const batchSize = Number(values['batch-size']);

const { sql } = await import('kysely');
const { createTestKluis } = await import('../../test/dialects.js');
const { createOrg } = await import('../../test/factories.js');
const { canonicalEntry, chainHash } = await import('../../src/modules/security/audit-chain.js');
const { verifyAuditChain } = await import('../../src/modules/security/audit-verify.js');
const { auditVerifyOptionsOf, createCheckpoint } = await import(
  '../../src/modules/security/audit-checkpoint.js'
);
const { canonicalJson } = await import('../../src/shared/canonical-json.js');
const { median } = await import('../lib/measure.js');
const { emitRows, percent, perSecond } = await import('../lib/report.js');
const { profiled } = await import('../lib/profile-run.js');
type AuditLogTable = import('../../src/modules/security/audit-schema.js').AuditLogTable;

const kluis = await createTestKluis();
const orgs = [await createOrg(kluis, 'tenant'), await createOrg(kluis, 'tenant')];
const actions = [
  ['intake.contact.received', 'conversation', ['body', 'requester_email', 'requester_name']],
  ['relations.iban.read', 'relation_mandate', ['iban']],
  ['auth.login', 'user', []],
  ['rights.request.received', 'rights_request', ['requester_email']],
] as const;

/** Seeds `n` entries after the current head, exactly as appendAudit chains them. */
async function seed(n: number): Promise<void> {
  const head = await kluis.db
    .selectFrom('audit_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  let seq = Number(head.seq);
  let prev = head.hash;
  const start = Date.parse('2030-01-01T00:00:00.000Z');
  const perStatement = 1000;
  const perTransaction = 20_000;
  for (let done = 0; done < n; ) {
    const inTransaction = Math.min(perTransaction, n - done);
    await kluis.db.transaction().execute(async (trx) => {
      for (let k = 0; k < inTransaction; k += perStatement) {
        const rows: AuditLogTable[] = [];
        for (let j = 0; j < Math.min(perStatement, inTransaction - k); j++) {
          seq++;
          const [action, targetType, fields] = actions[seq % actions.length] ?? actions[0];
          const entry = {
            seq,
            at: new Date(start + seq * 1000).toISOString(),
            org_id: orgs[seq % orgs.length]?.id ?? null,
            actor: seq % 3 === 0 ? 'anonymous' : `user:${randomUUID()}`,
            action,
            target_type: targetType,
            target_id: randomUUID(),
            purpose: seq % 2 === 0 ? 'handle_requests' : null,
            fields: JSON.stringify([...fields].sort()),
            meta: canonicalJson({ channel: 'web', n: seq % 17 }),
          };
          const hash = chainHash(prev, entry);
          rows.push({ ...entry, prev_hash: prev, hash });
          prev = hash;
        }
        await trx.insertInto('audit_log').values(rows).execute();
      }
    });
    done += inTransaction;
    process.stderr.write(`  seeded ${done.toLocaleString('en')} / ${n.toLocaleString('en')}\r`);
  }
  await kluis.db.updateTable('audit_head').set({ seq, hash: prev }).where('id', '=', 1).execute();
  process.stderr.write('\n');
}

/** The bare loop: read in seq batches, hash each row; returns the rows hashed. */
async function readAndHash(): Promise<number> {
  let after = 0;
  let count = 0;
  let last = '';
  for (;;) {
    const rows =
      await sql<AuditLogTable>`select * from audit_log where seq > ${after} order by seq limit ${batchSize}`.execute(
        kluis.db,
      );
    if (rows.rows.length === 0) break;
    for (const row of rows.rows) {
      last = createHash('sha256')
        .update(row.prev_hash)
        .update(canonicalEntry({ ...row, seq: Number(row.seq) }))
        .digest('hex');
      count++;
    }
    after = Number(rows.rows[rows.rows.length - 1]?.seq ?? after);
  }
  if (last === '') throw new Error('nothing hashed');
  return count;
}

function hashOnly(rows: readonly AuditLogTable[]): number {
  let last = '';
  for (const row of rows) {
    last = createHash('sha256')
      .update(row.prev_hash)
      .update(canonicalEntry({ ...row, seq: Number(row.seq) }))
      .digest('hex');
  }
  if (last === '' && rows.length > 0) throw new Error('nothing hashed');
  return rows.length;
}

async function verify(): Promise<number> {
  const report = await verifyAuditChain(kluis.db, { ...auditVerifyOptionsOf(kluis), batchSize });
  if (!report.ok) throw new Error(`the seeded chain does not verify: ${JSON.stringify(report.broken)}`);
  if (report.checkpoints.checked < 1 || !report.witness.present)
    throw new Error('no checkpoint or witness checked');
  return report.checked;
}

interface Timing {
  perSecond: number;
  cpuMicrosPerEntry: number;
}

async function timed(work: () => Promise<number> | number): Promise<Timing> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const n = await work();
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  return { perSecond: n / seconds, cpuMicrosPerEntry: (used.user + used.system) / n };
}

try {
  const t0 = performance.now();
  await seed(entries);
  if (kluis.dialect === 'postgres') await sql`analyze audit_log`.execute(kluis.db);
  const checkpoint = await createCheckpoint(kluis);
  if (!checkpoint.created) throw new Error('no checkpoint was signed');
  const seeding = (performance.now() - t0) / 1000;
  const inMemory = await kluis.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
  process.stdout.write(
    `audit verify on ${kluis.dialect}: ${inMemory.length.toLocaleString('en')} entries (seeded and checkpointed in ${seeding.toFixed(1)} s), batch ${batchSize}, ${runs} runs\n`,
  );

  const results = { verify: [] as Timing[], readHash: [] as Timing[], hashOnly: [] as Timing[] };
  for (let r = 0; r < runs; r++) {
    // Rotate the order, so no loop always runs first (cold cache) or after the same neighbour.
    const order = [
      ['verify', verify],
      ['readHash', readAndHash],
      ['hashOnly', () => hashOnly(inMemory)],
    ] as const;
    for (let i = 0; i < order.length; i++) {
      const [name, work] = order[(i + r) % order.length] ?? order[0];
      results[name].push(await timed(work));
    }
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  const med = (list: readonly Timing[]) => ({
    perSecond: median(list.map((t) => t.perSecond)),
    cpu: median(list.map((t) => t.cpuMicrosPerEntry)),
  });
  const v = med(results.verify);
  const rh = med(results.readHash);
  const ho = med(results.hashOnly);
  const line = (label: string, t: { perSecond: number; cpu: number }, list: readonly Timing[]) =>
    `${label.padEnd(12)} ${perSecond(t.perSecond).padStart(9)} entries  ${t.cpu.toFixed(2).padStart(6)} µs CPU/entry   runs: ${list.map((x) => perSecond(x.perSecond)).join(', ')}\n`;
  process.stdout.write(
    line('verify', v, results.verify) +
      line('read + hash', rh, results.readHash) +
      line('hash only', ho, results.hashOnly),
  );

  if (values.profile !== undefined) {
    const { text } = await profiled(values.profile, Number(values.top), verify);
    process.stdout.write(`\n${text}`);
  }

  const suite = `audit-verify-${kluis.dialect}`;
  const size = `${(inMemory.length / 1000).toFixed(0)}k entries`;
  emitRows([
    {
      suite,
      measure: `verify vs read+hash loop (${size})`,
      value: perSecond(v.perSecond),
      baseline: perSecond(rh.perSecond),
      ratio: `${percent(v.perSecond / rh.perSecond)} (CPU ${v.cpu.toFixed(1)} vs ${rh.cpu.toFixed(1)} µs/entry)`,
      target: '>= 60%',
      met: v.perSecond / rh.perSecond >= 0.6,
    },
    {
      suite,
      measure: `verify vs hash-only loop, rows in memory (${size})`,
      value: perSecond(v.perSecond),
      baseline: perSecond(ho.perSecond),
      ratio: `${percent(v.perSecond / ho.perSecond)} (CPU ${v.cpu.toFixed(1)} vs ${ho.cpu.toFixed(1)} µs/entry)`,
      target: '>= 60%',
      met: v.perSecond / ho.perSecond >= 0.6,
    },
  ]);
} finally {
  await kluis.destroy();
}
