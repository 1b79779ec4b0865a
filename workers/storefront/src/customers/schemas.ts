import { z } from "@hono/zod-openapi";
import { CartIdSchema, CustomerIdSchema, ProductIdSchema } from "../../../../domain/events.ts";
import { cleanText, EmailAddressSchema } from "../../../../domain/text.ts";
import { CartSchema } from "../cart/index.ts";

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** Emails are compared trimmed and in lower case (stored that way, unique). */
export const EmailSchema = EmailAddressSchema.transform((email) => email.toLowerCase()).openapi({
  type: "string",
  format: "email",
  example: "ada@example.com",
});

export const SignUpSchema = z
  .strictObject({
    email: EmailSchema,
    password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
    name: cleanText(200, { min: 1 }).optional(),
  })
  .openapi("SignUp");
export type SignUp = z.infer<typeof SignUpSchema>;

export const SignInSchema = z
  .strictObject({
    email: EmailSchema,
    // Any length up to the maximum: a sign-in is checked against the account, not against the rules.
    password: z.string().min(1).max(PASSWORD_MAX),
    cartId: CartIdSchema.optional().describe("A guest cart to merge into the customer's cart"),
  })
  .openapi("SignIn");
export type SignIn = z.infer<typeof SignInSchema>;

export const CustomerSchema = z
  .object({
    customerId: CustomerIdSchema,
    email: z.email(),
    name: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi("Customer");
export type Customer = z.infer<typeof CustomerSchema>;

export const SignedUpSchema = z
  .object({ customer: CustomerSchema, token: z.string().describe("Bearer token (JWT)") })
  .openapi("SignedUp");

export const NotMergedSchema = z.object({
  productId: ProductIdSchema,
  variantId: ProductIdSchema,
  qty: z.number().int().min(1),
});
export type NotMerged = z.infer<typeof NotMergedSchema>;

export const SessionSchema = z
  .object({
    customer: CustomerSchema,
    token: z.string().describe("Bearer token (JWT)"),
    cart: CartSchema,
    notMerged: z
      .array(NotMergedSchema)
      .optional()
      .describe("Quantities of the guest cart that did not fit (99 per line, 100 lines); only after a merge"),
  })
  .openapi("Session");
export type Session = z.infer<typeof SessionSchema>;
