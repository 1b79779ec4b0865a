import { Hono } from "hono";
import { type CheckResult, checkWithin, unavailable } from "../../domain/readiness.ts";
import { kafkaClient, redisClient, type ServiceBindings, sqlClient } from "./clients.ts";
import { log } from "./log.ts";

const CHECK_TIMEOUT_MS = 2_500;

const timed = (name: string, check: () => Promise<unknown>): Promise<CheckResult> =>
  checkWithin(CHECK_TIMEOUT_MS, name, check, (error) =>
    log("warn", "readiness check failed", { dependency: name, error }),
  );

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
    const down = unavailable(checks);
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
