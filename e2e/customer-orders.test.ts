import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Order } from "../domain/orders.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";

/** A customer's cart, checkout and order history through the public API and the whole pipeline. */
describe("customer orders end to end", () => {
  const e2e = useE2e();

  const call = (
    path: string,
    init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${e2e.workers.url}${path}`, {
      method: init.method ?? "GET",
      headers: {
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  const signUp = async (): Promise<{ email: string; token: string }> => {
    const email = `e2e.${randomUUID().slice(0, 12)}@example.com`;
    const res = await call("/v1/customers", {
      method: "POST",
      body: { email, password: "e2e customer password" },
    });
    expect(res.status).toBe(201);
    return { email, token: ((await res.json()) as { token: string }).token };
  };

  it("a guest cart merged at sign-in is checked out as the customer's order, listed only for that customer", async () => {
    const productId = uniqueProductId("e2e_cust");
    await e2e.api.createProduct(productId, 10);
    const guestCart = await e2e.api.cartWith(productId, 2);
    const ada = await signUp();
    const bob = await signUp();

    const session = await call("/v1/sessions", {
      method: "POST",
      body: { email: ada.email, password: "e2e customer password", cartId: guestCart },
    });
    expect(session.status).toBe(200);
    const { token, cart } = (await session.json()) as {
      token: string;
      cart: { cartId: string; itemCount: number };
    };
    expect(cart.itemCount).toBe(2);

    const placed = await call("/v1/checkout", {
      method: "POST",
      token,
      headers: { "idempotency-key": randomUUID() },
      body: {
        cartId: cart.cartId,
        email: ada.email,
        paymentToken: "tok_visa",
        shippingAddress: {
          name: "Ada",
          line1: "1 Test Street",
          city: "Testville",
          postalCode: "12345",
          country: "US",
        },
      },
    });
    expect(placed.status).toBe(202);
    const order = (await placed.json()) as Order;

    await expect
      .poll(
        async () => {
          const res = await call(`/v1/orders/${order.orderId}`, { token });
          return res.ok ? ((await res.json()) as Order).status : res.status;
        },
        { timeout: 120_000, interval: 250 },
      )
      .toBe("confirmed");
    await expect
      .poll(
        async () => {
          const res = await call("/v1/customers/me/orders", { token });
          const page = (await res.json()) as { items: Order[] };
          return page.items.map((item) => [item.orderId, item.status]);
        },
        { timeout: 30_000, interval: 250 },
      )
      .toEqual([[order.orderId, "confirmed"]]);

    const bobs = (await (await call("/v1/customers/me/orders", { token: bob.token })).json()) as {
      items: Order[];
    };
    expect(bobs.items).toEqual([]);
    expect((await call(`/v1/orders/${order.orderId}`, { token: bob.token })).status).toBe(404);
    expect((await call(`/v1/orders/${order.orderId}`)).status).toBe(404);
    // The customer's cart settled with the order; the guest cart is gone.
    const after = (await (await call("/v1/customers/me/cart", { token })).json()) as {
      cartId: string;
      itemCount: number;
    };
    expect(after).toMatchObject({ cartId: cart.cartId, itemCount: 0 });
    expect((await call(`/v1/carts/${guestCart}`)).status).toBe(404);
  });
});
