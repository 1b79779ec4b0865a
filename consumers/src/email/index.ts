import { OrderFinalizedSchema } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, subscribe } from "../runtime/types.ts";
import { addressOf, createMimeRenderer } from "./mime.ts";
import { renderOrderEmail } from "./render.ts";
import { hasFinalEmail, loadOrderForEmail, storeFinalEmail } from "./store.ts";

export { startSmtpRelay } from "./smtp-relay.ts";

export interface EmailConsumerOptions {
  /** The From mailbox, e.g. `Storefront <orders@storefront.example>`. */
  from?: string;
}

export const DEFAULT_EMAIL_FROM = "Storefront <orders@storefront.local>";

/**
 * Email step of the order saga (overview: ../order-state/SAGA.md).
 * `order-finalized` → exactly one confirmation or cancellation email per order: rendered with
 * nodemailer into the `emails` table (the email outbox, unique per order) in the event's
 * transaction, so a replay, a retry or a second finalization never produces a second email.
 * Delivery is a separate step (see smtp-relay.ts); without SMTP the stored message is the email.
 */
export const createEmailConsumer = (options: EmailConsumerOptions = {}): ConsumerDefinition => {
  const from = options.from ?? DEFAULT_EMAIL_FROM;
  const domain = addressOf(from).split("@")[1] ?? "storefront.local";
  const render = createMimeRenderer();
  return {
    name: "email",
    subscriptions: [
      subscribe(TOPICS.orderFinalized, OrderFinalizedSchema, async (event, ctx) => {
        if (await hasFinalEmail(ctx.tx, event.orderId)) {
          ctx.log.info({ orderId: event.orderId }, "order has its email already; not sending another");
          return;
        }
        const order = await loadOrderForEmail(ctx.tx, event.orderId);
        // Retried, then dead-lettered: a finalized order always has its row (orders wrote it first).
        if (!order) throw new Error(`order ${event.orderId} is not in Postgres`);
        const content = renderOrderEmail(order, event);
        const mime = await render({
          from,
          to: order.email,
          subject: content.subject,
          text: content.text,
          html: content.html,
          messageId: `<${content.kind}.${event.orderId}@${domain}>`,
        });
        await storeFinalEmail(ctx.tx, {
          orderId: event.orderId,
          kind: content.kind,
          toAddress: order.email,
          subject: content.subject,
          body: mime.raw,
          messageId: mime.messageId,
        });
      }),
    ],
  };
};

export const emailConsumer: ConsumerDefinition = createEmailConsumer();
