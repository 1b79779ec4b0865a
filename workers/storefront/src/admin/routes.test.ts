import { describe, expect, it } from "vitest";
import type { Product } from "../catalog/schemas.ts";
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
  it("sets and reads available stock", async () => {
    const id = await createProduct();
    const before = await call(`/v1/admin/inventory/${id}`, admin("GET"));
    expect(await json(before)).toEqual({ productId: id, available: 0, reserved: 0 });
    const set = await call(`/v1/admin/inventory/${id}`, admin("PUT", { available: 10 }));
    expect(await json(set)).toEqual({ productId: id, available: 10, reserved: 0 });
    expect(await json(await call(`/v1/admin/inventory/${id}`, admin("GET")))).toEqual({
      productId: id,
      available: 10,
      reserved: 0,
    });
  });

  it("answers 404 for unknown products and 400 for bad stock", async () => {
    await expectError(
      await call(`/v1/admin/inventory/${uniqueProductId()}`, admin("PUT", { available: 5 })),
      404,
      "product_not_found",
    );
    await expectError(
      await call(`/v1/admin/inventory/${uniqueProductId()}`, admin("GET")),
      404,
      "product_not_found",
    );
    for (const available of [-1, 1.5, "3", null]) {
      await expectError(
        await call(`/v1/admin/inventory/prod_0000001`, admin("PUT", { available })),
        400,
        "invalid_request",
      );
    }
    const res = await call(`/v1/admin/inventory/prod_0000001`, { ...jsonInit("PUT", { available: 1 }) });
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
        "/v1/carts/{cartId}/items/{productId}",
        "/v1/admin/products/{productId}",
        "/v1/admin/inventory/{productId}",
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Product", "Cart", "Error"]));
    const docs = await call("/docs");
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("openapi.json");
  });
});
