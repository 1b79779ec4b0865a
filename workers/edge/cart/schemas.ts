import { z } from "@hono/zod-openapi";
import { CartIdSchema, OrderIdSchema, ProductIdSchema } from "../../../domain/events.ts";
import { CurrencySchema } from "../../../domain/money.ts";

export const MAX_LINE_QTY = 99;
export const MAX_LINES = 100;
export const CART_TTL_MS = 7 * 24 * 3600 * 1000;

export const CartParamsSchema = z.object({
  cartId: CartIdSchema,
});

export const CartLineParamsSchema = CartParamsSchema.extend({
  variantId: ProductIdSchema.describe("the line's variant (for a one-variant product: its id)"),
});

const Qty = z.number().int().min(1).max(MAX_LINE_QTY);

/** A variant, or a product that has one variant (its variant's id is the product's). */
export const AddItemSchema = z
  .union([
    z.strictObject({ variantId: ProductIdSchema, qty: Qty }),
    z.strictObject({ productId: ProductIdSchema, qty: Qty }),
  ])
  .openapi("AddCartItem");

export const SetQtySchema = z
  .strictObject({ qty: z.number().int().min(0).max(MAX_LINE_QTY) })
  .openapi("SetCartItemQty");

export const CartLineSchema = z
  .object({
    productId: ProductIdSchema,
    variantId: ProductIdSchema,
    sku: z.string(),
    name: z.string(),
    options: z.record(z.string(), z.string()),
    qty: z.number().int().min(1).max(MAX_LINE_QTY),
    unitPriceCents: z.number().int().nonnegative(),
    compareAtPriceCents: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("The regular unit price, present only while a price list lowers it."),
    lineTotalCents: z.number().int().nonnegative(),
    imageUrl: z.url().nullable(),
    unavailable: z
      .literal(true)
      .optional()
      .describe(
        "Present when the line's variant no longer exists: the line is worth nothing and checkout answers " +
          "409 item_unavailable until it is removed.",
      ),
  })
  .openapi("CartLine");
export type CartLine = z.infer<typeof CartLineSchema>;

export const CartSchema = z
  .object({
    cartId: CartIdSchema,
    currency: CurrencySchema,
    items: z.array(CartLineSchema),
    itemCount: z.number().int().nonnegative(),
    subtotalCents: z.number().int().nonnegative(),
    expiresAt: z.iso.datetime(),
    pendingOrderId: OrderIdSchema.optional().describe(
      "Present while a checkout of this cart is unsettled (its answer was lost, or it answered 503): " +
        "the cart is frozen as this order, every checkout of it with any key places exactly this order, " +
        "and changes answer 409 checkout_in_progress until the order has landed.",
    ),
    lastOrderId: OrderIdSchema.optional().describe("The last order placed from this cart."),
  })
  .openapi("Cart");
export type Cart = z.infer<typeof CartSchema>;
