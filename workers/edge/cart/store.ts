import type { Redis } from "@upstash/redis";
import { AppError } from "../../../domain/errors.ts";
import { redisClient, type ServiceBindings } from "../../platform/clients.ts";
import { runScript } from "../../platform/scripts.ts";
import { productKey, variantKey } from "../catalog/index.ts";
import { CART_TTL_MS, MAX_LINE_QTY, MAX_LINES } from "./schemas.ts";
import { ADD_ITEM, CREATE, DELETE, MERGE, READ, RESTORE, SET_QTY, STATUS } from "./scripts.ts";

/** A cart as Redis holds it: quantities by variant, in the order lines were added. */
export interface StoredCart {
  cartId: string;
  lines: Array<{ variantId: string; qty: number }>;
  updatedAtMs: number;
  /** The order an unsettled checkout is placing; the cart cannot change until it settles. */
  pendingOrderId?: string;
  /** The last order placed from this cart. */
  lastOrderId?: string;
  /** The catalog cache entries of its variants, as the script that read the cart found them. */
  catalog?: ReadonlyMap<string, string | null>;
}

type ScriptReply = [number, ...unknown[]];

/**
 * A client's limit on cart changes, counted inside the change's own script (see LIMIT in scripts.ts):
 * `max` changes per `windowMs` for `client`. `counted` hears what is left after each counted change.
 */
export interface ClientLimit {
  /** The counter's key prefix and the client (`rl:cart`, an IP). */
  name: string;
  client: string;
  max: number;
  windowMs: number;
  /** What is left of the limit, after a change was counted. */
  counted?: (remaining: number, max: number) => void;
}

/** The product's currency when the caller read the product itself; '' lets the script read the catalog. */
const FROM_CATALOG = "";

/** What a merge did: the target cart, the guest cart's tombstone, and what did not fit. */
export type Merged =
  | {
      kind: "merged";
      cart: StoredCart;
      guest: StoredCart;
      notMerged: Array<{ variantId: string; qty: number }>;
    }
  | { kind: "missing" | "deleted"; which: "guest" | "target" };

export const cartKey = (cartId: string): string => `cart:${cartId}`;

/** A cart from its hash fields as a flat `[field, value, ...]` list (see scripts.ts for the fields). */
export const decodeCart = (
  cartId: string,
  updatedAtMs: number,
  fields: unknown,
  catalog?: unknown,
): StoredCart => {
  const flat = Array.isArray(fields) ? fields.map(String) : [];
  const cart: StoredCart = { cartId, lines: [], updatedAtMs };
  if (Array.isArray(catalog)) {
    const entries = new Map<string, string | null>();
    for (let i = 0; i + 1 < catalog.length; i += 2) {
      const entry: unknown = catalog[i + 1];
      entries.set(String(catalog[i]), typeof entry === "string" ? entry : null);
    }
    cart.catalog = entries;
  }
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i] as string;
    const value = flat[i + 1] as string;
    if (!field.startsWith("#")) cart.lines.push({ variantId: field, qty: Number(value) });
    else if (field === "#o") cart.pendingOrderId = value;
    else if (field === "#l") cart.lastOrderId = value;
  }
  return cart;
};

/**
 * Redis access for carts. Values are read raw (no JSON guessing) so ids and quantities round-trip
 * exactly; every mutation is one server-side script.
 */
export class CartStore {
  private readonly redis: Redis;

  constructor(env: ServiceBindings) {
    this.redis = redisClient(env, { raw: true });
  }

  private run(script: string, cartId: string | string[], args: Array<string | number>): Promise<ScriptReply> {
    const keys = (Array.isArray(cartId) ? cartId : [cartId]).map(cartKey);
    return runScript<ScriptReply>(this.redis, script, keys, args, "the cart store");
  }

  /**
   * A change: KEYS are the cart, the client's limit counter and (for a line it adds) the catalog
   * entry it checks; the limit's two ARGV come last. Reports what is left of the limit.
   */
  private async change(
    script: string,
    cartId: string,
    args: Array<string | number>,
    limit: ClientLimit | undefined,
    entryKey?: string,
  ): Promise<ScriptReply> {
    const keys = [cartKey(cartId), limit ? `${limit.name}:${limit.client}` : "rl:none"];
    if (entryKey !== undefined) keys.push(entryKey);
    const reply = await runScript<ScriptReply>(
      this.redis,
      script,
      keys,
      [...args, limit?.max ?? 0, limit?.windowMs ?? 0],
      "the cart store",
    );
    const [status, retryMs] = reply;
    if (status === STATUS.rateLimited) {
      const retryAfter = Math.max(1, Math.ceil(Number(retryMs) / 1000));
      limit?.counted?.(0, limit.max);
      throw new AppError("rate_limited", `too many cart changes; retry in ${retryAfter} s`, { retryAfter });
    }
    const remaining = Number(reply[4]);
    if (limit && Number.isInteger(remaining) && remaining >= 0) limit.counted?.(remaining, limit.max);
    return reply;
  }

  private decode(
    cartId: string,
    reply: ScriptReply,
  ): StoredCart | "missing" | "deleted" | "catalog_miss" | "variant_required" {
    const [status, updatedAt, fields, catalog] = reply;
    if (status === STATUS.catalogMiss || status === STATUS.noProduct || status === STATUS.noVariant)
      return "catalog_miss";
    if (status === STATUS.variantRequired) return "variant_required";
    if (status === STATUS.missing) return "missing";
    if (status === STATUS.deleted) return "deleted";
    if (status === STATUS.lineLimit) {
      throw new AppError("quantity_limit", `a cart line holds at most ${MAX_LINE_QTY}`, {
        details: { currentQty: Number(updatedAt) },
      });
    }
    if (status === STATUS.linesLimit)
      throw new AppError("quantity_limit", `a cart holds at most ${MAX_LINES} lines`);
    if (status === STATUS.currency) {
      throw new AppError(
        "invalid_request",
        `this cart is priced in ${String(updatedAt)}; the product is not`,
      );
    }
    if (status === STATUS.frozen) {
      throw new AppError(
        "checkout_in_progress",
        `the cart is being checked out as order ${String(updatedAt)}; it cannot change until that order is placed`,
        { details: { orderId: String(updatedAt) }, retryAfter: 2 },
      );
    }
    return decodeCart(cartId, Number(updatedAt), fields, catalog);
  }

  async create(cartId: string, limit?: ClientLimit): Promise<StoredCart> {
    const cart = this.decode(cartId, await this.change(CREATE, cartId, [CART_TTL_MS], limit));
    if (typeof cart === "string") throw new Error(`cart ${cartId} vanished while being created`);
    return cart;
  }

  async read(cartId: string) {
    const cart = this.decode(cartId, await this.run(READ, cartId, [CART_TTL_MS]));
    if (cart === "catalog_miss" || cart === "variant_required")
      throw new Error(`a cart read answered ${cart}`);
    return cart;
  }

  /**
   * Adds `qty` of a variant: the one named, or a product's one variant. `currency`: the product's,
   * when the caller read the product and chose the variant itself (then `pick` names that variant);
   * omitted, the script checks the variant in the catalog cache and answers "catalog_miss" when the
   * cache does not hold it (absent, held as absent, or not a live variant of the product it holds) and
   * "variant_required" when a product named alone has several: the cart did not change, but the
   * attempt was counted against `limit`, so the caller asks again (with the currency it read) without one.
   */
  async addItem(
    cartId: string,
    pick: { variantId: string } | { productId: string },
    qty: number,
    currency = FROM_CATALOG,
    limit?: ClientLimit,
  ) {
    const [id, mode, entry] =
      "variantId" in pick
        ? [pick.variantId, "v", variantKey(pick.variantId)]
        : [pick.productId, "p", productKey(pick.productId)];
    const args = [CART_TTL_MS, id, qty, MAX_LINE_QTY, MAX_LINES, currency, mode];
    return this.decode(cartId, await this.change(ADD_ITEM, cartId, args, limit, entry));
  }

  /** Sets a line's quantity (0 removes it); `currency` and "catalog_miss" as for `addItem`. */
  async setQty(cartId: string, variantId: string, qty: number, currency = FROM_CATALOG, limit?: ClientLimit) {
    const args = [CART_TTL_MS, variantId, qty, MAX_LINES, currency];
    return this.decode(cartId, await this.change(SET_QTY, cartId, args, limit, variantKey(variantId)));
  }

  async delete(cartId: string, limit?: ClientLimit) {
    const cart = this.decode(cartId, await this.change(DELETE, cartId, [CART_TTL_MS], limit));
    if (cart === "catalog_miss" || cart === "variant_required")
      throw new Error(`a cart delete answered ${cart}`);
    return cart;
  }

  /**
   * Moves the lines of `guestId` into `intoId` and tombstones the guest cart, in one script: summed
   * quantities, the line and lines caps applied, what did not fit listed. A frozen cart on either side
   * is 409 `checkout_in_progress`.
   */
  async merge(guestId: string, intoId: string): Promise<Merged> {
    const reply = await this.run(MERGE, [guestId, intoId], [CART_TTL_MS, MAX_LINE_QTY, MAX_LINES]);
    const [status, first, fields, guestAt, rest] = reply;
    if (status === STATUS.missing || status === STATUS.deleted) {
      return {
        kind: status === STATUS.missing ? "missing" : "deleted",
        which: first === "guest" ? "guest" : "target",
      };
    }
    const cart = this.decode(intoId, [status, first, fields]);
    if (typeof cart === "string") throw new Error(`unexpected merge answer ${cart}`);
    const flat = Array.isArray(rest) ? rest.map(String) : [];
    const notMerged: Array<{ variantId: string; qty: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      notMerged.push({ variantId: flat[i] as string, qty: Number(flat[i + 1]) });
    return {
      kind: "merged",
      cart,
      guest: { cartId: guestId, lines: [], updatedAtMs: Number(guestAt) },
      notMerged,
    };
  }

  /** Puts back a cart Redis lost; does nothing if the cart exists again meanwhile. */
  async restore(cart: StoredCart, remainingMs: number): Promise<void> {
    const args = [remainingMs, cart.updatedAtMs, ...cart.lines.flatMap((line) => [line.variantId, line.qty])];
    await this.run(RESTORE, cart.cartId, args);
  }

  /** Bytes Redis uses for the cart (for capacity planning). */
  memoryUsage(cartId: string): Promise<number | null> {
    return this.redis.eval<[], number | null>(
      "return redis.call('memory', 'usage', KEYS[1], 'samples', '0')",
      [cartKey(cartId)],
      [],
    );
  }
}
