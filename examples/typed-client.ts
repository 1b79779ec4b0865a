import { type ClientRequestOptions, hc } from "hono/client";
import type { AppType } from "../workers/storefront/src/index.ts";

/**
 * A typed client of the storefront API (checkout and orders included, at the same base URL): paths,
 * bodies, headers and answers are checked by TypeScript. Creates a cart, adds a product and checks out.
 */
export const buyOne = async (baseUrl: string, productId: string, options?: ClientRequestOptions) => {
  const api = hc<AppType>(baseUrl, options);

  const created = await api.v1.carts.$post();
  if (created.status !== 201) throw new Error(`create cart: ${created.status}`);
  const { cartId } = await created.json();

  const added = await api.v1.carts[":cartId"].items.$post({ param: { cartId }, json: { productId, qty: 1 } });
  if (added.status !== 200) throw new Error(`add item: ${await added.text()}`);

  const placed = await api.v1.checkout.$post({
    header: { "idempotency-key": crypto.randomUUID() },
    json: {
      cartId,
      email: "ada@example.com",
      paymentToken: "tok_visa",
      shippingAddress: {
        name: "Ada Shopper",
        line1: "1 Main St",
        city: "Springfield",
        postalCode: "12345",
        country: "US",
      },
    },
  });
  if (placed.status !== 202) throw new Error(`checkout: ${placed.status} ${await placed.text()}`);
  const order = await placed.json(); // status "pending"; follow it at /v1/orders/:orderId

  const read = await api.v1.orders[":orderId"].$get({ param: { orderId: order.orderId } });
  return { order, status: read.status === 200 ? (await read.json()).status : null };
};
