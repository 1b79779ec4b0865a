import type { Redis } from "@upstash/redis";
import { cancelByMerchant } from "../../../../db/order-writes.ts";
import { AppError } from "../../../../domain/errors.ts";
import { OrderFinalizedSchema } from "../../../../domain/order-events.ts";
import { type Order, orderStatusKey } from "../../../../domain/orders.ts";
import { orderFromPostgres } from "../../../edge/orders/index.ts";
import { type EdgeDb, withDb } from "../../../platform/clients.ts";
import { log } from "../../../platform/log.ts";

/**
 * A merchant's cancellation, decided in Postgres in one statement (db/order-writes.ts: the order row
 * moves only from a status not shipped, and `order-finalized` cancelled goes into the outbox with
 * it). The consumers then release the stock, void or refund the payment, withdraw the warehouse
 * request and send the one cancellation email. Cancelling a cancelled order again changes nothing
 * and answers it as it is; a shipped one is 409 `order_already_shipped`.
 */
export const cancelOrder = async (
  deps: { db: EdgeDb; redis: Redis; topicPrefix?: string },
  orderId: string,
): Promise<Order> => {
  const event = {
    eventId: crypto.randomUUID(),
    orderId,
    status: "cancelled",
    reason: "cancelled_by_merchant",
    finalizedAt: new Date().toISOString(),
  } as const;
  OrderFinalizedSchema.parse(event);
  const cancelled = await withDb("the order store", async () => {
    const result = await deps.db.execute(cancelByMerchant(orderId, event, deps.topicPrefix));
    return result.rows.length > 0;
  });
  if (cancelled) {
    // Readers fall back to Postgres at once; the consumers' effects relay writes the record anew
    // from there (the cancellation recorded that effect with it).
    try {
      await deps.redis.del(orderStatusKey(orderId));
    } catch (error) {
      log("warn", "order status record not dropped after a cancellation; the pipeline rewrites it", {
        orderId,
        error,
      });
    }
  }
  const found = await withDb("the order store", () => orderFromPostgres(deps.db, orderId));
  if (!found) throw new AppError("order_not_found", `order ${orderId} does not exist`);
  if (found.order.status === "shipped") {
    throw new AppError(
      "order_already_shipped",
      `order ${orderId} has shipped; it can no longer be cancelled`,
      {
        details: { shipment: found.order.shipment },
      },
    );
  }
  return found.order;
};
