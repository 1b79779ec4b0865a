import { Hono } from "hono";
import { kafkaClient, redisClient, type ServiceBindings, sqlClient } from "./clients.ts";

type CheckResult = { ok: true; ms: number } | { ok: false; ms: number; error: string };

const CHECK_TIMEOUT_MS = 2_500;

const timed = async (check: () => Promise<unknown>): Promise<CheckResult> => {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    return {
      ok: false,
      ms: Date.now() - started,
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
};

/** Probes each dependency the workers need, in parallel and bounded in time. */
export const checkDependencies = async (
  env: ServiceBindings,
): Promise<Record<"redis" | "kafka" | "postgres", CheckResult>> => {
  const [redis, kafka, postgres] = await Promise.all([
    timed(() => redisClient(env).ping()),
    timed(() => kafkaClient(env).admin().topics()),
    timed(() => sqlClient(env)`select 1`),
  ]);
  return { redis, kafka, postgres };
};

/** `GET /healthz` (the process answers) and `GET /readyz` (its dependencies answer). */
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
