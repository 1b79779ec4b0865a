import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CartStore } from "../../edge/cart/index.ts";
import { StockCounter } from "../../edge/stock/index.ts";
import { dbClient, redisClient } from "../../platform/clients.ts";
import {
  admin,
  call,
  createProduct,
  expectError,
  jsonInit,
  productInput,
  TEST_PASSWORD,
  uniqueEmail,
  uniqueProductId,
} from "./test-support.ts";

/**
 * Junk in any string a client sends that reaches Postgres, an email or a log: a control character or
 * a lone surrogate is a 400 `invalid_request` naming the field, and nothing is stored, held or
 * published (the stores are checked after each refusal).
 */
const JUNK = [
  ["a NUL", "x\u0000y"],
  ["a control character", "x\u001By"],
  ["a lone surrogate", "x\uD800y"],
] as const;

const address = {
  name: "Ada Shopper",
  line1: "1 Test Street",
  city: "Testville",
  postalCode: "12345",
  country: "US",
};

const field = async (res: Response): Promise<string> => {
  const body = await expectError(res, 400, "invalid_request");
  const issues = body.error.details as Array<{ path: Array<string | number> }>;
  return issues.map((issue) => issue.path.join(".")).join(",");
};

describe("junk in client text", () => {
  describe.each(JUNK)("with %s", (_what, junk) => {
    it("refuses every checkout field: the cart stays as it was, nothing is held or published", async () => {
      const productId = await createProduct({ priceCents: 1_000 });
      const store = new CartStore(env);
      const counter = new StockCounter(redisClient(env, { raw: true }), () => dbClient(env));
      await call(`/v1/admin/inventory/${productId}`, admin("PUT", { available: 10 }));
      const patches: Array<[string, Record<string, unknown>]> = [
        ["email", { email: `a${junk}@example.com` }],
        ["shippingAddress.name", { shippingAddress: { ...address, name: junk } }],
        ["shippingAddress.line1", { shippingAddress: { ...address, line1: junk } }],
        ["shippingAddress.line2", { shippingAddress: { ...address, line2: junk } }],
        ["shippingAddress.city", { shippingAddress: { ...address, city: junk } }],
        ["shippingAddress.postalCode", { shippingAddress: { ...address, postalCode: junk } }],
      ];
      for (const [name, patch] of patches) {
        const cart = await (await call("/v1/carts", { method: "POST" })).json<{ cartId: string }>();
        await call(`/v1/carts/${cart.cartId}/items`, jsonInit("POST", { productId, qty: 2 }));
        const body = {
          cartId: cart.cartId,
          email: "ada@example.com",
          paymentToken: "tok_visa",
          shippingAddress: address,
          ...patch,
        };
        const res = await call(
          "/v1/checkout",
          jsonInit("POST", body, { "idempotency-key": crypto.randomUUID() }),
        );
        expect(await field(res)).toContain(name);
        const stored = await store.read(cart.cartId);
        expect(stored).toMatchObject({ lines: [{ variantId: productId, qty: 2 }] });
        expect(stored).not.toHaveProperty("pendingOrderId");
        expect((await counter.available([productId])).get(productId)).toBe(10);
      }
    });

    it("refuses the account fields: no account is made", async () => {
      const email = uniqueEmail("junk");
      expect(
        await field(
          await call("/v1/customers", jsonInit("POST", { email, password: TEST_PASSWORD, name: junk })),
        ),
      ).toBe("name");
      expect(
        await field(
          await call(
            "/v1/customers",
            jsonInit("POST", { email: `a${junk}b@example.com`, password: TEST_PASSWORD }),
          ),
        ),
      ).toBe("email");
      await expectError(
        await call("/v1/sessions", jsonInit("POST", { email, password: TEST_PASSWORD })),
        401,
        "invalid_credentials",
      );
    });

    it("refuses the product fields: the product is not written", async () => {
      for (const name of ["sku", "name", "description"] as const) {
        const id = uniqueProductId("junk");
        const res = await call(`/v1/admin/products/${id}`, admin("PUT", productInput({ [name]: junk })));
        expect(await field(res)).toBe(name);
        await expectError(await call(`/v1/products/${id}`), 404, "product_not_found");
      }
    });
  });

  // A URL carries no lone surrogate: its percent-encoding (`%ED%A0%80`) is not UTF-8 and stays as
  // written, plain text. Control characters do arrive decoded.
  it.each(["%00", "%1B", "%7F"])("refuses a search holding %s", async (encoded) => {
    expect(await field(await call(`/v1/products?q=x${encoded}y`))).toBe("q");
  });
});
