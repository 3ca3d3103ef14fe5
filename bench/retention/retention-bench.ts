/**
 * Retention sweep throughput (P6). `--count` expired records of one category are seeded in the
 * real intake tables and swept by the real engine — bounded batch transactions, hold checks,
 * write-ahead erasure ledger with fsync, an audit entry per batch, the step cursor, subject
 * erasure with key destruction, the final checkpoint — and, in the same session on an identical
 * seed (the table vacuumed in between), by a baseline: a plain `DELETE ... WHERE id IN (...)`
 * batch loop doing the same deletions in the same order and nothing else. Prints records/s of
 * both, their ratio, the CPU time of this process (the machine is shared: wall time carries the
 * neighbours' load), and RSS (at the start, at 10% and at the end of the sweep, and the peak
 * sampled every 25 ms); with `node --expose-gc` (`npx tsx --expose-gc …`) also the live heap.
 *
 *   --target quarantine      (default) a quarantined inbound mail: 1 row, 2 index entries
 *   --target conversations   a contact request: the conversation and its message (2 rows, 7 index
 *                            entries, sealed columns), spread over --subjects data subjects
 *   --ids random|v7          random UUIDv4s (rows made before docs/decisions/0009), or UUIDv7s from
 *                            `newId()` as Kluis makes them now (`ordered` is the same as `v7`)
 *   --batch N                default: the engine's DEFAULT_BATCH_SIZE; the baseline uses the same
 *   --progress yes           sweep as `kluis retention run` does (a progress bar, which first
 *                            counts what expired); default: as the nightly job (a heartbeat)
 *   --baseline no            the engine alone (e.g. under `--cpu-prof`)
 *
 *   npm run bench:retention -- [--count 1000000] [--ids random|v7] [--target quarantine|conversations]
 *   KLUIS_TEST_DIALECT=postgres npm run bench:retention -- --count 1000000
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DB } from '../../src/db/schema.js';
import { DEFAULT_BATCH_SIZE } from '../../src/modules/retention/retention-sweep.js';
import { inOrg, walkAfter, walkKey } from '../../src/modules/retention/retention-target.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { newId } from '../../src/shared/ids.js';
import { createTestKluis, type TestKluis, testDialect } from '../../test/dialects.js';
import { createOrg } from '../../test/factories.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    /** Default: the engine's own batch size (DEFAULT_BATCH_SIZE). */
    batch: { type: 'string' },
    /** `no` skips the baseline loop (for profiling the engine alone). */
    baseline: { type: 'string', default: 'yes' },
    /**
     * `yes`: sweep as `kluis retention run` does, with a progress bar (which first counts every
     * expired record: one extra scan). Default: as the nightly job does, with a heartbeat per batch.
     */
    progress: { type: 'string', default: 'no' },
    subjects: { type: 'string', default: '1000' },
    target: { type: 'string', default: 'quarantine' },
    ids: { type: 'string', default: 'random' },
  },
});
const count = Number(values.count);
const batch = values.batch === undefined ? DEFAULT_BATCH_SIZE : Number(values.batch);
const withBaseline = values.baseline !== 'no';
const withProgress = values.progress === 'yes';
const subjectCount = Number(values.subjects);
const target = values.target === 'quarantine' ? 'quarantine' : 'conversations';
const orderedIds = values.ids !== 'random';
const table = target === 'quarantine' ? 'inbound_quarantine' : 'conversations';
const category = target === 'quarantine' ? 'intake.quarantine' : 'intake.conversations';

const EXPIRED_AT = '2020-06-01T12:00:00.000Z';
const SWEEP_AT = '2024-01-10T03:00:00.000Z';
const sqlite = testDialect === 'sqlite';

/** Record ids as Kluis makes them: `newId()` (UUIDv7) now, random UUIDv4s before (existing rows). */
const makeId: () => string = orderedIds ? newId : randomUUID;

/** A JSON array parameter as rows `(i, value)`, `i` counting from 0 (json_each / jsonb_array_elements). */
function jsonRows(values: readonly unknown[]): RawBuilder<unknown> {
  const json = JSON.stringify(values);
  return sqlite
    ? sql`select key as i, value from json_each(${json})`
    : sql`select (ord - 1)::int as i, value from jsonb_array_elements(${json}::jsonb) with ordinality as t(value, ord)`;
}

/** The text of a JSON string value, or of element `n` of a JSON array value. */
function text(column: string, n?: number): RawBuilder<unknown> {
  if (sqlite) return n === undefined ? sql.ref(column) : sql`${sql.ref(column)} ->> ${sql.lit(n)}`;
  return n === undefined ? sql`${sql.ref(column)} #>> '{}'` : sql`${sql.ref(column)} ->> ${sql.lit(n)}`;
}

function blob(n: number): RawBuilder<unknown> {
  return sqlite
    ? sql`randomblob(${sql.lit(n)})`
    : sql`substring(decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') from 1 for ${sql.lit(Math.min(n, 64))})`;
}

let seeded = 0;

/**
 * Seeds `n` expired records of the category, in chunks of 100,000 rows per statement. The ids are
 * made in JavaScript (`makeId`, in creation order, as the application makes them) and handed to
 * the database as one JSON parameter per chunk.
 */
async function seed(db: Kysely<DB>, orgId: string, subjects: readonly string[], n: number): Promise<void> {
  for (let done = 0; done < n; done += 100_000) {
    const size = Math.min(100_000, n - done);
    const offset = seeded + done;
    await db.transaction().execute(async (trx) => {
      if (target === 'quarantine') {
        const ids = Array.from({ length: size }, makeId);
        await sql`insert into inbound_quarantine (id, org_id, reason, mailbox, raw, size_bytes, created_at)
          select ${text('ids.value')}, ${orgId}, 'no_sender', 'contact', ${blob(200)}, 200, ${EXPIRED_AT}
          from (${jsonRows(ids)}) ids`.execute(trx);
        return;
      }
      await sql`create temporary table if not exists bench_subjects (k integer primary key, id text not null)`.execute(
        trx,
      );
      await sql`delete from bench_subjects`.execute(trx);
      for (let i = 0; i < subjects.length; i += 500) {
        const rows = subjects.slice(i, i + 500).map((id, j) => sql`(${i + j}, ${id})`);
        await sql`insert into bench_subjects (k, id) values ${sql.join(rows)}`.execute(trx);
      }
      // A conversation and its message, made one after the other as intake does.
      const pairs = Array.from({ length: size }, () => [makeId(), makeId()]);
      // Each chunk gets its own creation time (ISO text sorts like the time).
      const created = new Date(Date.parse(EXPIRED_AT) - offset).toISOString();
      await sql`insert into conversations (id, org_id, subject_id, channel, status, assigned_user_id, subject_line,
          requester_name, requester_email, requester_phone, locale, possible_rights_request, thread_key,
          created_at, updated_at, closed_at)
        select ${text('p.value', 0)}, ${orgId}, s.id, 'web', 'closed', null, null, ${blob(40)}, ${blob(48)}, null, 'nl', 0, null,
          ${created}, ${created}, ${EXPIRED_AT}
        from (${jsonRows(pairs)}) p join bench_subjects s on s.k = p.i % ${subjects.length}`.execute(trx);
      await sql`insert into conversation_entries (id, org_id, conversation_id, seq, kind, body, author_user_id, message_id,
          in_reply_to, delivery, sent_at, refused_attachments, created_at)
        select ${text('p.value', 1)}, ${orgId}, ${text('p.value', 0)}, 1, 'inbound', ${blob(120)}, null, null, null, null,
          null, null, ${created}
        from (${jsonRows(pairs)}) p`.execute(trx);
    });
  }
  seeded += n;
  if (!sqlite) await sql`analyze`.execute(db);
}

async function makeSubjects(kluis: TestKluis, orgId: string, n: number): Promise<string[]> {
  if (target === 'quarantine') return [];
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const rows = Array.from({ length: Math.min(500, n - i) }, () => ({
      id: makeId(),
      org_id: orgId,
      email_bidx: null,
      phone_bidx: null,
      created_at: '2019-01-01T00:00:00.000Z',
      erased_at: null,
    }));
    await kluis.db.insertInto('data_subjects').values(rows).execute();
    ids.push(...rows.map((r) => r.id));
  }
  // Every subject gets a key, as in real life (its erasure destroys it).
  for (const id of ids)
    await kluis.keyring.encryptForSubject(orgId, id, { table: 'x', column: 'y', rowId: id }, 'k');
  return ids;
}

/**
 * The baseline: the same deletions as a plain batch loop, nothing else — walking the table in
 * the engine's order (rowid on SQLite, id on PostgreSQL), so the ratio is the engine's own
 * overhead (ledger, holds, audit, cursor, re-check, subjects) and not a different access pattern.
 */
async function baseline(db: Kysely<DB>, orgId: string): Promise<number> {
  const ctx = { dialect: testDialect, orgId };
  let deleted = 0;
  let cursor = '';
  for (;;) {
    const n = await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom(table)
        .select([`${table}.id as id`, walkKey(ctx, table).as('cursor')])
        .where(inOrg(ctx, `${table}.org_id`))
        .where(walkAfter(ctx, table, cursor))
        .orderBy(walkKey(ctx, table))
        .limit(batch)
        .execute();
      const ids = rows.map((r) => r.id);
      if (ids.length === 0) return 0;
      if (target === 'conversations') {
        await trx.deleteFrom('conversation_attachments').where('conversation_id', 'in', ids).execute();
        await trx.deleteFrom('conversation_entries').where('conversation_id', 'in', ids).execute();
      }
      await trx.deleteFrom(table).where('id', 'in', ids).execute();
      cursor = String(rows[rows.length - 1]?.cursor ?? cursor);
      return ids.length;
    });
    deleted += n;
    if (n < batch) break;
  }
  return deleted;
}

/** CPU time (user + system) of this process since `start`, in seconds. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/**
 * Wall time and records/s, and this process's CPU time: on a shared machine the wall time carries
 * the neighbours' load, the CPU time much less (on PostgreSQL the server's CPU is not in it).
 */
function timing(seconds: number, cpu: number): string {
  const perSecond = (s: number) => Math.round(count / s).toLocaleString('en');
  return `${seconds.toFixed(2)} s  ${perSecond(seconds)} records/s; cpu ${cpu.toFixed(2)} s (${perSecond(cpu)} records per cpu-second)`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const clock = createFixedClock('2020-01-01T00:00:00.000Z');
  const kluis = await createTestKluis({ clock });
  try {
    const org = await createOrg(kluis, 'tenant');
    const ids = orderedIds ? 'UUIDv7 (newId)' : 'random UUIDv4';
    process.stderr.write(
      `retention bench on ${testDialect}: ${count} ${target}, batch ${batch}, ${ids} ids\n`,
    );

    // Baseline first, on its own seed.
    let baseSeconds = Number.NaN;
    let baseCpu = Number.NaN;
    if (withBaseline) {
      const t0 = performance.now();
      const subjects = await makeSubjects(kluis, org.id, subjectCount);
      await seed(kluis.db, org.id, subjects, count);
      process.stderr.write(`  seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      const t = performance.now();
      const cpu = process.cpuUsage();
      const baseDeleted = await baseline(kluis.db, org.id);
      baseSeconds = (performance.now() - t) / 1000;
      baseCpu = cpuSeconds(cpu);
      await kluis.checkpoint();
      if (baseDeleted !== count) throw new Error(`baseline deleted ${baseDeleted} of ${count}`);
      await kluis.db.deleteFrom('data_subjects').where('org_id', '=', org.id).execute();
      // The engine gets a table as fresh as the baseline had: without this it would walk the
      // baseline's dead index entries (PostgreSQL) or rows scattered over its freed pages (SQLite).
      await sql`vacuum`.execute(kluis.db);
      if (!sqlite) await sql`analyze`.execute(kluis.db);
      process.stderr.write(`  baseline done in ${baseSeconds.toFixed(1)} s\n`);
    }

    // The engine, on an identical seed.
    const subjects = await makeSubjects(kluis, org.id, subjectCount);
    await seed(kluis.db, org.id, subjects, count);
    clock.set(SWEEP_AT);
    const rssStart = process.memoryUsage().rss;
    let peak = rssStart;
    let atTenth: number | undefined;
    // With `node --expose-gc`, live heap after a full collection at 10% and at the end, to tell
    // growth from garbage not yet collected.
    const gc = (globalThis as { gc?: () => void }).gc;
    let heapAtTenth: number | undefined;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    const t = performance.now();
    const cpu = process.cpuUsage();
    let swept = 0;
    const sample = (done: number) => {
      if (atTenth === undefined && done >= count / 10) {
        atTenth = process.memoryUsage().rss;
        gc?.();
        heapAtTenth = process.memoryUsage().heapUsed;
      }
    };
    const result = await kluis.services.retention.run(
      withProgress
        ? { batchSize: batch, onProgress: sample }
        : {
            batchSize: batch,
            afterBatch: (b) => {
              swept += b.applied + b.held;
              sample(swept);
            },
          },
    );
    const seconds = (performance.now() - t) / 1000;
    const engineCpu = cpuSeconds(cpu);
    clearInterval(sampler);
    const rssEnd = process.memoryUsage().rss;
    peak = Math.max(peak, rssEnd);
    gc?.();
    const heapEnd = process.memoryUsage().heapUsed;
    const sum = (c: string) =>
      Object.values(result.counts).reduce((n, byCat) => n + (byCat[c]?.applied ?? 0), 0);
    if (sum(category) !== count) throw new Error(`engine swept ${sum(category)} of ${count}`);

    const rate = count / seconds;
    const baseRate = count / baseSeconds;
    const what =
      target === 'quarantine'
        ? `${count} quarantined mails (1 row each)`
        : `${count} contact requests (conversation + message), ${subjectCount} subjects erased: ${sum('subjects.erase')}`;
    process.stdout.write(
      [
        '',
        `dialect            ${testDialect}`,
        `records            ${what}; ${ids} ids; batch ${batch}; ${withProgress ? 'with a progress bar (CLI)' : 'heartbeat per batch (job)'}`,
        ...(withBaseline
          ? [
              `baseline           ${timing(baseSeconds, baseCpu)}  (plain DELETE ... WHERE id IN loop)`,
              `engine             ${timing(seconds, engineCpu)}`,
              `engine / baseline  ${(rate / baseRate).toFixed(2)}`,
            ]
          : [`engine             ${timing(seconds, engineCpu)}`]),
        `rss                start ${mib(rssStart)}, at 10% ${mib(atTenth ?? 0)}, end ${mib(rssEnd)}, peak ${mib(peak)}`,
        ...(gc === undefined
          ? []
          : [`heap after gc      at 10% ${mib(heapAtTenth ?? 0)}, end ${mib(heapEnd)}`]),
        '',
      ].join('\n'),
    );
  } finally {
    await kluis.destroy();
  }
}

await main();
