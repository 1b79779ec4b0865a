import { z } from "@hono/zod-openapi";
import { ProductIdSchema } from "../../../../domain/events.ts";

/** Upper bound of `available`, so no sum of stock writes overflows the integer column. */
export const MAX_AVAILABLE = 1_000_000_000;

export const StockLevelSchema = z
  .object({
    variantId: ProductIdSchema,
    productId: ProductIdSchema,
    available: z.number().int().nonnegative().openapi({ description: "units that can still be sold" }),
    reserved: z.number().int().nonnegative().openapi({ description: "units held by pending orders" }),
    version: z.number().int().nonnegative().openapi({
      description:
        "assigned by Postgres and raised by every change of this stock (admin writes, reservations, releases); 0 before the first write. Send it back as `If-Match` to write only if nothing changed since.",
    }),
  })
  .openapi("StockLevel");
export type StockLevel = z.infer<typeof StockLevelSchema>;

const SetAvailableSchema = z
  .strictObject({
    available: z.number().int().min(0).max(MAX_AVAILABLE).openapi({
      description:
        "the new sellable stock; units held by pending orders stay reserved on top of it, so after this write at most this many more units can be sold",
    }),
  })
  .openapi("StockSet");

const AdjustAvailableSchema = z
  .strictObject({
    delta: z
      .number()
      .int()
      .min(-MAX_AVAILABLE)
      .max(MAX_AVAILABLE)
      .refine((delta) => delta !== 0, "delta must not be 0")
      .openapi({
        description:
          "units to add to (positive) or take from (negative) the sellable stock, applied to the value current when the write commits. A delta that would take `available` below zero changes nothing and is answered 409 `insufficient_stock`.",
      }),
  })
  .openapi("StockAdjust");

/** Exactly one of `available` (set) or `delta` (adjust). */
export const StockInputSchema = z
  .union([SetAvailableSchema, AdjustAvailableSchema])
  .openapi("StockInput", { description: 'either {"available"} or {"delta"}, not both' });
export type StockInput = z.infer<typeof StockInputSchema>;

/**
 * `If-Match: <version>` (bare or quoted, as in the `ETag` of a stock answer): the write applies only
 * while the stock's version is still this one.
 */
export const StockWriteHeadersSchema = z.object({
  "if-match": z
    .string()
    .regex(/^\s*(?:"\d{1,15}"|\d{1,15})\s*$/, 'a stock version, e.g. 7 or "7"')
    .transform((value) => Number(value.replace(/[\s"]/g, "")))
    .optional()
    .openapi({ description: "the `version` (or `ETag`) the write is conditional on", example: '"7"' }),
});

/** The strong entity tag of a stock level: its version. */
export const stockEtag = (stock: StockLevel): string => `"${stock.version}"`;
