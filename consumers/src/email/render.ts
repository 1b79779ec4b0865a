import type { EMAIL_KINDS } from "../../../db/schema/index.ts";
import type { CancelReason, OrderFinalized } from "../../../domain/order-events.ts";

export type EmailKind = (typeof EMAIL_KINDS)[number];

/** What the email says about the order, read from Postgres. */
export interface OrderForEmail {
  orderId: string;
  email: string;
  customerName: string;
  currency: string;
  subtotalCents: number;
  lines: { name: string; sku: string; qty: number; lineTotalCents: number }[];
}

export interface RenderedContent {
  kind: EmailKind;
  subject: string;
  text: string;
  html: string;
}

export const formatMoney = (cents: number, currency: string): string =>
  new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);

const REASONS: Record<CancelReason, string> = {
  out_of_stock: "an item in it is out of stock",
  payment_declined: "the payment was declined",
  payment_timeout: "the payment could not be completed in time",
  cancelled_by_merchant: "the store cancelled it",
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The confirmation or cancellation email of a final order, as plain text and HTML. */
export const renderOrderEmail = (order: OrderForEmail, outcome: OrderFinalized): RenderedContent => {
  const total = formatMoney(order.subtotalCents, order.currency);
  const lines = order.lines.map((l) => ({
    label: `${l.qty} x ${l.name} (${l.sku})`,
    amount: formatMoney(l.lineTotalCents, order.currency),
  }));
  const confirmed = outcome.status === "confirmed";
  const subject = confirmed
    ? `Your order ${order.orderId} is confirmed`
    : `Your order ${order.orderId} was cancelled`;
  const lead = confirmed
    ? `Thank you for your order ${order.orderId}. Payment is taken and your items are reserved.`
    : `We are sorry: your order ${order.orderId} was cancelled because ${REASONS[outcome.reason]}. ` +
      "You have not been charged.";
  const totalLabel = confirmed ? "Total" : "Total (not charged)";
  const text = [
    `Hello ${order.customerName},`,
    "",
    lead,
    "",
    ...lines.map((l) => `  ${l.label}: ${l.amount}`),
    "",
    `${totalLabel}: ${total}`,
    "",
    "Storefront",
    "",
  ].join("\n");
  const html = [
    `<p>Hello ${escapeHtml(order.customerName)},</p>`,
    `<p>${escapeHtml(lead)}</p>`,
    "<table>",
    ...lines.map((l) => `<tr><td>${escapeHtml(l.label)}</td><td>${escapeHtml(l.amount)}</td></tr>`),
    `<tr><th>${totalLabel}</th><th>${escapeHtml(total)}</th></tr>`,
    "</table>",
    "<p>Storefront</p>",
  ].join("\n");
  return { kind: confirmed ? "order_confirmed" : "order_cancelled", subject, text, html };
};
