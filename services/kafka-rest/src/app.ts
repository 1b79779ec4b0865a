import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { accessFor, forbidden } from "./access.ts";
import { type AuthEnv, basicAuth } from "./auth.ts";
import { RestError, type RestErrorBody } from "./errors.ts";
import type { KafkaGateway } from "./kafka.ts";
import type { RestMetrics } from "./metrics.ts";
import { produceRoutes } from "./routes/produce.ts";
import { readRoutes } from "./routes/read.ts";
import type { ValidUser } from "./users.ts";

export interface AppDeps {
  kafka: KafkaGateway;
  /** Every login and its grants (validated: see `KafkaRestUsersSchema`). */
  users: readonly ValidUser[];
  /** Called with every answer >= 500 and its cause (the service logs them). */
  onServerError?: (err: unknown, path: string) => void;
  /** Request metrics, and `GET /metrics` (for users granted `metrics`). */
  metrics?: RestMetrics;
}

/** 1 MiB: Kafka's default max.message.bytes, and plenty for one HTTP batch of events. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Consumer-group routes the client knows but this service does not offer (see README). */
const GROUP_ROUTES = [
  "/consume/:group/:instance",
  "/commit/:group/:instance",
  "/committed/:group/:instance",
  "/delete-consumer/:group/:instance",
  "/consumers",
];

export function createApp(deps: AppDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const { metrics } = deps;
  if (metrics) app.use("*", metrics.middleware);

  app.get("/healthz", (c) => c.json({ ok: true }, 200));
  app.get("/readyz", async (c) => {
    await deps.kafka.ping();
    return c.json({ ok: true }, 200);
  });

  app.use(
    "*",
    basicAuth(
      deps.users.map((user) => ({
        username: user.username,
        password: user.password,
        access: accessFor(user, deps.kafka),
      })),
    ),
  );
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new RestError(413, "payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  if (metrics) {
    app.get("/metrics", async (c) => {
      if (!c.var.access.metrics) throw forbidden("read /metrics");
      return c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType });
    });
  }
  produceRoutes(app);
  readRoutes(app);
  for (const path of GROUP_ROUTES) {
    app.all(path, (c) => {
      // Refused before "not offered": a user who may read nothing learns nothing either way.
      if (!c.var.access.consumes) throw forbidden("consume");
      throw new RestError(
        501,
        "not_implemented",
        "consumer-group routes are not offered by this service; consume with a native Kafka client",
      );
    });
  }

  app.notFound((c) => {
    const body: RestErrorBody = {
      error: `no route ${c.req.method} ${c.req.path}`,
      status: 404,
      code: "not_found",
    };
    return c.json(body, 404);
  });

  app.onError((err, c) => {
    const known = err instanceof RestError ? err : null;
    const status = known?.status ?? 500;
    if (status >= 500) deps.onServerError?.(err, c.req.path);
    if (known?.status === 503) c.header("Retry-After", "1");
    const body: RestErrorBody = known?.toBody() ?? { error: "internal error", status: 500, code: "internal" };
    return c.json(body, status);
  });

  return app;
}
