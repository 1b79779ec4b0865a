import { z } from "@hono/zod-openapi";
import { ProductIdSchema } from "../../../../domain/events.ts";
import { CurrencySchema } from "../../../../domain/money.ts";
import { PriceListIdSchema } from "../../../../domain/pricing.ts";
import { cleanText } from "../../../../domain/text.ts";

/** The most prices one write may carry. */
export const MAX_PRICES_PER_LIST = 10_000;

export const PriceListParamsSchema = z.object({ priceListId: PriceListIdSchema });

const Moment = z.iso.datetime({ offset: true });

export const PriceListInputSchema = z
  .strictObject({
    name: cleanText(200, { min: 1 }),
    currency: CurrencySchema,
    startsAt: Moment.openapi({ description: "when the list starts (ISO-8601); exact to the second" }),
    endsAt: Moment.nullish().openapi({
      description: "when it ends; without it (or null), it runs until ended",
    }),
    prices: z
      .array(
        z.strictObject({
          variantId: ProductIdSchema.describe(
            "the variant (for a product with one variant: the product's id)",
          ),
          priceCents: z.number().int().nonnegative().max(100_000_000),
        }),
      )
      .max(MAX_PRICES_PER_LIST),
  })
  .superRefine((input, ctx) => {
    if (input.endsAt != null && Date.parse(input.endsAt) <= Date.parse(input.startsAt))
      ctx.addIssue({ code: "custom", path: ["endsAt"], message: "endsAt must be after startsAt" });
    const seen = new Set<string>();
    input.prices.forEach(({ variantId }, i) => {
      if (seen.has(variantId))
        ctx.addIssue({ code: "custom", path: ["prices", i, "variantId"], message: "variant listed twice" });
      seen.add(variantId);
    });
  })
  .openapi("PriceListInput");
export type PriceListInput = z.infer<typeof PriceListInputSchema>;

export const PriceListSchema = z
  .object({
    priceListId: z.string(),
    name: z.string(),
    currency: CurrencySchema,
    startsAt: z.iso.datetime(),
    endsAt: z.iso.datetime().nullable(),
    priceCount: z.number().int().nonnegative(),
    version: z.number().int().positive(),
  })
  .openapi("PriceList");
export type PriceList = z.infer<typeof PriceListSchema>;
