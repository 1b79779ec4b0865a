import { createApp } from "../../platform/app.ts";
import { healthRoutes } from "../../platform/health.ts";

export type StorefrontEnv = { Bindings: Env };

export const app = createApp<StorefrontEnv>("storefront");

app.route("/", healthRoutes());

// One base URL serves everything: checkout and orders go to the checkout worker over its service binding.
app.all("/v1/checkout", (c) => c.env.CHECKOUT.fetch(c.req.raw));
app.all("/v1/checkout/*", (c) => c.env.CHECKOUT.fetch(c.req.raw));
app.all("/v1/orders/*", (c) => c.env.CHECKOUT.fetch(c.req.raw));

export default app;
