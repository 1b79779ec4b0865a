import { z } from "@hono/zod-openapi";
import { CartIdSchema, PaymentTokenSchema, ShippingAddressSchema } from "../../../domain/events.ts";

export const CheckoutBodySchema = z
  .strictObject({
    cartId: CartIdSchema,
    email: z.email().max(254),
    paymentToken: PaymentTokenSchema,
    shippingAddress: ShippingAddressSchema,
  })
  .openapi("CheckoutRequest");
export type CheckoutBody = z.infer<typeof CheckoutBodySchema>;

export const IdempotencyKeySchema = z.string().min(1).max(255);
