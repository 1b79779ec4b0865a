import { z } from "zod";
import { DEFAULT_TOKEN_TTL_SECONDS } from "../../../edge/customer-auth/index.ts";

const count = (fallback: number) => z.coerce.number().int().positive().catch(fallback);

/**
 * Customer settings from the worker's bindings, each with its production default when unset or not a
 * positive integer (see wrangler.toml; local runs lift the sign-in limits).
 */
export const CustomerSettingsSchema = z.object({
  CUSTOMER_TOKEN_TTL_SECONDS: count(DEFAULT_TOKEN_TTL_SECONDS),
  SIGNIN_ACCOUNT_LIMIT: count(10),
  SIGNIN_IP_LIMIT: count(100),
  SIGNIN_WINDOW_SECONDS: count(900),
});

export interface CustomerSettings {
  tokenTtlSeconds: number;
  signIn: { perAccount: number; perClient: number; windowSeconds: number };
}

export const customerSettings = (
  env: Partial<Record<keyof z.input<typeof CustomerSettingsSchema>, string>>,
): CustomerSettings => {
  const parsed = CustomerSettingsSchema.parse({
    CUSTOMER_TOKEN_TTL_SECONDS: env.CUSTOMER_TOKEN_TTL_SECONDS,
    SIGNIN_ACCOUNT_LIMIT: env.SIGNIN_ACCOUNT_LIMIT,
    SIGNIN_IP_LIMIT: env.SIGNIN_IP_LIMIT,
    SIGNIN_WINDOW_SECONDS: env.SIGNIN_WINDOW_SECONDS,
  });
  return {
    tokenTtlSeconds: parsed.CUSTOMER_TOKEN_TTL_SECONDS,
    signIn: {
      perAccount: parsed.SIGNIN_ACCOUNT_LIMIT,
      perClient: parsed.SIGNIN_IP_LIMIT,
      windowSeconds: parsed.SIGNIN_WINDOW_SECONDS,
    },
  };
};
