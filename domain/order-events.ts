import { z } from "zod";
import { EventIdSchema, OrderIdSchema } from "./events.ts";

/**
 * Events of the order pipeline after `order-placed`, each keyed by order id. Every consumer does
 * one thing and announces its outcome; the order-state consumer joins the outcomes into the final
 * state of the order.
 */
const Base = z.object({ eventId: EventIdSchema, orderId: OrderIdSchema });

/**
 * `pending` until the saga decides `confirmed` or `cancelled`; a confirmed order goes on to
 * `fulfilling` (the warehouse has it) and `shipped`. A merchant may cancel any order not shipped yet.
 */
export const ORDER_STATUSES = ["pending", "confirmed", "fulfilling", "shipped", "cancelled"] as const;
export const OrderStatusSchema = z.enum(ORDER_STATUSES);
export type OrderStatus = z.infer<typeof OrderStatusSchema>;

/**
 * The status a client sees: the order's, except that a pending order whose card issuer waits for the
 * shopper (3-D Secure) shows `requires_action`. The saga's record (`orders.status`) stays `pending`.
 */
export const ORDER_VIEW_STATUSES = [
  "pending",
  "requires_action",
  "confirmed",
  "fulfilling",
  "shipped",
  "cancelled",
] as const;
export const OrderViewStatusSchema = z.enum(ORDER_VIEW_STATUSES);
export type OrderViewStatus = z.infer<typeof OrderViewStatusSchema>;

/** What the frontend needs to finish a payment with the processor (Stripe.js `handleNextAction`). */
export const PaymentActionSchema = z.object({ clientSecret: z.string().min(1).max(512) });
export type PaymentAction = z.infer<typeof PaymentActionSchema>;

/** The contract's reasons (API.md): `payment_timeout` when the saga deadline passed before payment settled. */
export const CANCEL_REASONS = [
  "out_of_stock",
  "payment_declined",
  "payment_timeout",
  "cancelled_by_merchant",
] as const;
export const CancelReasonSchema = z.enum(CANCEL_REASONS);
export type CancelReason = z.infer<typeof CancelReasonSchema>;

/**
 * `order-finalized`: the order reached its final state. On `confirmed` inventory commits its holds
 * and payment captures; on `cancelled` inventory releases and payment voids (both safe when there
 * is nothing to undo); email sends exactly one message either way.
 */
export const OrderFinalizedSchema = z.discriminatedUnion("status", [
  Base.extend({ status: z.literal("confirmed"), finalizedAt: z.iso.datetime() }),
  Base.extend({ status: z.literal("cancelled"), reason: CancelReasonSchema, finalizedAt: z.iso.datetime() }),
]);
export type OrderFinalized = z.infer<typeof OrderFinalizedSchema>;

/** What the warehouse reports when it hands an order to the carrier. */
export const ShipmentSchema = z.object({
  carrier: z.string().min(1).max(64),
  trackingNumber: z.string().min(1).max(128),
  shippedAt: z.iso.datetime(),
});
export type Shipment = z.infer<typeof ShipmentSchema>;

/**
 * `order-shipped`: the warehouse shipped a fulfilling order (recorded once, by the fulfillment
 * consumer). Inventory moves the order's units to `shipped`; email sends the one shipping email.
 */
export const OrderShippedSchema = Base.extend({ shipment: ShipmentSchema });
export type OrderShipped = z.infer<typeof OrderShippedSchema>;

/**
 * `payment-events`: the processor said something changed about an order's payment (a Stripe webhook,
 * or the local simulator's 3-D Secure outcome). Only a hint: the payment consumer asks the processor
 * what holds now, so replays and deliveries out of order change nothing. `eventId` is the processor's
 * own event id (`evt_…`), so a webhook delivered twice is applied once.
 */
export const PaymentEventSchema = Base.extend({
  source: z.enum(["stripe", "simulator"]),
  type: z.string().min(1).max(128),
  ref: z.string().min(1).max(255).optional(),
});
export type PaymentEvent = z.infer<typeof PaymentEventSchema>;
