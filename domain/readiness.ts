/**
 * Readiness probes with a deadline, shared by the workers' and the consumers' `/readyz`: a
 * dependency that hangs is reported like one that is down, and never holds the answer.
 */

/**
 * What a readiness answer says about one dependency. A failure is only named (`timeout`: no answer
 * in time, `error`: it answered with, or failed with, an error); the error itself goes to the log,
 * since it can carry hostnames, users or driver internals.
 */
export type CheckResult = { ok: true; ms: number } | { ok: false; ms: number; reason: "timeout" | "error" };

export class DeadlineExceeded extends Error {
  override readonly name = "DeadlineExceeded";
}

/** `work`, or a DeadlineExceeded after `timeoutMs` (the work itself is not cancelled). */
export const withinDeadline = async <T>(timeoutMs: number, what: string, work: Promise<T>): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineExceeded(`${what}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
};

/** Runs one probe under `timeoutMs`; a failure is handed to `onFailure` (for the log) and named. */
export const checkWithin = async (
  timeoutMs: number,
  name: string,
  check: () => Promise<unknown>,
  onFailure: (error: unknown) => void,
): Promise<CheckResult> => {
  const started = Date.now();
  try {
    await withinDeadline(timeoutMs, name, check());
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    const timedOut =
      error instanceof DeadlineExceeded || (error instanceof Error && error.name === "TimeoutError");
    onFailure(error);
    return { ok: false, ms: Date.now() - started, reason: timedOut ? "timeout" : "error" };
  }
};

/** The names of the dependencies whose check failed, in the order given. */
export const unavailable = (checks: Record<string, CheckResult>): string[] =>
  Object.entries(checks)
    .filter(([, result]) => !result.ok)
    .map(([name]) => name);
