import { Hono } from "hono";
import { kafkaClient, redisClient, type ServiceBindings, sqlClient } from "./clients.ts";
import { log } from "./log.ts";

/**
 * What a readiness answer says about one dependency. A failure is only named (`timeout`: no answer
 * in time, `error`: it answered with, or failed with, an error); the error itself goes to the log,
 * since it can carry hostnames, users or driver internals.
 */
type CheckResult = { ok: true; ms: number } | { ok: false; ms: number; reason: "timeout" | "error" };

const CHECK_TIMEOUT_MS = 2_500;

class CheckTimeout extends Error {}

const timed = async (name: string, check: () => Promise<unknown>): Promise<CheckResult> => {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CheckTimeout(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([check(), timeout]);
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    const timedOut =
      error instanceof CheckTimeout || (error instanceof Error && error.name === "TimeoutError");
    log("warn", "readiness check failed", { dependency: name, error });
    return { ok: false, ms: Date.now() - started, reason: timedOut ? "timeout" : "error" };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
};

/** Probes each dependency the workers need, in parallel and bounded in time. */
export const checkDependencies = async (
  env: ServiceBindings,
): Promise<Record<"redis" | "kafka" | "postgres", CheckResult>> => {
  const [redis, kafka, postgres] = await Promise.all([
    timed("redis", () => redisClient(env).ping()),
    timed("kafka", () => kafkaClient(env).admin().topics()),
    timed("postgres", () => sqlClient(env)`select 1`),
  ]);
  return { redis, kafka, postgres };
};

/**
 * `GET /healthz` (the process answers) and `GET /readyz` (its dependencies answer; 503 naming those
 * that do not, with no raw error text).
 */
export const healthRoutes = (): Hono<{ Bindings: ServiceBindings }> => {
  const routes = new Hono<{ Bindings: ServiceBindings }>();
  routes.get("/healthz", (c) => c.json({ ok: true }));
  routes.get("/readyz", async (c) => {
    const checks = await checkDependencies(c.env);
    const down = Object.entries(checks)
      .filter(([, result]) => !result.ok)
      .map(([name]) => name);
    if (down.length === 0) return c.json({ ok: true, checks });
    c.header("Retry-After", "5");
    return c.json(
      {
        error: {
          code: "dependency_unavailable",
          message: `unavailable: ${down.join(", ")}`,
          details: checks,
        },
        ok: false,
        checks,
      },
      503,
    );
  });
  return routes;
};
