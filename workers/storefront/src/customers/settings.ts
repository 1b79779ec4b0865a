import type { StorefrontSettings } from "../../../platform/settings.ts";

export interface CustomerSettings {
  tokenTtlSeconds: number;
  signIn: { perAccount: number; perClient: number; windowSeconds: number };
}

/** The customer domain's settings, from the worker's (parsed once per isolate). */
export const customerSettings = (s: StorefrontSettings): CustomerSettings => ({
  tokenTtlSeconds: s.CUSTOMER_TOKEN_TTL_SECONDS,
  signIn: {
    perAccount: s.SIGNIN_ACCOUNT_LIMIT,
    perClient: s.SIGNIN_IP_LIMIT,
    windowSeconds: s.SIGNIN_WINDOW_SECONDS,
  },
});
