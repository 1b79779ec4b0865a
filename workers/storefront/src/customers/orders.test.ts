import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orderLines, orders } from "../../../../db/schema/index.ts";
import type { Order } from "../../../../domain/orders.ts";
import { dbClient } from "../../../platform/clients.ts";
import { bearer, call, expectError, json, signUpCustomer } from "../test-support.ts";

interface Page {
  items: Order[];
  nextCursor: string | null;
}

/** Orders as the orders consumer records them, `count` of them, some sharing one created_at. */
const insertOrders = async (customerId: string | null, count: number, tag: string): Promise<string[]> => {
  const db = dbClient(env);
  const ids = Array.from(
    { length: count },
    (_, i) => `ord_${tag}_${String(i).padStart(3, "0")}_${crypto.randomUUID().slice(0, 6)}`,
  );
  const base = Date.now() - 3_600_000;
  await db.insert(orders).values(
    ids.map((orderId, i) => ({
      orderId,
      cartId: "cart_for_history_test_00",
      email: "history@example.com",
      status: "pending" as const,
      subtotalCents: 1000 + i,
      currency: "USD" as const,
      shippingAddress: { name: "H", line1: "1", city: "C", postalCode: "P", country: "US" },
      placedAt: new Date(base + i * 1000),
      // Groups of three share a created_at; the groups are a microsecond apart, all within one
      // millisecond, so only a cursor exact to the microsecond (and order_id for ties) pages right.
      createdAt: sql`timestamptz '2026-11-30 08:00:00.000100+00' + ${Math.floor(i / 3)} * interval '1 microsecond'`,
      customerId,
    })),
  );
  await db.insert(orderLines).values(
    ids.map((orderId, i) => ({
      orderId,
      productId: "prod_0000001",
      variantId: "prod_0000001",
      sku: "SKU-0000001",
      name: "Mug",
      qty: 1,
      unitPriceCents: 1000 + i,
      lineTotalCents: 1000 + i,
    })),
  );
  return ids;
};

const pages = async (token: string, limit: number): Promise<Order[][]> => {
  const all: Order[][] = [];
  let cursor: string | null = null;
  do {
    const query: string = `/v1/customers/me/orders?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`;
    const res = await call(query, { headers: bearer(token) });
    expect(res.status).toBe(200);
    const page: Page = await json<Page>(res);
    all.push(page.items);
    cursor = page.nextCursor;
  } while (cursor && all.length < 100);
  return all;
};

describe("GET /v1/customers/me/orders", () => {
  it("lists only the customer's own orders, newest first, each exactly once across pages", async () => {
    const ada = await signUpCustomer();
    const bob = await signUpCustomer();
    const adaOrders = await insertOrders(ada.customer.customerId, 23, "ada");
    const bobOrders = await insertOrders(bob.customer.customerId, 5, "bob");
    await insertOrders(null, 3, "guest");

    const adaPages = await pages(ada.token, 4);
    expect(adaPages).toHaveLength(6);
    expect(adaPages.slice(0, 5).every((page) => page.length === 4)).toBe(true);
    const seen = adaPages.flat().map((order) => order.orderId);
    expect(seen).toHaveLength(23);
    expect(new Set(seen)).toEqual(new Set(adaOrders));
    // Newest first: created_at descending, then order id descending.
    const expected = adaOrders
      .map((id, i) => ({ id, group: Math.floor(i / 3) }))
      .sort((a, b) => b.group - a.group || (a.id < b.id ? 1 : -1))
      .map((x) => x.id);
    expect(seen).toEqual(expected);
    expect(adaPages.flat()[0]).toMatchObject({
      status: "pending",
      email: "history@example.com",
      items: [{ productId: "prod_0000001", qty: 1 }],
    });

    const bobSeen = (await pages(bob.token, 100)).flat().map((order) => order.orderId);
    expect(new Set(bobSeen)).toEqual(new Set(bobOrders));
  });

  it("answers an empty page to a customer with no orders, and defaults to 20", async () => {
    const { token, customer } = await signUpCustomer();
    const empty = await json<Page>(await call("/v1/customers/me/orders", { headers: bearer(token) }));
    expect(empty).toEqual({ items: [], nextCursor: null });
    await insertOrders(customer.customerId, 21, "many");
    const first = await json<Page>(await call("/v1/customers/me/orders", { headers: bearer(token) }));
    expect(first.items).toHaveLength(20);
    expect(first.nextCursor).not.toBeNull();
  });

  it.each([
    ["limit=0"],
    ["limit=101"],
    ["limit=abc"],
    ["cursor=not-a-cursor"],
    [`cursor=${btoa(JSON.stringify({ t: "yesterday", id: "ord_1" }))}`],
  ])("answers 400 to %s", async (query) => {
    const { token } = await signUpCustomer();
    await expectError(
      await call(`/v1/customers/me/orders?${query}`, { headers: bearer(token) }),
      400,
      "invalid_request",
    );
  });
});
