import { AppError } from "../../../../domain/errors.ts";
import { announce, newCartId, readCart, type StoredCart } from "../cart/index.ts";
import type { CustomersDeps } from "./deps.ts";

const isCartNotFound = (error: unknown) => error instanceof AppError && error.code === "cart_not_found";

/**
 * The customer's one cart, the same from every device. Its id is kept on the customer's row in
 * Postgres. A cart Redis lost is restored from its durable copy (cart_snapshots); a cart that is gone
 * for good (never made, expired, deleted) is replaced by a new empty one. The new cart exists in Redis
 * before the row points at it, and the row changes by compare-and-set, so of two devices asking at
 * once both end up with the same cart.
 */
export const customerCart = async (
  deps: CustomersDeps,
  customerId: string,
  knownCartId: string | null,
): Promise<StoredCart> => {
  let current = knownCartId;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (current) {
      try {
        return await readCart(deps.cart, current);
      } catch (error) {
        if (!isCartNotFound(error)) throw error;
      }
    }
    const fresh = await deps.cart.store.create(newCartId());
    if (await deps.accounts.replaceCart(customerId, current, fresh.cartId)) {
      announce(deps.cart, fresh);
      return fresh;
    }
    // Another request gave the customer a cart meanwhile; ours stays empty and expires unused.
    const row = await deps.accounts.byId(customerId);
    if (!row) throw new AppError("unauthorized", "the account no longer exists");
    current = row.cartId;
  }
  throw new AppError("dependency_unavailable", "the customer's cart kept changing; retry", { retryAfter: 1 });
};
