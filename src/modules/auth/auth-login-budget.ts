/**
 * The process-wide sign-in work budget (issue 15, ASVS 6.3.1, 15.1.3): at most `untrusted`
 * password sign-ins without a device cookie are worked on at once (the look-up, the throttle
 * reads and the argon2 check), and at most `trusted` with one, in a lane of their own that the
 * flood cannot fill. An attempt that finds its lane full waits at most `waitMs` (in a queue of at
 * most `QUEUE_PER_SLOT` × the lane's size); past that it is refused at once — ERR_RATE_LIMITED,
 * answered 429 with `Retry-After` — before any database read, any hashing or any write.
 *
 * Refusals are counted in memory only: the sign-in service writes one audit entry a minute with
 * their number (`auth.login.refused_busy`), never one per refusal.
 */
import { AppError } from '../../shared/errors.js';

export interface LoginBudgetPolicy {
  /** Concurrent untrusted sign-ins (no valid device cookie). */
  readonly untrusted: number;
  /** Concurrent sign-ins presenting a valid device cookie (their own lane). */
  readonly trusted: number;
  /** How long an attempt may wait for a slot before it is refused (ms). */
  readonly waitMs: number;
}

export type LoginLane = 'trusted' | 'untrusted';

/** Waiting attempts allowed per slot of a lane; beyond them an attempt is refused without waiting. */
export const QUEUE_PER_SLOT = 4;

/** Seconds a refused client is told to wait (`Retry-After`). */
export const BUDGET_RETRY_AFTER_SECONDS = 1;

/** Gives the slot back (once; later calls do nothing). */
export type Release = () => void;

interface Lane {
  readonly size: number;
  active: number;
  readonly waiting: Array<(granted: boolean) => void>;
}

export function budgetRefusal(): AppError {
  return new AppError('ERR_RATE_LIMITED', {
    message: 'sign-in work budget exhausted',
    details: { retry_after_seconds: BUDGET_RETRY_AFTER_SECONDS },
  });
}

export function createLoginBudget(policy: LoginBudgetPolicy) {
  const lanes: Record<LoginLane, Lane> = {
    trusted: { size: Math.max(1, policy.trusted), active: 0, waiting: [] },
    untrusted: { size: Math.max(1, policy.untrusted), active: 0, waiting: [] },
  };
  const refused: Record<LoginLane, number> = { trusted: 0, untrusted: 0 };

  function releaseOf(lane: Lane): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = lane.waiting.shift();
      // The slot passes straight to the next waiter (active stays as it is).
      if (next !== undefined) next(true);
      else lane.active--;
    };
  }

  function refuse(name: LoginLane): never {
    refused[name]++;
    throw budgetRefusal();
  }

  return {
    /** A slot in the lane, or ERR_RATE_LIMITED (counted) when none frees up within `waitMs`. */
    async acquire(name: LoginLane): Promise<Release> {
      const lane = lanes[name];
      if (lane.active < lane.size) {
        lane.active++;
        return releaseOf(lane);
      }
      if (policy.waitMs <= 0 || lane.waiting.length >= lane.size * QUEUE_PER_SLOT) refuse(name);
      const granted = await new Promise<boolean>((resolve) => {
        const waiter = (ok: boolean) => {
          clearTimeout(timer);
          resolve(ok);
        };
        const timer = setTimeout(() => {
          const at = lane.waiting.indexOf(waiter);
          if (at >= 0) lane.waiting.splice(at, 1);
          resolve(false);
        }, policy.waitMs);
        lane.waiting.push(waiter);
      });
      if (!granted) refuse(name);
      return releaseOf(lane);
    },

    /**
     * Refuses (counted) when the lane is full AND its queue too, so an attempt would be refused
     * anyway: lets the HTTP layer answer before the body is parsed or a page is built.
     */
    refuseIfFull(name: LoginLane): void {
      const lane = lanes[name];
      if (
        lane.active >= lane.size &&
        (policy.waitMs <= 0 || lane.waiting.length >= lane.size * QUEUE_PER_SLOT)
      ) {
        refuse(name);
      }
    },

    /** Slots in use and attempts waiting, per lane (the health of the budget; tests). */
    usage(name: LoginLane): { active: number; waiting: number } {
      return { active: lanes[name].active, waiting: lanes[name].waiting.length };
    },

    /** The refusals counted since the last call, per lane; the counters start again at 0. */
    takeRefused(): Record<LoginLane, number> {
      const taken = { ...refused };
      refused.trusted = 0;
      refused.untrusted = 0;
      return taken;
    },
  };
}

export type LoginBudget = ReturnType<typeof createLoginBudget>;
