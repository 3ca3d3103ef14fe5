/**
 * Summaries of a V8 CPU profile (`.cpuprofile`, as written by `node --cpu-prof` or the
 * inspector's `Profiler.stop`): self time per function and per package, in microseconds per
 * request when the number of requests is known.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  readonly name: string;
  /** Microseconds of self time in the whole profile. */
  readonly micros: number;
}

const root = new URL('../../', import.meta.url).href;

function shortUrl(url: string): string {
  const inModules = url.lastIndexOf('node_modules/');
  if (inModules !== -1) return url.slice(inModules + 'node_modules/'.length);
  return url.startsWith(root) ? url.slice(root.length) : url;
}

/** The package (`fastify`, `@fastify/cookie`), project file or native frame a frame belongs to. */
function ownerOf(frame: CallFrame): string {
  const url = shortUrl(frame.url);
  if (url === '') return `(native) ${frame.functionName || '(anonymous)'}`;
  if (frame.url.includes('node_modules/')) {
    const parts = url.split('/');
    return (parts[0] ?? '').startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  return url;
}

function selfTimes(profile: CpuProfile, key: (frame: CallFrame) => string): SelfTime[] {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    if (frame === undefined) return;
    const k = key(frame);
    totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return [...totals].map(([name, micros]) => ({ name, micros })).sort((a, b) => b.micros - a.micros);
}

/** Self time per function (`name file:line`), largest first. */
export function selfTimeByFunction(profile: CpuProfile): SelfTime[] {
  return selfTimes(
    profile,
    (f) =>
      `${f.functionName || '(anonymous)'}${f.url === '' ? '' : ` ${shortUrl(f.url)}:${f.lineNumber + 1}`}`,
  );
}

/** Self time per package, project file or native function, largest first. */
export function selfTimeByOwner(profile: CpuProfile): SelfTime[] {
  return selfTimes(profile, ownerOf);
}

/** `top` rows as text: share of the busy (non-idle) time and µs per request. */
export function formatSelfTimes(rows: readonly SelfTime[], requests: number, top: number): string {
  const busy = rows.filter((r) => !r.name.includes('(idle)')).reduce((a, r) => a + r.micros, 0);
  return rows
    .filter((r) => !r.name.includes('(idle)'))
    .slice(0, top)
    .map(
      (r) =>
        `${((r.micros / busy) * 100).toFixed(1).padStart(5)}%  ${(r.micros / requests).toFixed(2).padStart(7)} µs/req  ${r.name}`,
    )
    .join('\n');
}
