import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { StorefrontEnv } from "./env.ts";

/** Swagger UI, served by this worker's static assets (copied from the pinned `swagger-ui-dist`). */
const SWAGGER_UI = "/docs/swagger-ui";

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Storefront API</title>
<link rel="stylesheet" href="${SWAGGER_UI}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null });
</script>
</body>
</html>
`;

const openApiRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["operations"],
  summary: "This document: every route of the base URL, checkout and orders included (OpenAPI 3.1)",
  responses: {
    200: {
      description: "the OpenAPI document",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  tags: ["operations"],
  summary: "A page to read this document (Swagger UI, served by the worker itself)",
  responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } } },
});

/** `/openapi.json` generated from the same zod schemas that validate each route, and `/docs` to read it. */
export const docsRoutes = (app: OpenAPIHono<StorefrontEnv>) => {
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "customerToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  return new OpenAPIHono<StorefrontEnv>()
    .openapi(openApiRoute, (c) =>
      c.json(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: {
            title: "Storefront API",
            version: "1.0.0",
            description:
              "Catalog, carts, customers, checkout and orders, media and operations, all at this base " +
              'URL. Errors: {"error":{"code","message","details"?}}.',
          },
          servers: [{ url: new URL(c.req.url).origin }],
        }),
        200,
      ),
    )
    .openapi(docsRoute, (c) => c.html(page, 200));
};
