import { swaggerUI } from "@hono/swagger-ui";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { Hono } from "hono";
import type { StorefrontEnv } from "./env.ts";

/** `/openapi.json` generated from the same zod schemas that validate each route, and `/docs` to read it. */
export const docsRoutes = (app: OpenAPIHono<StorefrontEnv>): Hono<StorefrontEnv> => {
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "customerToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  const routes = new Hono<StorefrontEnv>();
  routes.get("/openapi.json", (c) =>
    c.json(
      app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "Storefront API",
          version: "1.0.0",
          description:
            'Catalog, carts, customers, checkout and orders. Errors: {"error":{"code","message","details"?}}.',
        },
        servers: [{ url: new URL(c.req.url).origin }],
      }),
    ),
  );
  routes.get("/docs", swaggerUI({ url: "/openapi.json" }));
  return routes;
};
