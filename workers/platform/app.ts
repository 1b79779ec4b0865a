import { OpenAPIHono } from "@hono/zod-openapi";
import type { Env as HonoEnv, MiddlewareHandler } from "hono";
import { except } from "hono/combine";
import { requestId } from "hono/request-id";
import type { z } from "zod";
import { apiCors, mediaCors } from "./cors.ts";
import { onError, onNotFound, validationError } from "./errors.ts";
import { log, setLogLevel } from "./log.ts";
import { requireSettings } from "./settings.ts";

/**
 * A Hono app with the shared edge behaviour: a request id on every answer, CORS for the configured
 * origins (`CORS_ALLOWED_ORIGINS`; images for any), one JSON log line per request, its `settings`
 * checked (see settings.ts), the contract's error body for every failure, and one hook for
 * validation errors.
 */
export const createApp = <E extends HonoEnv>(
  service: string,
  settings: z.ZodType<object>,
): OpenAPIHono<E> => {
  const app = new OpenAPIHono<E>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use("/media/*", mediaCors());
  app.use("*", except("/media/*", apiCors()));
  app.use(async (c, next) => {
    const env: unknown = c.env;
    setLogLevel(
      typeof env === "object" && env !== null && "LOG_LEVEL" in env ? String(env.LOG_LEVEL) : undefined,
    );
    const started = Date.now();
    await next();
    log(c.res.status >= 500 ? "error" : "info", "request", {
      service,
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Date.now() - started,
    });
  });
  // Checked once per isolate: a misconfigured worker answers 500 config_error naming the setting.
  app.use(requireSettings(service, settings) as MiddlewareHandler);
  app.onError(onError);
  app.notFound(onNotFound);
  return app;
};
