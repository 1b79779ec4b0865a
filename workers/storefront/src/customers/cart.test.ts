import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cartSnapshots } from "../../../../db/schema/index.ts";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import { type Cart, CartStore, cartKey } from "../cart/index.ts";
import {
  bearer,
  call,
  createProduct,
  expectError,
  json,
  jsonInit,
  signIn,
  signUpCustomer,
} from "../test-support.ts";

type Session = { token: string; cart: Cart; notMerged?: Array<{ productId: string; qty: number }> };

const seeded = (n: number) => `prod_${String(n).padStart(7, "0")}`;

const guestCart = async (lines: Array<[string, number]>): Promise<string> => {
  const res = await call("/v1/carts", { method: "POST" });
  const { cartId } = await json<Cart>(res);
  for (const [productId, qty] of lines) {
    const added = await call(`/v1/carts/${cartId}/items`, jsonInit("POST", { productId, qty }));
    expect(added.status).toBe(200);
  }
  return cartId;
};

const myCart = async (token: string): Promise<Cart> => {
  const res = await call("/v1/customers/me/cart", { headers: bearer(token) });
  expect(res.status).toBe(200);
  return json<Cart>(res);
};

const quantities = (cart: Cart) => Object.fromEntries(cart.items.map((item) => [item.productId, item.qty]));

describe("the customer's cart", () => {
  it("is created on first use and is the same cart on every device, usable with the cart routes", async () => {
    const { email, password, token: deviceA } = await signUpCustomer();
    const first = await myCart(deviceA);
    expect(first).toMatchObject({ items: [], itemCount: 0 });
    expect((await myCart(deviceA)).cartId).toBe(first.cartId);
    const added = await call(
      `/v1/carts/${first.cartId}/items`,
      jsonInit("POST", { productId: seeded(1), qty: 2 }),
    );
    expect(added.status).toBe(200);

    const deviceB = await json<Session>(await signIn({ email, password }));
    expect(deviceB.cart.cartId).toBe(first.cartId);
    expect(quantities(deviceB.cart)).toEqual({ [seeded(1)]: 2 });
    expect(quantities(await myCart(deviceB.token))).toEqual({ [seeded(1)]: 2 });
  });

  it("is the same cart when two devices ask for it at once", async () => {
    const { token } = await signUpCustomer();
    const carts = await Promise.all(Array.from({ length: 4 }, () => myCart(token)));
    expect(new Set(carts.map((cart) => cart.cartId)).size).toBe(1);
  });

  it("is restored from Postgres on sign-in when Redis lost it", async () => {
    const { email, password, token } = await signUpCustomer();
    const { cartId } = await myCart(token);
    // What the cart-persistence consumer keeps: the durable copy of the cart.
    await dbClient(env)
      .insert(cartSnapshots)
      .values({
        cartId,
        items: [
          { productId: seeded(3), qty: 4 },
          { productId: seeded(4), qty: 1 },
        ],
        updatedAt: new Date(),
        eventId: crypto.randomUUID(),
      });
    await redisClient(env).del(cartKey(cartId));
    const session = await json<Session>(await signIn({ email, password }));
    expect(session.cart.cartId).toBe(cartId);
    expect(quantities(session.cart)).toEqual({ [seeded(3)]: 4, [seeded(4)]: 1 });
  });

  it("is replaced by a new empty cart when the old one was deleted", async () => {
    const { token } = await signUpCustomer();
    const { cartId } = await myCart(token);
    expect((await call(`/v1/carts/${cartId}`, { method: "DELETE" })).status).toBe(204);
    const next = await myCart(token);
    expect(next.cartId).not.toBe(cartId);
    expect(next.items).toEqual([]);
    expect((await myCart(token)).cartId).toBe(next.cartId);
  });
});

describe("signing in with a guest cart", () => {
  it("merges it: quantities summed, 99 a line, what did not fit listed, and the guest cart deleted", async () => {
    const { email, password, token } = await signUpCustomer();
    const mine = await myCart(token);
    await call(`/v1/carts/${mine.cartId}/items`, jsonInit("POST", { productId: seeded(2), qty: 3 }));
    await call(`/v1/carts/${mine.cartId}/items`, jsonInit("POST", { productId: seeded(5), qty: 1 }));
    const guest = await guestCart([
      [seeded(1), 5],
      [seeded(2), 98],
    ]);

    const res = await signIn({ email, password, cartId: guest });
    expect(res.status).toBe(200);
    const session = await json<Session>(res);
    expect(session.cart.cartId).toBe(mine.cartId);
    expect(quantities(session.cart)).toEqual({ [seeded(1)]: 5, [seeded(2)]: 99, [seeded(5)]: 1 });
    expect(session.notMerged).toEqual([{ productId: seeded(2), variantId: seeded(2), qty: 2 }]);
    await expectError(await call(`/v1/carts/${guest}`), 404, "cart_not_found");
    expect(quantities(await myCart(session.token))).toEqual(quantities(session.cart));

    // Signing in again with the same (now deleted) guest cart merges nothing.
    const again = await json<Session>(await signIn({ email, password, cartId: guest }));
    expect(quantities(again.cart)).toEqual(quantities(session.cart));
    expect(again.notMerged).toBeUndefined();
  });

  it("applies the 100-lines cap", async () => {
    const { email, password, token } = await signUpCustomer();
    const mine = await myCart(token);
    const store = new CartStore(env);
    for (let i = 1; i <= 99; i++) await store.addItem(mine.cartId, { variantId: seeded(i) }, 1, "USD");
    const guest = await guestCart([
      [seeded(1), 2],
      [seeded(150), 1],
      [seeded(151), 3],
      [seeded(152), 4],
    ]);
    const session = await json<Session>(await signIn({ email, password, cartId: guest }));
    expect(session.cart.items).toHaveLength(100);
    expect(quantities(session.cart)[seeded(1)]).toBe(3);
    expect(quantities(session.cart)[seeded(150)]).toBe(1);
    expect(session.notMerged).toEqual([
      { productId: seeded(151), variantId: seeded(151), qty: 3 },
      { productId: seeded(152), variantId: seeded(152), qty: 4 },
    ]);
  });

  it("does not merge lines priced in another currency", async () => {
    const euro = await createProduct({ currency: "EUR", priceCents: 900 });
    const { email, password, token } = await signUpCustomer();
    const mine = await myCart(token);
    await call(`/v1/carts/${mine.cartId}/items`, jsonInit("POST", { productId: seeded(1), qty: 1 }));
    const guest = await guestCart([[euro, 2]]);
    const session = await json<Session>(await signIn({ email, password, cartId: guest }));
    expect(quantities(session.cart)).toEqual({ [seeded(1)]: 1 });
    expect(session.notMerged).toEqual([{ productId: euro, variantId: euro, qty: 2 }]);
  });

  it("merges both guest carts exactly when two sign-ins race (and the customer had no cart yet)", async () => {
    for (let round = 0; round < 3; round++) {
      const { email, password } = await signUpCustomer();
      const a = await guestCart([
        [seeded(10), 2],
        [seeded(11), 1],
      ]);
      const b = await guestCart([
        [seeded(10), 3],
        [seeded(12), 4],
      ]);
      const [ra, rb] = await Promise.all([
        signIn({ email, password, cartId: a }),
        signIn({ email, password, cartId: b }),
      ]);
      expect([ra.status, rb.status]).toEqual([200, 200]);
      const [sa, sb] = [await json<Session>(ra), await json<Session>(rb)];
      expect(sa.cart.cartId).toBe(sb.cart.cartId);
      const final = await myCart(sa.token);
      expect(final.cartId).toBe(sa.cart.cartId);
      expect(quantities(final)).toEqual({ [seeded(10)]: 5, [seeded(11)]: 1, [seeded(12)]: 4 });
      await expectError(await call(`/v1/carts/${a}`), 404, "cart_not_found");
      await expectError(await call(`/v1/carts/${b}`), 404, "cart_not_found");
    }
  });

  it("merges the same guest cart once when two sign-ins with it race", async () => {
    const { email, password } = await signUpCustomer();
    const guest = await guestCart([[seeded(20), 7]]);
    const results = await Promise.all([
      signIn({ email, password, cartId: guest }),
      signIn({ email, password, cartId: guest }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const { token } = await json<Session>(results[0] as Response);
    expect(quantities(await myCart(token))).toEqual({ [seeded(20)]: 7 });
  });

  it("refuses to merge out of or into a cart being checked out (409), changing nothing", async () => {
    const { email, password, token } = await signUpCustomer();
    const mine = await myCart(token);
    const redis = redisClient(env, { raw: true });
    const guest = await guestCart([[seeded(30), 1]]);
    await redis.hset(cartKey(guest), { "#o": "ord_guest_frozen", "#p": "{}" });
    const res = await signIn({ email, password, cartId: guest });
    const body = await expectError(res, 409, "checkout_in_progress");
    expect(body.error.details).toEqual({ orderId: "ord_guest_frozen" });
    expect(quantities(await json<Cart>(await call(`/v1/carts/${guest}`)))).toEqual({ [seeded(30)]: 1 });

    const other = await guestCart([[seeded(31), 1]]);
    await redis.hset(cartKey(mine.cartId), { "#o": "ord_mine_frozen", "#p": "{}" });
    await expectError(await signIn({ email, password, cartId: other }), 409, "checkout_in_progress");
    expect(quantities(await json<Cart>(await call(`/v1/carts/${other}`)))).toEqual({ [seeded(31)]: 1 });
    expect((await myCart(token)).items).toEqual([]);
  });

  it("restores a guest cart Redis lost before merging it, and signs in when it is gone for good", async () => {
    const { email, password } = await signUpCustomer();
    const lost = await guestCart([[seeded(40), 2]]);
    await dbClient(env)
      .insert(cartSnapshots)
      .values({
        cartId: lost,
        items: [{ productId: seeded(40), qty: 2 }],
        updatedAt: new Date(),
        eventId: crypto.randomUUID(),
      })
      .onConflictDoNothing();
    await redisClient(env).del(cartKey(lost));
    const session = await json<Session>(await signIn({ email, password, cartId: lost }));
    expect(quantities(session.cart)).toEqual({ [seeded(40)]: 2 });

    const never = await signIn({ email, password, cartId: "x".repeat(22) });
    expect(never.status).toBe(200);
  });
});
