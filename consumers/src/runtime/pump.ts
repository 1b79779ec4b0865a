import type { Logger } from "pino";
import { type Backoff, backoffDelay, DEFAULT_DEPENDENCY_BACKOFF } from "./backoff.ts";
import { describeError } from "./failures.ts";

/**
 * What one pass of a pump did:
 * - `done`: nothing is left to do now;
 * - `more`: a full batch was handled, go again at once;
 * - `busy`: another worker holds the work (a lock), look again shortly;
 * - `outage`: a dependency is down: wait (with backoff) before the next pass;
 * - `{ dueInMs }`: done for now, and something falls due then (sooner than the interval, maybe).
 */
export type PassResult = "done" | "more" | "busy" | "outage" | { dueInMs: number };

export interface Pump {
  /** A pass soon (coalesced: one run at a time, one more if kicked meanwhile); waits out an outage. */
  kick(): void;
  /**
   * Waits for the run in flight, then passes until one is not `more` (also after `stop`: a final
   * flush); answers the last result.
   */
  drain(): Promise<PassResult>;
  /** No more passes; waits for the one in flight. */
  stop(): Promise<void>;
}

export interface PumpOptions {
  name: string;
  log: Logger;
  /** Time between runs when nothing kicks the pump. */
  intervalMs: number;
  pass: () => Promise<PassResult>;
  /** Waits between runs while a dependency is down (a thrown pass counts as an outage). */
  backoff?: Backoff;
  /**
   * A kick runs this much later, so the kicks of many commits share one pass (fewer passes, each over
   * more rows); 0: at once.
   */
  gatherMs?: number;
}

/**
 * The loop behind every relay of the consumers (outbox, effects, parked events, emails): runs `pass`
 * on a timer and whenever kicked, one run at a time; a full batch runs again at once, and an outage
 * (a pass that answers `outage`, or throws) backs off exponentially instead of hammering a dependency
 * that is down, while kicks wait for the backoff to end.
 */
export const startPump = (o: PumpOptions): Pump => {
  const backoff = o.backoff ?? DEFAULT_DEPENDENCY_BACKOFF;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let outages = 0;
  let timer: NodeJS.Timeout | undefined;

  const passOnce = async (): Promise<PassResult> => {
    try {
      return await o.pass();
    } catch (error) {
      o.log.warn({ err: describeError(error), pump: o.name }, "pass failed; backing off");
      return "outage";
    }
  };

  /** Passes while they answer `more` (and, for the timer's runs, until stopped). */
  const passUntilSettled = async (untilStopped: boolean): Promise<PassResult> => {
    let result: PassResult;
    do result = await passOnce();
    while (result === "more" && !(untilStopped && stopped));
    return result;
  };

  const schedule = (ms: number): void => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => void run(), ms);
    timer.unref();
  };

  const run = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let next = o.intervalMs;
      do {
        again = false;
        const result = await passUntilSettled(true);
        if (result === "outage") {
          outages++;
          next = backoffDelay(outages, backoff);
          break;
        }
        if (outages > 0) o.log.info({ pump: o.name, outages }, "dependency is back");
        outages = 0;
        next =
          result === "busy"
            ? Math.min(o.intervalMs, 250)
            : typeof result === "object"
              ? Math.max(0, Math.min(o.intervalMs, result.dueInMs))
              : o.intervalMs;
      } while (again && !stopped);
      schedule(next);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  let gathering: NodeJS.Timeout | undefined;
  const gather = (): void => {
    if (gathering) return;
    gathering = setTimeout(() => {
      gathering = undefined;
      void run();
    }, o.gatherMs);
    gathering.unref();
  };

  schedule(o.intervalMs);
  return {
    kick: () => {
      if (outages > 0) return;
      if (o.gatherMs) gather();
      else void run();
    },
    drain: async () => {
      await running;
      return passUntilSettled(false);
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(gathering);
      await running;
    },
  };
};
