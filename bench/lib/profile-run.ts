/**
 * Where the time of one target goes: one more load run with the V8 CPU profiler on (this
 * process: the servers and, as in every suite, the load generator), the profile written to
 * `out` and the largest self times returned as text in µs per operation.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { type CpuProfile, formatSelfTimes, selfTimeByFunction, selfTimeByOwner } from './cpu-profile.js';

/** Profiles `work`, which returns how many operations it did; prints nothing. */
export async function profiled(
  out: string,
  top: number,
  work: () => Promise<number>,
): Promise<{ operations: number; text: string }> {
  const inspector = new Session();
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.start');
  const operations = await work();
  const { profile } = await inspector.post('Profiler.stop');
  inspector.disconnect();
  writeFileSync(out, JSON.stringify(profile));
  const cpuProfile = profile as unknown as CpuProfile;
  const n = Math.max(1, operations);
  return {
    operations,
    text:
      `profile in ${out} (${operations} operations)\n` +
      `self time by package or file:\n${formatSelfTimes(selfTimeByOwner(cpuProfile), n, 15)}\n\n` +
      `self time by function:\n${formatSelfTimes(selfTimeByFunction(cpuProfile), n, top)}\n`,
  };
}
