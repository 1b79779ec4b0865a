import { inArray, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { type PaymentRow, payments } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { batchedLoads } from "../runtime/batched-loads.ts";
import type { Tx, TxContext } from "../runtime/types.ts";
import { reportStep, reportWaitingForShopper } from "../saga/join.ts";
import type { AuthorizeResult, PaymentProcessor } from "./processor.ts";

/**
 * The payment step of the order saga, in two halves per event. The processor is called first, in a
 * `prepare` step outside any transaction (no row lock is held while it answers, however slowly);
 * the `payments` row, the system's record of what the processor did, is written after, in the
 * event's transaction. Before the first authorization request the row is written as `requested`
 * (committed on its own), so an authorization whose answer is lost (a timeout) is one the system
 * knows it may hold, and the saga's payment deadline counts from `requested_at`. A retry asks the
 * processor again with the same idempotency key (the order id), which answers the first result
 * instead of charging twice; capturing or voiding twice is a no-op there too.
 */

type RequestedRow = Pick<PaymentRow, "orderId" | "status" | "processorRef">;
type ToRequest = Pick<OrderPlaced, "orderId" | "subtotalCents" | "currency">;

/** The payment rows of many orders, in one statement (answered in the order of `orderIds`). */
const paymentsOf = async (db: Db, orderIds: readonly string[]): Promise<Array<PaymentRow | undefined>> => {
  const rows = await db
    .select()
    .from(payments)
    .where(inArray(payments.orderId, [...new Set(orderIds)]));
  const byOrder = new Map(rows.map((row) => [row.orderId, row]));
  return orderIds.map((id) => byOrder.get(id));
};

/**
 * Records that the orders' authorizations are being asked for (once per order: the first request's
 * time stays), committed on their own in one statement, and answers each payment row as it is (one
 * more statement for rows another request wrote first).
 */
const markAllRequested = async (
  db: Db,
  orders: readonly ToRequest[],
): Promise<Array<RequestedRow | Error>> => {
  const { rows } = await db.execute<{
    order_id: string;
    status: PaymentRow["status"];
    processor_ref: string | null;
  }>(sql`
    insert into ${payments} (order_id, status, amount_cents, currency)
    select order_id, 'requested', amount_cents, currency
    from unnest(${sql.param(orders.map((o) => o.orderId))}::varchar[], ${sql.param(orders.map((o) => o.subtotalCents))}::bigint[],
      ${sql.param(orders.map((o) => o.currency))}::varchar[]) as x(order_id, amount_cents, currency)
    on conflict (order_id) do nothing
    returning order_id, status, processor_ref`);
  const found = new Map<string, RequestedRow>(
    rows.map((row) => [
      row.order_id,
      { orderId: row.order_id, status: row.status, processorRef: row.processor_ref },
    ]),
  );
  const missing = orders.filter((o) => !found.has(o.orderId)).map((o) => o.orderId);
  if (missing.length > 0) {
    for (const row of await paymentsOf(db, missing)) if (row) found.set(row.orderId, row);
  }
  return orders.map((o) => {
    return found.get(o.orderId) ?? new Error(`payment of ${o.orderId} neither recorded nor found`);
  });
};

const paymentLoads = batchedLoads(paymentsOf);
const requestedMarks = batchedLoads(markAllRequested);

const findPayment = (db: Db, orderId: string): Promise<PaymentRow | undefined> =>
  paymentLoads(db).load(orderId);

/**
 * Asks the processor to authorize the order's subtotal, unless the order's payment has an answer
 * recorded already (`null`: its result went out in the transaction that recorded it). A payment
 * voided before its authorization was answered (the saga's deadline cancelled the order) is asked
 * again, with the same idempotency key: only the answer tells whether an authorization exists to void.
 */
export const requestAuthorization = async (
  db: Db,
  processor: PaymentProcessor,
  order: Pick<OrderPlaced, "orderId" | "subtotalCents" | "currency" | "paymentToken">,
): Promise<AuthorizeResult | null> => {
  const payment = await requestedMarks(db).load(order);
  const unanswered =
    payment.status === "requested" || (payment.status === "voided" && payment.processorRef === null);
  if (!unanswered) return null;
  return processor.authorize({
    orderId: order.orderId,
    amountCents: order.subtotalCents,
    currency: order.currency,
    token: order.paymentToken,
  });
};

/** A processor's answer about an order's authorization. */
export interface AuthorizationAnswer {
  order: Pick<OrderPlaced, "orderId" | "subtotalCents">;
  result: AuthorizeResult;
}

/**
 * Records the processors' answers, each on its order's `requested` row (or, for the outcome of the
 * shopper's 3-D Secure step, on the `requires_action` row), in one statement for any number of
 * answers; answers the orders whose row it changed (a concurrent duplicate may have recorded one
 * first). An authorization answered while a cancellation voided the payment (the void may have come
 * before the authorization existed) is recorded too: the order's cancellation is then announced
 * again and voids it (the saga's late-step rule).
 */
export const recordAuthorizations = async (
  tx: Tx,
  answers: readonly AuthorizationAnswer[],
): Promise<Set<string>> => {
  const column = <T>(pick: (result: AuthorizeResult) => T) => sql.param(answers.map((a) => pick(a.result)));
  const { rows } = await tx.execute<{ order_id: string }>(sql`
    update ${payments} as p
    set status = x.status, processor_ref = x.ref, decline_code = x.code, client_secret = x.client_secret,
      action_requested_at = case when x.status = 'requires_action' then now() else p.action_requested_at end,
      answered_at = coalesce(p.answered_at, now()), updated_at = now()
    from unnest(${sql.param(answers.map((a) => a.order.orderId))}::varchar[], ${column((r) => r.status)}::varchar[],
      ${column((r) => (r.status === "declined" ? null : r.ref))}::text[],
      ${column((r) => (r.status === "declined" ? r.code : null))}::text[],
      ${column((r) => (r.status === "requires_action" ? r.clientSecret : null))}::text[])
      as x(order_id, status, ref, code, client_secret)
    where p.order_id = x.order_id and case x.status
      when 'authorized' then p.status in ('requested', 'requires_action')
        or (p.status = 'voided' and p.processor_ref is null)
      when 'declined' then p.status in ('requested', 'requires_action')
      else p.status = 'requested'
    end
    returning p.order_id`);
  return new Set(rows.map((row) => row.order_id));
};

/**
 * Records the processors' answers (recordAuthorizations) and reports each to the saga's join in the
 * same transaction (a 3-D Secure step asked for is shown on the order's status record instead);
 * answers, per answer, whether it was recorded now (false, reporting nothing, when it was recorded
 * before).
 */
export const settleAuthorizations = async (
  ctx: TxContext,
  answers: readonly AuthorizationAnswer[],
): Promise<boolean[]> => {
  if (answers.length === 0) return [];
  const recorded = await recordAuthorizations(ctx.tx, answers);
  return answers.map(({ order, result }) => {
    if (!recorded.has(order.orderId)) return false;
    recorded.delete(order.orderId);
    if (result.status === "requires_action")
      reportWaitingForShopper(ctx, order.orderId, { clientSecret: result.clientSecret });
    else reportStep(ctx, { orderId: order.orderId, step: "payment", outcome: result.status });
    return true;
  });
};

/** One answer's `settleAuthorizations`. */
export const settleAuthorization = async (
  ctx: TxContext,
  order: AuthorizationAnswer["order"],
  result: AuthorizeResult,
): Promise<boolean> => (await settleAuthorizations(ctx, [{ order, result }]))[0] === true;

/**
 * For a payment waiting for the shopper (3-D Secure), what the processor holds now, as the answer to
 * record: authorized, or declined (the action failed, or the processor gave up on it); null while the
 * shopper has not finished, or when the payment is not waiting (an event about it changes nothing).
 */
export const requestActionOutcome = async (
  db: Db,
  processor: PaymentProcessor,
  orderId: string,
): Promise<{ result: AuthorizeResult; amountCents: number } | null> => {
  const payment = await findPayment(db, orderId);
  if (payment?.status !== "requires_action") return null;
  const record = await processor.lookup({ orderId, ref: payment.processorRef });
  const ref = "ref" in record ? (record.ref ?? payment.processorRef) : payment.processorRef;
  if (record.state === "authorized" && ref) {
    return { result: { status: "authorized", ref }, amountCents: payment.amountCents };
  }
  if (record.state === "declined" || record.state === "voided") {
    const code = record.code ?? (record.state === "voided" ? "canceled" : "authentication_failed");
    return { result: { status: "declined", code }, amountCents: payment.amountCents };
  }
  return null;
};

export type Settlement = "captured" | "voided" | "refunded" | "nothing_to_do";

/** Takes the money of a confirmed order at the processor. Capturing twice is a no-op. */
export const requestCapture = async (
  db: Db,
  processor: PaymentProcessor,
  orderId: string,
): Promise<Settlement> => {
  const payment = await findPayment(db, orderId);
  if (payment?.status === "captured") return "nothing_to_do";
  if (payment?.status !== "authorized") {
    throw new Error(`order ${orderId} is confirmed but its payment is ${payment?.status ?? "missing"}`);
  }
  await processor.capture({ orderId, ref: payment.processorRef });
  return "captured";
};

/**
 * Compensation of the authorization, for a cancelled order: voids it at the processor, or refunds it
 * when it was captured already (a merchant cancelled a confirmed order before it shipped). An
 * authorization asked for and not answered yet (`requested`) is voided at the processor too (a no-op
 * where none exists yet) and the row is marked voided, so the request is not sent again; should its
 * answer still say authorized, it is recorded and the order's cancellation announced again, which
 * voids it once more. One waiting for the shopper (`requires_action`) is cancelled at the processor,
 * so the shopper can no longer finish it. Nothing to do for a declined, already voided or refunded,
 * or missing payment.
 */
export const requestVoid = async (
  db: Db,
  processor: PaymentProcessor,
  orderId: string,
): Promise<Settlement> => {
  const payment = await findPayment(db, orderId);
  if (payment?.status === "captured") {
    await processor.refund({ orderId, ref: payment.processorRef });
    return "refunded";
  }
  if (!payment || !["authorized", "requested", "requires_action"].includes(payment.status)) {
    return "nothing_to_do";
  }
  await processor.void({ orderId, ref: payment.processorRef });
  return "voided";
};

/** The states a settlement moves a payment from. */
const SETTLED_FROM: Record<Exclude<Settlement, "nothing_to_do">, PaymentRow["status"][]> = {
  captured: ["authorized"],
  voided: ["authorized", "requested", "requires_action"],
  refunded: ["captured"],
};

/**
 * Records the settlements the processor made, in one statement for any number of orders:
 * authorized → captured or voided, requested → voided, captured → refunded (only from those states,
 * so a repeat changes nothing).
 */
export const recordSettlements = async (
  tx: Tx,
  settlements: readonly { orderId: string; settlement: Settlement }[],
): Promise<void> => {
  const made = settlements.flatMap(({ orderId, settlement }) =>
    settlement === "nothing_to_do" ? [] : [{ orderId, settlement, from: SETTLED_FROM[settlement].join(",") }],
  );
  if (made.length === 0) return;
  await tx.execute(sql`
    update ${payments} as p set status = x.settlement, updated_at = now()
    from unnest(${sql.param(made.map((m) => m.orderId))}::varchar[], ${sql.param(made.map((m) => m.settlement))}::varchar[],
      ${sql.param(made.map((m) => m.from))}::text[]) as x(order_id, settlement, from_statuses)
    where p.order_id = x.order_id and p.status = any(string_to_array(x.from_statuses, ','))`);
};
