import { describe, expect, it } from "vitest";
import { CHECKOUT_API_ROUTES } from "../../edge/checkout-contract/index.ts";
import { answeredOperations, documentedOperations } from "../../platform/test-support.ts";
import { app } from "./index.ts";
import { call, json } from "./test-support.ts";

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { tags?: string[] }>>;
  components: { schemas: Record<string, unknown> };
}

const documentOf = async (): Promise<Document> => {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  return json<Document>(res);
};

describe("/openapi.json", () => {
  it("documents every route the storefront answers, and answers every route it documents", async () => {
    const documented = documentedOperations(await documentOf());
    const { routes, middlewarePaths } = answeredOperations(app);
    expect(routes).toEqual(documented);
    const documentedPaths = new Set(documented.map((op) => op.split(" ")[1]));
    for (const path of middlewarePaths) expect(documentedPaths, path).toContain(path);
  });

  it("includes checkout and orders, answered over the service binding, from the shared definitions", async () => {
    const document = await documentOf();
    for (const route of CHECKOUT_API_ROUTES) {
      expect(Object.keys(document.paths[route.path] ?? {}), route.path).toContain(route.method);
    }
    expect(document.paths["/v1/checkout"]?.post?.tags).toEqual(["checkout"]);
    // Named schemas are declared once and referenced, the checkout's body among them.
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(["CheckoutRequest", "Cart", "Product", "Error"]),
    );
  });
});

describe("/docs", () => {
  it("is a page that loads Swagger UI from this worker only, never from a CDN", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toContain('src="/docs/swagger-ui/swagger-ui-bundle.js"');
    expect(page).toContain('href="/docs/swagger-ui/swagger-ui.css"');
    expect(page).toContain('url: "/openapi.json"');
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});
