import { createApp } from "../../platform/app.ts";
import { healthRoutes } from "../../platform/health.ts";

export type CheckoutEnv = { Bindings: Env };

export const app = createApp<CheckoutEnv>("checkout");

app.route("/", healthRoutes());

export default app;
