import { z } from "zod";
import { CentsSchema, CurrencySchema } from "./money.ts";
import { PriceListIdSchema, totalLines } from "./pricing.ts";
import { cleanText } from "./text.ts";

/** A unique id consumers deduplicate on: 1 to 128 printable ASCII characters (a UUID, `order-placed:<id>`). */
export const EventIdSchema = z.string().regex(/^[!-~]{1,128}$/, "1 to 128 printable ASCII characters");

/** Fields every event carries. */
const EventBase = z.object({ eventId: EventIdSchema });

export const ProductIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "product id: 1-64 of A-Z a-z 0-9 _ -");
export const CartIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, "cart id: 22-64 URL-safe characters");
export const OrderIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
export const CustomerIdSchema = z.string().regex(/^cus_[A-Za-z0-9_-]{22,60}$/, "customer id");
export const PaymentTokenSchema = z
  .string()
  .regex(/^tok_[A-Za-z0-9_]{1,64}$/, "payment token: tok_ followed by 1-64 of A-Z a-z 0-9 _");

export const ShippingAddressSchema = z.strictObject({
  name: cleanText(200, { min: 1 }),
  line1: cleanText(200, { min: 1 }),
  line2: cleanText(200).optional(),
  city: cleanText(100, { min: 1 }),
  postalCode: cleanText(20, { min: 1 }),
  country: z.string().regex(/^[A-Z]{2}$/, "ISO-3166 alpha-2 country code"),
});
export type ShippingAddress = z.infer<typeof ShippingAddressSchema>;

export const CartUpdatedSchema = EventBase.extend({
  cartId: CartIdSchema,
  /** A line per variant; `variantId` is absent from events written before products had variants (it is the product's). */
  items: z
    .array(
      z.object({
        productId: ProductIdSchema,
        variantId: ProductIdSchema.optional(),
        qty: z.number().int().min(1).max(99),
      }),
    )
    .max(100),
  updatedAt: z.iso.datetime(),
  /** Set when the cart was deleted; its durable copy then becomes a tombstone. */
  deleted: z.boolean().optional(),
});
export type CartUpdated = z.infer<typeof CartUpdatedSchema>;

/**
 * A line of an order: the variant sold (for a one-variant product its id is the product's) with its
 * option values. Events written before products had variants carry neither; they read as the
 * product's one variant.
 */
export const OrderLineSchema = z.object({
  productId: ProductIdSchema,
  variantId: ProductIdSchema.optional(),
  options: z.record(z.string(), z.string()).optional(),
  sku: z.string().min(1),
  name: z.string().min(1),
  qty: z.number().int().min(1).max(99),
  unitPriceCents: CentsSchema,
  /** The regular unit price, when a price list lowered it to `unitPriceCents`. */
  compareAtPriceCents: CentsSchema.optional(),
  /** The price list that set `unitPriceCents`, if one did. */
  priceListId: PriceListIdSchema.optional(),
});
export type OrderLine = z.infer<typeof OrderLineSchema>;

/** The variant an order line sold. */
export const lineVariantId = (line: Pick<OrderLine, "productId" | "variantId">): string =>
  line.variantId ?? line.productId;

export const OrderPlacedSchema = EventBase.extend({
  orderId: OrderIdSchema,
  cartId: CartIdSchema,
  email: z.email(),
  items: z.array(OrderLineSchema).min(1).max(100),
  subtotalCents: CentsSchema,
  currency: CurrencySchema,
  paymentToken: PaymentTokenSchema,
  shippingAddress: ShippingAddressSchema,
  placedAt: z.iso.datetime(),
  /** The customer whose token placed the order; absent for a guest order. */
  customerId: CustomerIdSchema.optional(),
}).refine((event) => totalLines(event.items).subtotalCents === event.subtotalCents, {
  message: "subtotalCents is not the total of the lines",
  path: ["subtotalCents"],
});
export type OrderPlaced = z.infer<typeof OrderPlacedSchema>;

export const CatalogUpdatedSchema = EventBase.extend({
  productId: ProductIdSchema,
  updatedAt: z.iso.datetime(),
});
export type CatalogUpdated = z.infer<typeof CatalogUpdatedSchema>;
