import type { Redis } from "@upstash/redis";
import { AppError } from "../../../../domain/errors.ts";

const LOCK_MS = 30_000;
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/** One checkout at a time per cart: a short Redis lock, released only by its holder. */
export const lockCart = async (redis: Redis, cartId: string): Promise<(() => Promise<void>) | null> => {
  const key = `lock:checkout:${cartId}`;
  const token = crypto.randomUUID();
  let acquired: string | null;
  try {
    acquired = await redis.set(key, token, { nx: true, px: LOCK_MS });
  } catch (error) {
    throw new AppError("dependency_unavailable", "the cart lock could not be taken", {
      cause: error,
      retryAfter: 2,
    });
  }
  if (!acquired) return null;
  return async () => {
    await redis.eval(RELEASE, [key], [token]);
  };
};
