/**
 * Long-fault drills: each breaks one dependency for `FAULT_MS` while orders flow. `npm test` runs
 * them short (DRILL_FAULT_MS unset: 10 s), and `npm run drill` runs them at a real incident's length
 * (3 minutes), with every limit of the pipeline at its production default. In between, limits scale
 * with the fault, so each drill keeps its shape (the processor's deadline well inside the fault, the
 * payment step's limit shorter than the fault, backoffs a fraction of it).
 */
export const FAULT_MS = Number(process.env.DRILL_FAULT_MS ?? 10_000);

/** The full-length fault, at which `scaled` gives the production default. */
const FULL_FAULT_MS = 180_000;

/** `productionMs` at a 3-minute fault, in proportion for a shorter one (whole milliseconds, at least 10). */
export const scaled = (productionMs: number): number =>
  Math.max(10, Math.round((productionMs * Math.min(FAULT_MS, FULL_FAULT_MS)) / FULL_FAULT_MS));

/** Orders of a drill: the count at full length, fewer in the short runs of `npm test`. */
export const orderCount = (full: number, short: number): number => (FAULT_MS >= FULL_FAULT_MS ? full : short);

/** A test's own timeout: the fault, and time to settle after it. */
export const drillTimeout = (settleMs = 120_000): number => FAULT_MS * 2 + settleMs;

/** The processor's and the saga's settings at this fault's length (their production defaults at 3 minutes). */
export const processorSettings = (): Record<string, string> => ({
  PAYMENT_PROCESSOR_TIMEOUT_MS: String(scaled(10_000)),
  PAYMENT_STEP_LIMIT_MS: String(scaled(120_000)),
  PAYMENT_RETRY_INITIAL_DELAY_MS: String(scaled(250)),
  PAYMENT_RETRY_MAX_DELAY_MS: String(scaled(15_000)),
  ORDER_SWEEP_INTERVAL_MS: String(scaled(5_000)),
});

/** Prints a drill's figures (the long runs are read by people). */
export const report = (drill: string, figures: Record<string, unknown>): void => {
  console.log(`[drill ${drill}] fault ${FAULT_MS} ms: ${JSON.stringify(figures)}`);
};

/** p50, p99 and max of `values` (ms). */
export const percentiles = (values: readonly number[]): { p50: number; p99: number; max: number } => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
};
