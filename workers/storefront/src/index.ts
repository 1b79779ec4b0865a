import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { except } from "hono/combine";
import { AppError } from "../../../domain/errors.ts";
import { createApp } from "../../platform/app.ts";
import { msSetting } from "../../platform/clients.ts";
import { healthRoutes } from "../../platform/health.ts";
import { adminOrderRoutes } from "./admin/order-routes.ts";
import { adminRoutes } from "./admin/routes.ts";
import { cartRoutes } from "./cart/routes.ts";
import { catalogRoutes } from "./catalog/index.ts";
import { customerRoutes } from "./customers/index.ts";
import { docsRoutes } from "./docs.ts";
import type { StorefrontEnv } from "./env.ts";
import { MEDIA_UPLOAD_PATHS, mediaRoutes } from "./media/index.ts";

const JSON_BODY_LIMIT = 64 * 1024;

export const app = createApp<StorefrontEnv>("storefront");

app.route("/", healthRoutes());

// One base URL serves everything: checkout and orders go to the checkout worker over its service binding.
const forward = async (c: Context<StorefrontEnv>): Promise<Response> => {
  const timeoutMs = msSetting(c.env.CHECKOUT_TIMEOUT_MS, 10_000);
  try {
    return await c.env.CHECKOUT.fetch(new Request(c.req.raw, { signal: AbortSignal.timeout(timeoutMs) }));
  } catch (error) {
    throw new AppError("dependency_unavailable", "the checkout service did not answer in time", {
      cause: error,
      retryAfter: 2,
    });
  }
};
app.all("/v1/checkout", forward);
app.all("/v1/checkout/*", forward);
app.all("/v1/orders/*", forward);

// JSON bodies are capped at 64 KiB; media uploads enforce their own 10 MiB while streaming.
app.use(
  "/v1/*",
  except(
    MEDIA_UPLOAD_PATHS,
    bodyLimit({
      maxSize: JSON_BODY_LIMIT,
      onError: () => {
        throw new AppError("payload_too_large", `request body over ${JSON_BODY_LIMIT} bytes`);
      },
    }),
  ),
);

app.route("/", catalogRoutes);
app.route("/", cartRoutes);
app.route("/", customerRoutes);
app.route("/", adminRoutes);
app.route("/", adminOrderRoutes);
app.route("/", mediaRoutes);
app.route("/", docsRoutes(app));

export default app;
