import { randomUUID } from "node:crypto";
import { Kafka } from "@upstash/kafka";
import type { Redis } from "ioredis";
import type { OrderPlaced } from "../domain/events.ts";
import {
  ACKED_ORDER_TTL_SECONDS,
  ACKED_ORDERS_KEY,
  ackedOrderKey,
  ORDER_STATUS_TTL_SECONDS,
  orderStatusKey,
  pendingOrder,
} from "../domain/orders.ts";
import { totalLines } from "../domain/pricing.ts";
import { CLOCK } from "../domain/redis-lua.ts";
import { STOCK_COUNTER_TTL_MS, STOCK_LUA, SYNC_STOCK } from "../domain/stock-counter.ts";
import { TOPICS } from "../domain/topics.ts";

/**
 * Orders put into the pipeline the way checkout puts them, without the edge: the Redis records
 * checkout writes for an order (its units held on the stock counter, its status record, the order
 * among those Kafka acknowledged, with its payload) and then one `OrderPlaced` produced through Kafka
 * REST with the workers' login, one request per order. What the pipeline does with them is then the
 * same work as for a checkout's order.
 */

export interface CatalogEntry {
  productId: string;
  sku: string;
  name: string;
  priceCents: number;
}

/**
 * KEYS: status record, acknowledged orders, the order's acknowledged payload. ARGV: order id, Order
 * JSON, OrderPlaced JSON, hold ms, status ttl s, payload ttl s, then product id, qty pairs.
 * What checkout's FREEZE (the holds) and COMPLETE (the records) leave for one order, in one script.
 */
const INJECT = `
${CLOCK}
${STOCK_LUA}
for i = 7, #ARGV, 2 do stock_hold(ARGV[i], ARGV[1], tonumber(ARGV[i + 1]), now + tonumber(ARGV[4]), now) end
redis.call('zadd', KEYS[2], now, ARGV[1])
redis.call('hset', KEYS[3], 'p', ARGV[3])
redis.call('expire', KEYS[3], ARGV[6])
redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[5], 'NX')
return 1
`;

const HOLD_MS = 600_000;

/** The shipping address of every benchmark order (checkouts and injected orders alike). */
export const BENCH_ADDRESS = {
  name: "Bench Shopper",
  line1: "1 Load Street",
  city: "Benchville",
  postalCode: "12345",
  country: "US",
};

const hex = (): string => randomUUID().replaceAll("-", "");

/** One order of `qty` units of `product`, as checkout freezes it. */
export const placedOrder = (product: CatalogEntry, qty = 1): OrderPlaced => {
  const item = {
    productId: product.productId,
    sku: product.sku,
    name: product.name,
    qty,
    unitPriceCents: product.priceCents,
  };
  return {
    eventId: randomUUID(),
    orderId: `ord_${hex()}`,
    cartId: `cart_${hex()}`,
    email: "bench-shopper@example.com",
    items: [item],
    subtotalCents: totalLines([item]).subtotalCents,
    currency: "USD",
    paymentToken: "tok_visa",
    shippingAddress: BENCH_ADDRESS,
    placedAt: new Date().toISOString(),
  };
};

export interface Injector {
  /** Loads the stock counters of `levels` (product id → available, version) as checkout finds them. */
  syncStock(levels: Array<{ productId: string; available: number; version: number }>): Promise<void>;
  /** Writes the order's Redis records, then produces its OrderPlaced; resolves once Kafka acknowledged it. */
  place(event: OrderPlaced): Promise<void>;
}

export const createInjector = (o: {
  redis: Redis;
  kafkaRestUrl: string;
  username: string;
  password: string;
  topicPrefix: string;
}): Injector => {
  const kafka = new Kafka({ url: o.kafkaRestUrl, username: o.username, password: o.password });
  const producer = kafka.producer();
  const topic = `${o.topicPrefix}${TOPICS.orderPlaced}`;
  return {
    async syncStock(levels) {
      for (let i = 0; i < levels.length; i += 500) {
        const args = levels.slice(i, i + 500).flatMap((l) => [l.productId, l.available, l.version]);
        await o.redis.eval(SYNC_STOCK, 0, STOCK_COUNTER_TTL_MS, ...args);
      }
    },
    async place(event) {
      const units = event.items.flatMap((item) => [item.productId, item.qty]);
      await o.redis.eval(
        INJECT,
        3,
        orderStatusKey(event.orderId),
        ACKED_ORDERS_KEY,
        ackedOrderKey(event.orderId),
        event.orderId,
        JSON.stringify({ ...pendingOrder(event), customerId: null }),
        JSON.stringify(event),
        HOLD_MS,
        ORDER_STATUS_TTL_SECONDS,
        ACKED_ORDER_TTL_SECONDS,
        ...units,
      );
      await producer.produce(topic, event, { key: event.orderId });
    },
  };
};
