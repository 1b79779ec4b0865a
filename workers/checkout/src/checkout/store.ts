import type { Redis } from "@upstash/redis";
import { lineVariantId, type OrderPlaced, OrderPlacedSchema } from "../../../../domain/events.ts";
import {
  ACKED_ORDER_TTL_SECONDS,
  ACKED_ORDERS_KEY,
  ackedOrderKey,
  ORDER_STATUS_TTL_SECONDS,
  type Order,
  type OrderRecord,
  OrderSchema,
  orderStatusKey,
} from "../../../../domain/orders.ts";
import { CART_TTL_MS, cartKey, decodeCart, type StoredCart } from "../../../edge/cart/index.ts";
import { runScript } from "../../../platform/scripts.ts";
import { IDEMPOTENCY_TTL_MS, idempotencyRecordKey } from "./idempotency.ts";
import { BEGIN, COMPLETE, FREEZE, RELEASE } from "./scripts.ts";

/**
 * How long a running checkout holds its key and its cart: past it, a retry takes over (a checkout
 * whose isolate died must not block the cart for good). Longer than any checkout can run within its
 * deadlines; a holder that outlives it is fenced (its freeze is refused, its finish ignored).
 */
export const CHECKOUT_LEASE_MS = 15_000;

export type Begun =
  | { kind: "mismatch" | "running" | "missing" | "deleted" }
  | { kind: "busy"; pendingOrderId?: string }
  | { kind: "replay"; order: Order }
  | { kind: "resume"; event: OrderPlaced }
  | { kind: "fresh"; version: string; cart: StoredCart };

export interface ShortItem {
  variantId: string;
  requested: number;
  available: number;
}

export type Freeze =
  | { kind: "frozen" | "changed" | "fenced" }
  | { kind: "unknown"; variantIds: string[] }
  | { kind: "short"; items: ShortItem[] };

/** One checkout's Redis steps, each one script; `owner` fences this request's writes. */
export class CheckoutStore {
  private constructor(
    private readonly redis: Redis,
    private readonly recordKey: string,
    private readonly cartId: string,
    readonly owner: string,
  ) {}

  static async open(redis: Redis, idempotencyKey: string, cartId: string): Promise<CheckoutStore> {
    return new CheckoutStore(redis, await idempotencyRecordKey(idempotencyKey), cartId, crypto.randomUUID());
  }

  private run<T>(script: string, keys: string[], args: Array<string | number>): Promise<T> {
    return runScript<T>(this.redis, script, keys, args, "checkout records");
  }

  /** Takes the key and the cart's lease, or says why not; a frozen cart answers its order. */
  async begin(fingerprint: string): Promise<Begun> {
    const reply = await this.run<[string, ...unknown[]]>(
      BEGIN,
      [this.recordKey, cartKey(this.cartId)],
      [fingerprint, this.owner, CHECKOUT_LEASE_MS, IDEMPOTENCY_TTL_MS],
    );
    const [kind, first, second, third] = reply;
    switch (kind) {
      case "mismatch":
      case "running":
      case "missing":
      case "deleted":
        return { kind };
      case "busy":
        return first ? { kind, pendingOrderId: String(first) } : { kind };
      case "replay":
      case "landed":
        return { kind: "replay", order: OrderSchema.parse(JSON.parse(String(first))) };
      case "resume":
        return { kind, event: OrderPlacedSchema.parse(JSON.parse(String(first))) };
      case "fresh":
        return {
          kind,
          version: String(first),
          cart: decodeCart(this.cartId, Number(first), second, third),
        };
      default:
        throw new Error(`unexpected checkout answer ${String(kind)}`);
    }
  }

  /**
   * Holds the order's units for `holdMs` and freezes the cart as `event`, all or nothing, unless the
   * cart changed since `version` was read, the lease was lost, a counter is not loaded (or stale,
   * unless `useStale`: Postgres cannot be reached, the last known level stands), or stock is short.
   */
  async freeze(version: string, event: OrderPlaced, holdMs: number, useStale = false): Promise<Freeze> {
    const units = new Map<string, number>();
    for (const item of event.items) {
      const variantId = lineVariantId(item);
      units.set(variantId, (units.get(variantId) ?? 0) + item.qty);
    }
    const [kind, ...rest] = await this.run<[string, ...Array<string | number>]>(
      FREEZE,
      [cartKey(this.cartId), this.recordKey],
      [
        this.owner,
        version,
        event.orderId,
        JSON.stringify(event),
        CART_TTL_MS,
        holdMs,
        useStale ? 1 : 0,
        ...[...units].flat(),
      ],
    );
    switch (kind) {
      case "frozen":
      case "changed":
      case "fenced":
        return { kind };
      case "unknown":
        return { kind, variantIds: rest.map(String) };
      case "short": {
        const items: ShortItem[] = [];
        for (let i = 0; i + 2 < rest.length; i += 3) {
          items.push({
            variantId: String(rest[i]),
            requested: Number(rest[i + 1]),
            available: Number(rest[i + 2]),
          });
        }
        return { kind, items };
      }
      default:
        throw new Error(`unexpected freeze answer ${String(kind)}`);
    }
  }

  /** Gives the key and the cart's lease back for a retry; a frozen cart stays frozen. */
  async release(): Promise<void> {
    await this.run(RELEASE, [this.recordKey, cartKey(this.cartId)], [this.owner, IDEMPOTENCY_TTL_MS]);
  }

  /**
   * Kafka acknowledged `order`: the key answers it, the cart settles, the status record exists (with
   * the order's owner). Answers the emptied cart when this call settled it.
   */
  async complete(order: OrderRecord): Promise<StoredCart | null> {
    const settledAt = await this.run<number>(
      COMPLETE,
      [
        this.recordKey,
        cartKey(this.cartId),
        orderStatusKey(order.orderId),
        ACKED_ORDERS_KEY,
        ackedOrderKey(order.orderId),
      ],
      [
        this.owner,
        order.orderId,
        JSON.stringify(order),
        IDEMPOTENCY_TTL_MS,
        ORDER_STATUS_TTL_SECONDS,
        ACKED_ORDER_TTL_SECONDS,
      ],
    );
    return settledAt > 0
      ? { cartId: this.cartId, lines: [], updatedAtMs: settledAt, lastOrderId: order.orderId }
      : null;
  }
}
