import { sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import {
  deadLetters,
  effects,
  emails,
  orders,
  outbox,
  parkedEvents,
  payments,
} from "../../../db/schema/index.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { ORDERS_CONSUMER } from "../orders/name.ts";
import type { Tx } from "../runtime/types.ts";

/** How many rows wait and how long the oldest has waited (seconds; 0 when none). */
export interface Waiting {
  rows: number;
  oldestAgeSeconds: number;
}

/**
 * What waits in the pipeline's tables, read when Prometheus scrapes (the tables are shared: every
 * consumers process reports the same): the outbox and the effects not applied yet (parked rows
 * apart), parked rows given up on per table, parked events per consumer, the oldest order still
 * pending (consumer lag, as time), the orders that could not be recorded at all, and the confirmed
 * orders still waiting for their capture.
 */
export interface PipelineBacklog {
  outbox: Waiting;
  effects: Waiting;
  parked: { outbox: number; effects: number; emails: number };
  /** Per consumer: events parked (failed, or waiting behind one of their key). */
  parkedEvents: Map<string, Waiting>;
  pendingOrders: Waiting;
  /** Orders whose `order-placed` the orders consumer dead-lettered and that Postgres never recorded. */
  unrecordedOrders: number;
  /** Confirmed orders whose payment is not captured (they wait for it: nothing ships uncaptured). */
  uncapturedOrders: Waiting;
  /**
   * Payments whose authorization's answer was never recorded and that reconciliation has not settled
   * (`requested`, or voided without the processor's reference): money the system may not know of.
   */
  unreconciledPayments: Waiting;
}

const waiting = (table: typeof outbox | typeof effects, where: ReturnType<typeof sql>) => sql`(
  select json_build_object('rows', count(*), 'oldestAgeSeconds',
    coalesce(extract(epoch from now() - min(${table.createdAt})), 0))
  from ${table} where ${where})`;

/** Two statements, each over (partial) indexes or few rows. */
export const readPipelineBacklog = async (db: Db | Tx): Promise<PipelineBacklog> => {
  const [row] = await db
    .select({
      outbox: sql<Waiting>`${waiting(outbox, sql`${outbox.publishedAt} is null and ${outbox.parkedAt} is null`)}`,
      effects: sql<Waiting>`${waiting(effects, sql`${effects.parkedAt} is null`)}`,
      parkedOutbox: sql<number>`(select count(*)::int from ${outbox} where ${outbox.publishedAt} is null and ${outbox.attempts} > 0 and ${outbox.parkedAt} is not null)`,
      parkedEffects: sql<number>`(select count(*)::int from ${effects} where ${effects.parkedAt} is not null)`,
      parkedEmails: sql<number>`(select count(*)::int from ${emails} where ${emails.sentAt} is null and ${emails.parkedAt} is not null)`,
      pendingOrders: sql<Waiting>`(select json_build_object('rows', count(*), 'oldestAgeSeconds',
        coalesce(extract(epoch from now() - min(${orders.createdAt})), 0))
        from ${orders} where ${orders.status} = 'pending')`,
      unrecordedOrders: sql<number>`(select count(distinct d.key)::int from ${deadLetters} as d
        where d.consumer = ${ORDERS_CONSUMER} and d.topic like ${`%${TOPICS.orderPlaced}`}
          and not exists (select 1 from ${orders} where ${orders.orderId} = d.key))`,
      uncapturedOrders: sql<Waiting>`(select json_build_object('rows', count(*), 'oldestAgeSeconds',
        coalesce(extract(epoch from now() - min(o.updated_at)), 0))
        from ${orders} as o where o.status = 'confirmed' and not exists (select 1 from ${payments} as p
          where p.order_id = o.order_id and p.status = 'captured'))`,
      unreconciledPayments: sql<Waiting>`(select json_build_object('rows', count(*), 'oldestAgeSeconds',
        coalesce(extract(epoch from now() - min(${payments.updatedAt})), 0))
        from ${payments} where ${payments.processorRef} is null and ${payments.reconciledAt} is null
          and ${payments.status} in ('requested', 'voided'))`,
    })
    .from(sql`(select 1) as one`);
  const perConsumer = await db
    .select({
      consumer: parkedEvents.consumer,
      rows: sql<number>`count(*)::int`,
      oldestAgeSeconds: sql<number>`extract(epoch from now() - min(${parkedEvents.createdAt}))::float8`,
    })
    .from(parkedEvents)
    .groupBy(parkedEvents.consumer);
  const clean = (w: Waiting | undefined): Waiting => ({
    rows: Number(w?.rows ?? 0),
    oldestAgeSeconds: Math.max(0, Number(w?.oldestAgeSeconds ?? 0)),
  });
  return {
    outbox: clean(row?.outbox),
    effects: clean(row?.effects),
    parked: {
      outbox: row?.parkedOutbox ?? 0,
      effects: row?.parkedEffects ?? 0,
      emails: row?.parkedEmails ?? 0,
    },
    parkedEvents: new Map(perConsumer.map((p) => [p.consumer, clean(p)])),
    pendingOrders: clean(row?.pendingOrders),
    unrecordedOrders: row?.unrecordedOrders ?? 0,
    uncapturedOrders: clean(row?.uncapturedOrders),
    unreconciledPayments: clean(row?.unreconciledPayments),
  };
};
