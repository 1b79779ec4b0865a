import { z } from "zod";
import {
  CancelReasonSchema,
  OrderViewStatusSchema,
  PaymentActionSchema,
  ShipmentSchema,
} from "../../../domain/order-events.ts";
import { ORDER_STATUS_EFFECT } from "../../../domain/orders.ts";
import { defineEffect, type EffectDefinition, type EffectKind } from "../runtime/effects.ts";
import type { FinalStatus, OrderStatusCache } from "./order-status-cache.ts";
import { loadOrder, syncOrderStatus } from "./order-status-sync.ts";

const StatusEffectSchema = z.object({
  /** The status to write; absent: write what Postgres says when the effect runs. */
  final: z
    .object({
      status: OrderViewStatusSchema,
      reason: CancelReasonSchema.optional(),
      payment: PaymentActionSchema.optional(),
      shipment: ShipmentSchema.optional(),
      updatedAt: z.string(),
    })
    .optional(),
});

export type StatusEffect = z.infer<typeof StatusEffectSchema>;

/** The status record's rewrite as code records it (`ctx.effect`); any consumer may record it. */
export const ORDER_STATUS: EffectKind<StatusEffect> = {
  kind: ORDER_STATUS_EFFECT,
  parse: (payload) => StatusEffectSchema.parse(payload),
};

/**
 * The one writer of an order's status record in Redis (`order:<id>`), as a durable effect keyed by
 * the order id: the saga's join records it with the outcome it decided, fulfillment with the status
 * (and shipment) its statement wrote, the merchant's cancellation without one (the record is then
 * rewritten from Postgres). Either way the write never
 * moves the record back a stage, and a missing record is created from Postgres (order-status-cache.ts),
 * so the effects of one order may run in any order, and twice. Checkout creates the record (pending,
 * in the script that takes the order) and a merchant's cancellation drops it so readers fall back to
 * Postgres at once; every other write of it is this effect, through order-status-cache.ts.
 */
export const orderStatusEffect = (cache: OrderStatusCache): EffectDefinition<StatusEffect> =>
  defineEffect(ORDER_STATUS_EFFECT, StatusEffectSchema, async (orderId, { final }, { db, log }) => {
    const written = final
      ? await cache.writeStatus(orderId, final as FinalStatus, () => loadOrder(db, orderId))
      : await syncOrderStatus(cache, db, orderId);
    if (written === "dropped")
      log.warn({ orderId }, "order status record in Redis was not an Order; deleted it");
    else log.debug({ orderId, written }, "order status record written");
  });
