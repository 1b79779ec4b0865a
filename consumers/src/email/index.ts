import { OrderFinalizedSchema, OrderShippedSchema } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type Batched, type ConsumerDefinition, type HandlerContext, subscribe } from "../runtime/types.ts";
import { addressOf, createMimeRenderer } from "./mime.ts";
import {
  type EmailKind,
  type OrderForEmail,
  type RenderedContent,
  renderOrderEmail,
  renderShippingEmail,
} from "./render.ts";
import {
  type EmailRequest,
  loadOrdersForEmail,
  orderNeverRecorded,
  type StoredEmail,
  storeEmails,
} from "./store.ts";

export { startSmtpRelay } from "./smtp-relay.ts";

export interface EmailConsumerOptions {
  /** The From mailbox, e.g. `Storefront <orders@storefront.example>`. */
  from?: string;
}

export const DEFAULT_EMAIL_FROM = "Storefront <orders@storefront.local>";

/** The saga's outcome emails: an order gets one of them, whatever is announced later. */
const OUTCOME_KINDS: readonly EmailKind[] = ["order_confirmed", "order_cancelled"];

/**
 * Email step of the order saga (overview: ../order-state/SAGA.md), rendered with nodemailer into the
 * `emails` table (the email outbox, one row per order and kind) in the event's transaction, so a
 * replay, a retry or a second announcement never produces a second email of a kind:
 * - `order-finalized` → exactly one confirmation or cancellation email per order; a merchant's
 *   cancellation (`cancelled_by_merchant`, possibly after the confirmation) gets its one
 *   cancellation email too;
 * - `order-shipped` → one shipping email with the tracking number.
 * Delivery is a separate step (see smtp-relay.ts); without SMTP the stored message is the email.
 */
export const createEmailConsumer = (options: EmailConsumerOptions = {}): ConsumerDefinition => {
  const from = options.from ?? DEFAULT_EMAIL_FROM;
  const domain = addressOf(from).split("@")[1] ?? "storefront.local";
  const render = createMimeRenderer();

  /** An email to write: unless the order has one of `kinds` already, the one `content` renders. */
  interface Wanted extends EmailRequest {
    content: (order: OrderForEmail) => RenderedContent;
  }

  /**
   * The emails of a transaction's events, written together: the orders read in one statement, the
   * messages rendered, stored in one statement.
   */
  const write: Batched<Wanted> = {
    name: "email-write",
    async run(wanted, ctx) {
      const loaded = await loadOrdersForEmail(ctx.tx, wanted);
      const toStore: StoredEmail[] = [];
      for (const [i, { orderId, kinds, content }] of wanted.entries()) {
        const { order, hasEmail } = loaded[i] ?? { order: undefined, hasEmail: false };
        if (hasEmail) {
          ctx.log.info({ orderId, skipIf: kinds }, "order has this email already; not sending another");
          continue;
        }
        if (!order) {
          if (await orderNeverRecorded(ctx.tx, orderId)) {
            ctx.log.warn(
              { orderId },
              "order was never recorded (its order-placed is a dead letter); no email",
            );
            continue;
          }
          // Its record is still on the way (the deadline decided it first): retried until it lands.
          throw new Error(`order ${orderId} is not in Postgres`);
        }
        const mail = content(order);
        const mime = await render({
          from,
          to: order.email,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: `<${mail.kind}.${orderId}@${domain}>`,
        });
        toStore.push({
          orderId,
          kind: mail.kind,
          toAddress: order.email,
          subject: mail.subject,
          body: mime.raw,
          messageId: mime.messageId,
        });
      }
      await storeEmails(ctx.tx, toStore);
    },
  };
  const send = (ctx: HandlerContext, wanted: Wanted): void => ctx.defer(write, wanted);

  return {
    name: "email",
    subscriptions: [
      subscribe(TOPICS.orderFinalized, OrderFinalizedSchema, async (event, ctx) =>
        send(ctx, {
          orderId: event.orderId,
          kinds:
            event.status === "cancelled" && event.reason === "cancelled_by_merchant"
              ? ["order_cancelled"]
              : OUTCOME_KINDS,
          content: (order) => renderOrderEmail(order, event),
        }),
      ),
      subscribe(TOPICS.orderShipped, OrderShippedSchema, async (event, ctx) =>
        send(ctx, {
          orderId: event.orderId,
          kinds: ["order_shipped"],
          content: (order) => renderShippingEmail(order, event.shipment),
        }),
      ),
    ],
  };
};

export const emailConsumer: ConsumerDefinition = createEmailConsumer();
