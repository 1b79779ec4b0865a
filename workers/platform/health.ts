import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { checkWithin, unavailable } from "../../domain/readiness.ts";
import { kafkaClient, redisClient, type ServiceBindings, sqlClient } from "./clients.ts";
import { log } from "./log.ts";
import { ErrorSchema, jsonContent } from "./openapi.ts";

/**
 * What a readiness answer says about one dependency. A failure is only named (`timeout`: no answer
 * in time, `error`: it answered with, or failed with, an error); the error itself goes to the log,
 * since it can carry hostnames, users or driver internals.
 */
const CheckResultSchema = z
  .union([
    z.object({ ok: z.literal(true), ms: z.number() }),
    z.object({ ok: z.literal(false), ms: z.number(), reason: z.enum(["timeout", "error"]) }),
  ])
  .openapi("DependencyCheck");
type CheckResult = z.infer<typeof CheckResultSchema>;

const ChecksSchema = z.object({
  redis: CheckResultSchema,
  kafka: CheckResultSchema,
  postgres: CheckResultSchema,
});

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
 * `/readyz` is public: each answer is kept for a few seconds per isolate (and concurrent probes share
 * one check), so a flood of probes costs at most one Upstash command, one Kafka REST listing and one
 * Neon query per isolate every READINESS_TTL_MS.
 */
const READINESS_TTL_MS = 5_000;
const recent = new WeakMap<object, { at: number; checks: ReturnType<typeof checkDependencies> }>();
const recentChecks = (env: ServiceBindings): ReturnType<typeof checkDependencies> => {
  const hit = recent.get(env);
  if (hit && Date.now() - hit.at < READINESS_TTL_MS) return hit.checks;
  const checks = checkDependencies(env);
  recent.set(env, { at: Date.now(), checks });
  return checks;
};

const healthzRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["operations"],
  summary: "The worker answers",
  responses: { 200: jsonContent(z.object({ ok: z.literal(true) }), "alive") },
});

const readyzRoute = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["operations"],
  summary:
    "Redis, Kafka REST and Postgres answer (503 naming those that do not, with Retry-After); checked at most every 5 s per isolate",
  responses: {
    200: jsonContent(z.object({ ok: z.literal(true), checks: ChecksSchema }), "every dependency answers"),
    503: jsonContent(
      ErrorSchema.extend({ ok: z.literal(false), checks: ChecksSchema }),
      "dependency_unavailable: what is down, by name",
    ),
  },
});

/**
 * `GET /healthz` (the process answers) and `GET /readyz` (its dependencies answer; 503 naming those
 * that do not, with no raw error text).
 */
export const healthRoutes = () =>
  new OpenAPIHono<{ Bindings: ServiceBindings }>()
    .openapi(healthzRoute, (c) => c.json({ ok: true as const }, 200))
    .openapi(readyzRoute, async (c) => {
      const checks = await recentChecks(c.env);
      const down = unavailable(checks);
      if (down.length === 0) return c.json({ ok: true as const, checks }, 200);
      c.header("Retry-After", "5");
      return c.json(
        {
          error: {
            code: "dependency_unavailable" as const,
            message: `unavailable: ${down.join(", ")}`,
            details: checks,
          },
          ok: false as const,
          checks,
        },
        503,
      );
    });
