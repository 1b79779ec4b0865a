import type { Redis } from "ioredis";
import { z } from "zod";
import type { CancelReason, OrderViewStatus, PaymentAction, Shipment } from "../../../domain/order-events.ts";
import { ORDER_STATUS_TTL_SECONDS, type Order, orderStatusKey } from "../../../domain/orders.ts";

/**
 * The fast status record of an order in Redis (the Order JSON that checkout wrote under
 * `orderStatusKey`). Only `status`, `reason`, `shipment`, `payment` and `updatedAt` are rewritten; every other
 * field, and the key's TTL, stay as they are. A write never moves the record back along the order's
 * lifecycle (`STAGE`): writers run after their commits in any order (the join's `confirmed` may
 * land after fulfillment's `shipped` or a merchant's cancellation), and the latest stage wins.
 *
 * A missing record is created from the order in Postgres when the caller can load it, only if
 * still missing (SET NX): checkout writes its pending record after Kafka acknowledged the order, so
 * under load (or when a timed-out publish landed and the client retried) the order can be final
 * before checkout's write. Checkout writes with NX too, so whichever comes second never puts a
 * final order back to pending. Without a loader a missing record stays missing; readers fall back
 * to Postgres.
 *
 * The rewrite is a compare-and-set: the JSON is edited here and a Lua script replaces it only if the
 * key still holds what was read (else it is read again), so a concurrent writer's fields are never
 * lost. The JSON is not re-encoded in Lua because Redis's cjson would damage it (numbers beyond 14
 * digits turn into exponents, `[]` into `{}`).
 */

export interface FinalStatus {
  status: OrderViewStatus;
  reason?: CancelReason;
  shipment?: Shipment;
  /** With `requires_action`: what the frontend finishes the payment with. */
  payment?: PaymentAction;
  updatedAt: string;
}

/** How far along its lifecycle a status is; a record is never rewritten with an earlier stage. */
const STAGE: Readonly<Record<OrderViewStatus, number>> = {
  pending: 0,
  requires_action: 1,
  confirmed: 2,
  fulfilling: 3,
  shipped: 4,
  cancelled: 5,
};
const stageOf = (status: unknown): number =>
  typeof status === "string" && status in STAGE ? STAGE[status as OrderViewStatus] : -1;

/**
 * `created`: the record was missing and was written from the loaded order. `dropped`: the record was
 * not a JSON object, so it was deleted for readers to fall back to Postgres. `stale`: the record is at
 * a later stage than this write, which changes nothing.
 */
export type StatusWrite = "updated" | "unchanged" | "created" | "missing" | "dropped" | "stale";

/** The order as Postgres has it, for a record that is missing (null when Postgres has no row either). */
export type LoadOrder = () => Promise<Order | null>;

export interface OrderStatusCache {
  writeStatus(orderId: string, final: FinalStatus, load?: LoadOrder): Promise<StatusWrite>;
}

/** KEYS[1] the record; ARGV[1] the value it was read as; ARGV[2] the new value, or "" to delete it. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return -1 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
return 1`;

const RecordSchema = z.record(z.string(), z.unknown());

const parseRecord = (raw: string): Record<string, unknown> | undefined => {
  try {
    const parsed = RecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not JSON: treated like any other unusable record (dropped)
  }
};

/** The commands the cache uses, so a test can put a concurrent writer between them. */
export type StatusRedis = Pick<Redis, "get" | "eval" | "set">;

const withFinal = (record: Record<string, unknown>, final: FinalStatus): string => {
  const { reason: _previous, shipment: _shipment, payment: _payment, ...rest } = record;
  return JSON.stringify({
    ...rest,
    status: final.status,
    ...(final.reason ? { reason: final.reason } : {}),
    ...(final.shipment ? { shipment: final.shipment } : {}),
    ...(final.payment ? { payment: final.payment } : {}),
    updatedAt: final.updatedAt,
  });
};

export const createRedisOrderStatusCache = (
  redis: StatusRedis,
  options: { maxAttempts?: number } = {},
): OrderStatusCache => {
  const maxAttempts = options.maxAttempts ?? 10;
  return {
    async writeStatus(orderId, final, load) {
      const key = orderStatusKey(orderId);
      let loaded: Order | null | undefined;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const raw = await redis.get(key);
        if (raw === null) {
          if (!load) return "missing";
          loaded ??= await load();
          if (!loaded) return "missing";
          // Postgres may be further along than this write (it was read after it): keep what it says.
          const value =
            stageOf(loaded.status) > stageOf(final.status)
              ? JSON.stringify(loaded)
              : withFinal(loaded, final);
          const created = await redis.set(key, value, "EX", ORDER_STATUS_TTL_SECONDS, "NX");
          if (created === "OK") return "created";
          continue; // written meanwhile (checkout's pending record): update that one
        }
        const record = parseRecord(raw);
        if (record && stageOf(record.status) > stageOf(final.status)) return "stale";
        if (
          record?.status === final.status &&
          record.reason === final.reason &&
          record.shipment === undefined &&
          final.shipment === undefined &&
          record.payment === undefined &&
          final.payment === undefined &&
          record.updatedAt === final.updatedAt
        ) {
          return "unchanged";
        }
        const next = record ? withFinal(record, final) : "";
        const swapped = Number(await redis.eval(COMPARE_AND_SET, 1, key, raw, next));
        if (swapped === 1 && record) return "updated";
        // Gone meanwhile, or just dropped as unusable: with a loader the next round writes it anew.
        if (swapped !== -1 && !load) return swapped === 0 ? "missing" : "dropped";
      }
      throw new Error(
        `status record of order ${orderId} kept changing; gave up after ${maxAttempts} attempts`,
      );
    },
  };
};
