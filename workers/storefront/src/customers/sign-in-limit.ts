import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import { AppError } from "../../../../domain/errors.ts";

/** Blocked identifiers remembered in this isolate, so a flood is refused without a Redis call. */
const ephemeralCache = new Map<string, number>();

export interface SignInLimits {
  /** Failed sign-ins allowed per account (email) per window. */
  perAccount: number;
  /** Failed sign-ins allowed per client IP per window. */
  perClient: number;
  windowSeconds: number;
}

/** One sign-in attempt's hold on both limits: give it back when the password was right. */
export interface SignInAttempt {
  succeeded(): Promise<unknown>;
}

const sha256Hex = async (text: string): Promise<string> => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
};

/**
 * Failed sign-ins, limited per account and per client IP (`@upstash/ratelimit`, fixed windows, so
 * `Retry-After` is exact). Every attempt takes one unit from both limits before the password is
 * checked, so parallel guesses cannot slip past the limit; a successful sign-in gives its units back,
 * so only failures count. The account is keyed by a hash of the email, never the email itself. When
 * Redis cannot be reached the sign-in is refused (503): guesses are never let through unlimited.
 */
export const takeSignInAttempt = async (
  redis: Redis,
  limits: SignInLimits,
  email: string,
  client: string,
): Promise<SignInAttempt> => {
  const window = `${limits.windowSeconds} s` as const;
  const account = new Ratelimit({
    redis,
    limiter: Ratelimit.fixedWindow(limits.perAccount, window),
    prefix: "rl:signin:account",
    ephemeralCache,
    analytics: false,
  });
  const ip = new Ratelimit({
    redis,
    limiter: Ratelimit.fixedWindow(limits.perClient, window),
    prefix: "rl:signin:ip",
    ephemeralCache,
    analytics: false,
  });
  const accountId = await sha256Hex(email);
  const give = (limiter: Ratelimit, id: string) => limiter.limit(id, { rate: -1 });
  let results: Awaited<ReturnType<Ratelimit["limit"]>>[];
  try {
    results = await Promise.all([account.limit(accountId), ip.limit(client)]);
  } catch (error) {
    throw new AppError("dependency_unavailable", "sign-in is unavailable; retry shortly", {
      cause: error,
      retryAfter: 2,
    });
  }
  const [byAccount, byClient] = results as [(typeof results)[0], (typeof results)[0]];
  if (!byAccount.success || !byClient.success) {
    // An attempt refused by one limit was never tried: the other gets its unit back.
    await Promise.allSettled([
      byAccount.success ? give(account, accountId) : undefined,
      byClient.success ? give(ip, client) : undefined,
    ]);
    const reset = Math.max(byAccount.success ? 0 : byAccount.reset, byClient.success ? 0 : byClient.reset);
    const retryAfter = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
    throw new AppError("rate_limited", `too many failed sign-ins; retry in ${retryAfter} s`, { retryAfter });
  }
  return { succeeded: () => Promise.allSettled([give(account, accountId), give(ip, client)]) };
};
