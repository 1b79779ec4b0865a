import type { EMAIL_KINDS } from "../../../db/schema/index.ts";
import type { CancelReason, OrderFinalized, Shipment } from "../../../domain/order-events.ts";
import { totalLines } from "../../../domain/pricing.ts";

export type EmailKind = (typeof EMAIL_KINDS)[number];

/** What the email says about the order, read from Postgres. */
export interface OrderForEmail {
  orderId: string;
  email: string;
  customerName: string;
  currency: string;
  /** The order's recorded subtotal: the amount charged. */
  subtotalCents: number;
  /** The recorded lines; their totals come from pricing, as they did when the order was placed. */
  lines: {
    name: string;
    sku: string;
    /** The variant's option values (`{}` for a one-variant product). */
    options?: Record<string, string>;
    qty: number;
    unitPriceCents: number;
  }[];
}

/** The line's name with its variant's option values: "T-shirt, Size M, Colour Red". */
const lineName = (line: OrderForEmail["lines"][number]): string =>
  [line.name, ...Object.entries(line.options ?? {}).map(([option, value]) => `${option} ${value}`)].join(
    ", ",
  );

export interface RenderedContent {
  kind: EmailKind;
  subject: string;
  text: string;
  html: string;
}

/** One formatter per currency: building an `Intl.NumberFormat` costs far more than using one. */
const formatters = new Map<string, Intl.NumberFormat>();

export const formatMoney = (cents: number, currency: string): string => {
  let format = formatters.get(currency);
  if (!format) {
    format = new Intl.NumberFormat("en-US", { style: "currency", currency });
    formatters.set(currency, format);
  }
  return format.format(cents / 100);
};

const REASONS: Record<CancelReason, string> = {
  out_of_stock: "an item in it is out of stock",
  payment_declined: "the payment was declined",
  payment_timeout: "the payment could not be completed in time",
  cancelled_by_merchant: "the store cancelled it",
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One email: a lead paragraph (and any further ones), then the order's lines and total. */
const compose = (
  order: OrderForEmail,
  mail: { kind: EmailKind; subject: string; paragraphs: string[]; totalLabel: string },
): RenderedContent => {
  const total = formatMoney(order.subtotalCents, order.currency);
  const lines = totalLines(order.lines).lines.map((l) => ({
    label: `${l.qty} x ${lineName(l)} (${l.sku})`,
    amount: formatMoney(l.lineTotalCents, order.currency),
  }));
  const text = [
    `Hello ${order.customerName},`,
    "",
    ...mail.paragraphs.flatMap((p) => [p, ""]),
    ...lines.map((l) => `  ${l.label}: ${l.amount}`),
    "",
    `${mail.totalLabel}: ${total}`,
    "",
    "Storefront",
    "",
  ].join("\n");
  const html = [
    `<p>Hello ${escapeHtml(order.customerName)},</p>`,
    ...mail.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    "<table>",
    ...lines.map((l) => `<tr><td>${escapeHtml(l.label)}</td><td>${escapeHtml(l.amount)}</td></tr>`),
    `<tr><th>${mail.totalLabel}</th><th>${escapeHtml(total)}</th></tr>`,
    "</table>",
    "<p>Storefront</p>",
  ].join("\n");
  return { kind: mail.kind, subject: mail.subject, text, html };
};

/** The confirmation or cancellation email of a final order, as plain text and HTML. */
export const renderOrderEmail = (order: OrderForEmail, outcome: OrderFinalized): RenderedContent => {
  if (outcome.status === "confirmed") {
    return compose(order, {
      kind: "order_confirmed",
      subject: `Your order ${order.orderId} is confirmed`,
      paragraphs: [
        `Thank you for your order ${order.orderId}. Payment is taken and your items are reserved.`,
      ],
      totalLabel: "Total",
    });
  }
  // A merchant may cancel an order whose payment was taken already: it is refunded.
  const byMerchant = outcome.reason === "cancelled_by_merchant";
  return compose(order, {
    kind: "order_cancelled",
    subject: `Your order ${order.orderId} was cancelled`,
    paragraphs: [
      `We are sorry: your order ${order.orderId} was cancelled because ${REASONS[outcome.reason]}. ` +
        (byMerchant ? "Any payment taken for it is refunded in full." : "You have not been charged."),
    ],
    totalLabel: byMerchant ? "Total (refunded if charged)" : "Total (not charged)",
  });
};

/** The one shipping email of an order: carrier and tracking number. */
export const renderShippingEmail = (order: OrderForEmail, shipment: Shipment): RenderedContent =>
  compose(order, {
    kind: "order_shipped",
    subject: `Your order ${order.orderId} has shipped`,
    paragraphs: [
      `Good news: your order ${order.orderId} is on its way with ${shipment.carrier}.`,
      `Tracking number: ${shipment.trackingNumber}`,
    ],
    totalLabel: "Total",
  });
