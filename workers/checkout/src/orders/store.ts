import type { Redis } from "@upstash/redis";
import { eq } from "drizzle-orm";
import { orders } from "../../../../db/schema/index.ts";
import { AppError } from "../../../../domain/errors.ts";
import { type Order, OrderRecordSchema, orderStatusKey } from "../../../../domain/orders.ts";
import { type OwnedOrder, orderFromPostgres } from "../../../edge/orders/index.ts";
import type { EdgeDb } from "../../../platform/clients.ts";
import { log } from "../../../platform/log.ts";

const ownerFromPostgres = async (db: EdgeDb, orderId: string): Promise<string | null> => {
  const [row] = await db
    .select({ customerId: orders.customerId })
    .from(orders)
    .where(eq(orders.orderId, orderId));
  return row?.customerId ?? null;
};

const unavailable = (error: unknown) =>
  new AppError("dependency_unavailable", "the order could not be read", { cause: error, retryAfter: 5 });

/** The order with its owner: from its status record in Redis, with Postgres, the system of record, behind it. */
const readOrder = async (
  deps: { redis: Redis; db: () => EdgeDb },
  orderId: string,
): Promise<OwnedOrder | null> => {
  try {
    const cached = await deps.redis.get<string>(orderStatusKey(orderId));
    if (cached) {
      const { customerId, ...order } = OrderRecordSchema.parse(JSON.parse(cached));
      // A record written from Postgres by the pipeline does not name the owner: Postgres does.
      if (customerId !== undefined) return { order, customerId };
      try {
        return { order, customerId: await ownerFromPostgres(deps.db(), orderId) };
      } catch (error) {
        throw unavailable(error);
      }
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    log("warn", "order status record unreadable; reading Postgres", { orderId, error });
  }
  try {
    return await orderFromPostgres(deps.db(), orderId);
  } catch (error) {
    throw unavailable(error);
  }
};

/**
 * An order as `viewer` may see it: a customer's order only by that customer (anyone else, signed in
 * or not, gets 404 as if it did not exist); a guest order by its unguessable id.
 */
export const getOrder = async (
  deps: { redis: Redis; db: () => EdgeDb },
  orderId: string,
  viewer: string | null = null,
): Promise<Order> => {
  const found = await readOrder(deps, orderId);
  if (!found || (found.customerId !== null && found.customerId !== viewer))
    throw new AppError("order_not_found", `order ${orderId} does not exist`);
  return found.order;
};
