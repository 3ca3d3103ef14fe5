/**
 * Retention sweep throughput (P6). `--count` expired records of one category are seeded in the
 * real intake tables and swept by the real engine — bounded batch transactions, hold checks,
 * write-ahead erasure ledger with fsync, an audit entry per batch, the step cursor, subject
 * erasure with key destruction, the final checkpoint — and, in the same session on an identical
 * seed, by a baseline: a plain `DELETE ... WHERE id IN (...)` batch loop doing the same deletions
 * in the same order and nothing else. Prints records/s of both, their ratio, and RSS (at the
 * start, at 10% and at the end of the sweep, and the peak sampled every 25 ms).
 *
 *   --target quarantine      (default) a quarantined inbound mail: 1 row, 2 index entries
 *   --target conversations   a contact request: the conversation and its message (2 rows, 7 index
 *                            entries, sealed columns), spread over --subjects data subjects
 *   --ids random|ordered     UUIDv4 as Kluis makes them today, or time-ordered (UUIDv7-like) ids
 *
 *   npm run bench:retention -- [--count 1000000] [--batch 1000] [--target quarantine|conversations]
 *   KLUIS_TEST_DIALECT=postgres npm run bench:retention -- --count 1000000
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DB } from '../../src/db/schema.js';
import { runRetention } from '../../src/modules/retention/retention-sweep.js';
import { inOrg, walkAfter, walkKey } from '../../src/modules/retention/retention-target.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { createTestKluis, type TestKluis, testDialect } from '../../test/dialects.js';
import { createOrg } from '../../test/factories.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    subjects: { type: 'string', default: '1000' },
    target: { type: 'string', default: 'quarantine' },
    ids: { type: 'string', default: 'random' },
  },
});
const count = Number(values.count);
const batch = Number(values.batch);
const subjectCount = Number(values.subjects);
const target = values.target === 'quarantine' ? 'quarantine' : 'conversations';
const orderedIds = values.ids === 'ordered';
const table = target === 'quarantine' ? 'inbound_quarantine' : 'conversations';
const category = target === 'quarantine' ? 'intake.quarantine' : 'intake.conversations';

const EXPIRED_AT = '2020-06-01T12:00:00.000Z';
const SWEEP_AT = '2024-01-10T03:00:00.000Z';
const sqlite = testDialect === 'sqlite';

/** A random UUIDv4 made by the database. */
const randomId = sqlite
  ? sql`lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-8' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`
  : sql`gen_random_uuid()::text`;

/** A time-ordered id for the `n`th record (prefix tells tables apart). */
function orderedId(prefix: string, n: RawBuilder<unknown>): RawBuilder<unknown> {
  return sqlite
    ? sql`printf(${`${prefix}-0000-7000-8000-%012x`}, ${n})`
    : sql`${`${prefix}-0000-7000-8000-`} || lpad(to_hex(${n}), 12, '0')`;
}

function blob(n: number): RawBuilder<unknown> {
  return sqlite
    ? sql`randomblob(${sql.lit(n)})`
    : sql`substring(decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') from 1 for ${sql.lit(Math.min(n, 64))})`;
}

const numbers = (size: number) =>
  sql`with recursive seq(i) as (select 0 union all select i + 1 from seq where i + 1 < ${size})`;

let seeded = 0;

/** Seeds `n` expired records of the category, in chunks of 100,000 rows per statement. */
async function seed(db: Kysely<DB>, orgId: string, subjects: readonly string[], n: number): Promise<void> {
  for (let done = 0; done < n; done += 100_000) {
    const size = Math.min(100_000, n - done);
    const offset = seeded + done;
    await db.transaction().execute(async (trx) => {
      if (target === 'quarantine') {
        const id = orderedIds ? orderedId('01920000', sql`seq.i + ${offset}`) : randomId;
        await sql`${numbers(size)}
          insert into inbound_quarantine (id, org_id, reason, mailbox, raw, size_bytes, created_at)
          select ${id}, ${orgId}, 'no_sender', 'contact', ${blob(200)}, 200, ${EXPIRED_AT} from seq`.execute(
          trx,
        );
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
      const id = orderedIds ? orderedId('01900000', sql`seq.i + ${offset}`) : randomId;
      // Each chunk gets its own creation time, so its messages are added without an anti-join.
      const created = new Date(Date.parse(EXPIRED_AT) - offset).toISOString();
      await sql`${numbers(size)}
        insert into conversations (id, org_id, subject_id, channel, status, assigned_user_id, subject_line,
          requester_name, requester_email, requester_phone, locale, possible_rights_request, thread_key,
          created_at, updated_at, closed_at)
        select ${id}, ${orgId}, s.id, 'web', 'closed', null, null, ${blob(40)}, ${blob(48)}, null, 'nl', 0, null,
          ${created}, ${created}, ${EXPIRED_AT}
        from seq join bench_subjects s on s.k = seq.i % ${subjects.length}`.execute(trx);
      const entryId = orderedIds ? sql`'01910000' || substr(c.id, 9)` : randomId;
      await sql`
        insert into conversation_entries (id, org_id, conversation_id, seq, kind, body, author_user_id, message_id,
          in_reply_to, delivery, sent_at, refused_attachments, created_at)
        select ${entryId}, c.org_id, c.id, 1, 'inbound', ${blob(120)}, null, null, null, null, null, null, c.created_at
        from conversations c
        where c.created_at = ${created}`.execute(trx);
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
      id: randomUUID(),
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

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const clock = createFixedClock('2020-01-01T00:00:00.000Z');
  const kluis = await createTestKluis({ clock });
  try {
    const org = await createOrg(kluis, 'tenant');
    const ids = orderedIds ? 'time-ordered' : 'random UUIDv4';
    process.stderr.write(
      `retention bench on ${testDialect}: ${count} ${target}, batch ${batch}, ${ids} ids\n`,
    );

    // Baseline first, on its own seed.
    let t = performance.now();
    let subjects = await makeSubjects(kluis, org.id, subjectCount);
    await seed(kluis.db, org.id, subjects, count);
    process.stderr.write(`  seeded in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    t = performance.now();
    const baseDeleted = await baseline(kluis.db, org.id);
    const baseSeconds = (performance.now() - t) / 1000;
    await kluis.checkpoint();
    if (baseDeleted !== count) throw new Error(`baseline deleted ${baseDeleted} of ${count}`);
    await kluis.db.deleteFrom('data_subjects').where('org_id', '=', org.id).execute();
    process.stderr.write(`  baseline done in ${baseSeconds.toFixed(1)} s\n`);

    // The engine, on an identical seed.
    subjects = await makeSubjects(kluis, org.id, subjectCount);
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
    t = performance.now();
    const result = await runRetention(kluis, {
      batchSize: batch,
      onProgress: (done) => {
        if (atTenth === undefined && done >= count / 10) {
          atTenth = process.memoryUsage().rss;
          gc?.();
          heapAtTenth = process.memoryUsage().heapUsed;
        }
      },
    });
    const seconds = (performance.now() - t) / 1000;
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
        `records            ${what}; ${ids} ids; batch ${batch}`,
        `baseline           ${baseSeconds.toFixed(2)} s  ${Math.round(baseRate).toLocaleString('en')} records/s (plain DELETE ... WHERE id IN loop)`,
        `engine             ${seconds.toFixed(2)} s  ${Math.round(rate).toLocaleString('en')} records/s`,
        `engine / baseline  ${(rate / baseRate).toFixed(2)}`,
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
