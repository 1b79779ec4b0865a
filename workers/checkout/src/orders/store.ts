import type { Redis } from "@upstash/redis";
import { asc, eq } from "drizzle-orm";
import { orderFromRows } from "../../../../db/orders.ts";
import { orderLines, orders } from "../../../../db/schema/index.ts";
import { AppError } from "../../../../domain/errors.ts";
import { type Order, OrderSchema, orderStatusKey } from "../../../../domain/orders.ts";
import type { EdgeDb } from "../../../platform/clients.ts";
import { log } from "../../../platform/log.ts";

const fromPostgres = async (db: EdgeDb, orderId: string): Promise<Order | null> => {
  const [[row], lines] = await db.batch([
    db.select().from(orders).where(eq(orders.orderId, orderId)),
    db.select().from(orderLines).where(eq(orderLines.orderId, orderId)).orderBy(asc(orderLines.productId)),
  ]);
  return row ? orderFromRows(row, lines) : null;
};

/** An order from its fast status record in Redis, with Postgres, the system of record, behind it. */
export const getOrder = async (deps: { redis: Redis; db: () => EdgeDb }, orderId: string): Promise<Order> => {
  try {
    const cached = await deps.redis.get<string>(orderStatusKey(orderId));
    if (cached) return OrderSchema.parse(JSON.parse(cached));
  } catch (error) {
    log("warn", "order status record unreadable; reading Postgres", { orderId, error });
  }
  let order: Order | null;
  try {
    order = await fromPostgres(deps.db(), orderId);
  } catch (error) {
    throw new AppError("dependency_unavailable", "the order could not be read", {
      cause: error,
      retryAfter: 5,
    });
  }
  if (!order) throw new AppError("order_not_found", `order ${orderId} does not exist`);
  return order;
};
