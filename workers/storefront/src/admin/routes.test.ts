import { describe, expect, it } from "vitest";
import type { Product } from "../../../edge/catalog/index.ts";
import {
  admin,
  call,
  createProduct,
  expectError,
  json,
  jsonInit,
  productInput,
  uniqueProductId,
} from "../test-support.ts";

describe("admin auth", () => {
  it.each([
    ["no token", {}],
    ["a wrong token", { authorization: "Bearer not-the-token" }],
    ["a malformed header", { authorization: "Basic abc" }],
  ])("answers 401 unauthorized with %s", async (_name, headers) => {
    const res = await call(`/v1/admin/inventory/prod_0000001`, { headers });
    await expectError(res, 401, "unauthorized");
  });
});

describe("PUT /v1/admin/products/:productId", () => {
  it("creates, then replaces a product", async () => {
    const id = uniqueProductId();
    const created = await call(
      `/v1/admin/products/${id}`,
      admin("PUT", productInput({ category: "brand-new-category" })),
    );
    expect(created.status).toBe(200);
    expect(await json<Product>(created)).toMatchObject({
      id,
      category: "brand-new-category",
      priceCents: 12_500,
    });
    const replaced = await call(
      `/v1/admin/products/${id}`,
      admin("PUT", productInput({ name: "Renamed", priceCents: 99 })),
    );
    expect(await json<Product>(replaced)).toMatchObject({ id, name: "Renamed", priceCents: 99 });
    const categories = await json<{ items: Array<{ slug: string; name: string }> }>(
      await call("/v1/categories"),
    );
    expect(categories.items).toContainEqual(
      expect.objectContaining({ slug: "brand-new-category", name: "Brand New Category" }),
    );
  });

  it.each([
    ["negative price", { priceCents: -1 }],
    ["fractional price", { priceCents: 10.5 }],
    ["unknown currency", { currency: "XYZ" }],
    ["unknown field", { color: "red" }],
    ["empty name", { name: "" }],
    ["bad category", { category: "Has Spaces" }],
    ["bad media key", { imageKeys: ["../../secret"] }],
  ])("answers 400 to %s", async (_name, patch) => {
    const res = await call(`/v1/admin/products/${uniqueProductId()}`, admin("PUT", productInput(patch)));
    await expectError(res, 400, "invalid_request");
  });

  it("answers 400 when the sku belongs to another product, and writes nothing", async () => {
    const sku = `SKU-DUP-${Date.now()}`;
    await createProduct({ sku });
    const other = uniqueProductId();
    await expectError(
      await call(`/v1/admin/products/${other}`, admin("PUT", productInput({ sku }))),
      400,
      "invalid_request",
    );
    await expectError(await call(`/v1/products/${other}`), 404, "product_not_found");
  });
});

describe("inventory", () => {
  const stockUrl = (id: string) => `/v1/admin/inventory/${id}`;
  const withIfMatch = (init: RequestInit, version: string): RequestInit => ({
    ...init,
    headers: { ...(init.headers as Record<string, string>), "if-match": version },
  });

  it("sets, adjusts and reads stock, each write with a new version in the ETag", async () => {
    const id = await createProduct();
    const before = await call(stockUrl(id), admin("GET"));
    expect(await json(before)).toEqual({
      variantId: id,
      productId: id,
      available: 0,
      reserved: 0,
      version: 0,
    });
    expect(before.headers.get("ETag")).toBe('"0"');
    const set = await call(stockUrl(id), admin("PUT", { available: 10 }));
    expect({ status: set.status, etag: set.headers.get("ETag") }).toEqual({ status: 200, etag: '"1"' });
    expect(await json(set)).toEqual({ variantId: id, productId: id, available: 10, reserved: 0, version: 1 });
    const added = await call(stockUrl(id), admin("PUT", { delta: 5 }));
    expect(await json(added)).toEqual({
      variantId: id,
      productId: id,
      available: 15,
      reserved: 0,
      version: 2,
    });
    const taken = await call(stockUrl(id), admin("PUT", { delta: -15 }));
    expect(await json(taken)).toEqual({
      variantId: id,
      productId: id,
      available: 0,
      reserved: 0,
      version: 3,
    });
    const read = await call(stockUrl(id), admin("GET"));
    expect({ etag: read.headers.get("ETag"), body: await json(read) }).toEqual({
      etag: '"3"',
      body: { variantId: id, productId: id, available: 0, reserved: 0, version: 3 },
    });
  });

  it("answers 409 insufficient_stock to a delta below zero and changes nothing", async () => {
    const id = await createProduct();
    const never = await expectError(
      await call(stockUrl(id), admin("PUT", { delta: -1 })),
      409,
      "insufficient_stock",
    );
    expect(never.error.details).toMatchObject({ available: 0, version: 0, delta: -1 });
    await call(stockUrl(id), admin("PUT", { available: 3 }));
    const body = await expectError(
      await call(stockUrl(id), admin("PUT", { delta: -4 })),
      409,
      "insufficient_stock",
    );
    expect(body.error.details).toMatchObject({ available: 3, version: 1, delta: -4 });
    expect(await json(await call(stockUrl(id), admin("GET")))).toMatchObject({ available: 3, version: 1 });
  });

  it("writes with If-Match only while the version is current, else 412 with the current ETag", async () => {
    const id = await createProduct();
    const first = await call(stockUrl(id), withIfMatch(admin("PUT", { available: 7 }), "0"));
    expect(await json(first)).toMatchObject({ available: 7, version: 1 });
    const quoted = await call(stockUrl(id), withIfMatch(admin("PUT", { delta: 1 }), '"1"'));
    expect(await json(quoted)).toMatchObject({ available: 8, version: 2 });
    const stale = await call(stockUrl(id), withIfMatch(admin("PUT", { available: 100 }), '"1"'));
    expect(stale.headers.get("ETag")).toBe('"2"');
    const body = await expectError(stale, 412, "precondition_failed");
    expect(body.error.details).toMatchObject({ available: 8, version: 2 });
    await expectError(
      await call(stockUrl(await createProduct()), withIfMatch(admin("PUT", { available: 1 }), "4")),
      412,
      "precondition_failed",
    );
    expect(await json(await call(stockUrl(id), admin("GET")))).toMatchObject({ available: 8, version: 2 });
  });

  it("lets exactly one of many writers holding the same version win", async () => {
    const id = await createProduct();
    await call(stockUrl(id), admin("PUT", { available: 1 }));
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(stockUrl(id), withIfMatch(admin("PUT", { available: 100 + i }), '"1"')),
      ),
    );
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([200, ...Array.from({ length: 11 }, () => 412)]);
    const winner = answers.find((res) => res.status === 200) as Response;
    const won = await json<{ available: number }>(winner);
    expect(await json(await call(stockUrl(id), admin("GET")))).toMatchObject({
      available: won.available,
      version: 2,
    });
  });

  it("answers 404 for unknown products and 400 for bad stock or If-Match", async () => {
    await expectError(
      await call(stockUrl(uniqueProductId()), admin("PUT", { available: 5 })),
      404,
      "product_not_found",
    );
    await expectError(await call(stockUrl(uniqueProductId()), admin("GET")), 404, "product_not_found");
    for (const body of [
      { available: -1 },
      { available: 1.5 },
      { available: "3" },
      { available: null },
      { available: 1_000_000_001 },
      { delta: 0 },
      { delta: 0.5 },
      { available: 1, delta: 1 },
      {},
    ]) {
      await expectError(await call(stockUrl("prod_0000001"), admin("PUT", body)), 400, "invalid_request");
    }
    for (const ifMatch of ["*", 'W/"1"', "one", "-1"]) {
      await expectError(
        await call(stockUrl("prod_0000001"), withIfMatch(admin("PUT", { delta: 1 }), ifMatch)),
        400,
        "invalid_request",
      );
    }
    const res = await call(stockUrl("prod_0000001"), { ...jsonInit("PUT", { available: 1 }) });
    await expectError(res, 401, "unauthorized");
  });
});

describe("OpenAPI document", () => {
  it("documents every route from the same schemas", async () => {
    const doc = await json<{
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    }>(await call("/openapi.json"));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/products",
        "/v1/products/{productId}",
        "/v1/categories",
        "/v1/carts",
        "/v1/carts/{cartId}",
        "/v1/carts/{cartId}/items",
        "/v1/carts/{cartId}/items/{variantId}",
        "/v1/admin/products/{productId}",
        "/v1/admin/inventory/{variantId}",
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Product", "Cart", "Error"]));
    const putStock = (
      doc.paths["/v1/admin/inventory/{variantId}"] as {
        put: { parameters: Array<{ name: string; in: string }>; responses: Record<string, unknown> };
      }
    ).put;
    expect(Object.keys(putStock.responses)).toEqual(expect.arrayContaining(["200", "409", "412"]));
    expect(putStock.parameters).toContainEqual(expect.objectContaining({ name: "if-match", in: "header" }));
    const docs = await call("/docs");
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("openapi.json");
  });
});
