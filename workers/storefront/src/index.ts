import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { except } from "hono/combine";
import { AppError } from "../../../domain/errors.ts";
import { createApp } from "../../platform/app.ts";
import { healthRoutes } from "../../platform/health.ts";
import { StorefrontSettingsSchema } from "../../platform/settings.ts";
import { adminOrderRoutes } from "./admin/order-routes.ts";
import { adminRoutes } from "./admin/routes.ts";
import { cartRoutes } from "./cart/routes.ts";
import { catalogRoutes } from "./catalog/index.ts";
import { checkoutForwardRoutes } from "./checkout-forward.ts";
import { customerRoutes } from "./customers/index.ts";
import { docsRoutes } from "./docs.ts";
import type { StorefrontEnv } from "./env.ts";
import { MEDIA_UPLOAD_PATHS, mediaRoutes } from "./media/index.ts";
import { PRICE_LIST_BODY_LIMIT, PRICE_LIST_PATH, priceListRoutes } from "./price-lists/index.ts";
import { stripeWebhookRoutes } from "./webhooks/stripe.ts";

const JSON_BODY_LIMIT = 64 * 1024;

const limitTo = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new AppError("payload_too_large", `request body over ${maxSize} bytes`);
    },
  });

// JSON bodies are capped at 64 KiB, price-list writes (up to 10,000 prices) at 2 MiB; media uploads
// enforce their own 10 MiB while streaming, and the checkout worker its own limit (its routes are
// forwarded before this runs).
const jsonBodyLimit = new Hono<StorefrontEnv>()
  .use("/v1/*", except([...MEDIA_UPLOAD_PATHS, PRICE_LIST_PATH], limitTo(JSON_BODY_LIMIT)))
  .use(PRICE_LIST_PATH, limitTo(PRICE_LIST_BODY_LIMIT));

export const app = createApp<StorefrontEnv>("storefront", StorefrontSettingsSchema);

// Chained, so the app's type carries every route: `hc<AppType>` (hono/client) is a typed client.
const routes = app
  .route("/", healthRoutes())
  .route("/", checkoutForwardRoutes)
  .route("/", jsonBodyLimit)
  .route("/", catalogRoutes)
  .route("/", cartRoutes)
  .route("/", customerRoutes)
  .route("/", adminRoutes)
  .route("/", adminOrderRoutes)
  .route("/", priceListRoutes)
  .route("/", mediaRoutes)
  .route("/", stripeWebhookRoutes)
  .route("/", docsRoutes(app));

/** The whole API at the storefront's base URL, checkout and orders included, for `hc<AppType>(baseUrl)`. */
export type AppType = typeof routes;

export default app;
