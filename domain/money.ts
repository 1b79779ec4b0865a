import { z } from "zod";

/** ISO-4217 currency codes the storefront sells in. */
export const CURRENCIES = ["USD", "EUR", "GBP"] as const;
export const CurrencySchema = z.enum(CURRENCIES);
export type Currency = z.infer<typeof CurrencySchema>;

/** Money is integer minor units; never floats. */
export const CentsSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
