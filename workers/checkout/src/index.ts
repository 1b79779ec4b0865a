import { bodyLimit } from "hono/body-limit";
import { AppError } from "../../../domain/errors.ts";
import { createApp } from "../../platform/app.ts";
import { healthRoutes } from "../../platform/health.ts";
import { CheckoutSettingsSchema } from "../../platform/settings.ts";
import { checkoutRoutes } from "./checkout/routes.ts";
import type { CheckoutEnv } from "./env.ts";
import { orderRoutes } from "./orders/routes.ts";

const JSON_BODY_LIMIT = 64 * 1024;

export const app = createApp<CheckoutEnv>("checkout", CheckoutSettingsSchema);

app.route("/", healthRoutes());
app.use(
  "/v1/*",
  bodyLimit({
    maxSize: JSON_BODY_LIMIT,
    onError: () => {
      throw new AppError("payload_too_large", `request body over ${JSON_BODY_LIMIT} bytes`);
    },
  }),
);
app.route("/", checkoutRoutes);
app.route("/", orderRoutes);
app.openAPIRegistry.registerComponent("securitySchemes", "customerToken", {
  type: "http",
  scheme: "bearer",
  bearerFormat: "JWT",
});
app.doc31("/openapi.json", { openapi: "3.1.0", info: { title: "Checkout API", version: "1.0.0" } });

export default app;
