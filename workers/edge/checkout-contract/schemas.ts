import { z } from "@hono/zod-openapi";
import { CartIdSchema, PaymentTokenSchema, ShippingAddressSchema } from "../../../domain/events.ts";
import { cleanText, EmailAddressSchema } from "../../../domain/text.ts";

export const CheckoutBodySchema = z
  .strictObject({
    cartId: CartIdSchema,
    email: EmailAddressSchema.openapi({ type: "string", format: "email", example: "ada@example.com" }),
    paymentToken: PaymentTokenSchema,
    shippingAddress: ShippingAddressSchema,
  })
  .openapi("CheckoutRequest");
export type CheckoutBody = z.infer<typeof CheckoutBodySchema>;

export const IdempotencyKeySchema = cleanText(255, { min: 1, trim: false });
