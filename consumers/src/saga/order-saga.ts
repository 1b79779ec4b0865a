import { TOPICS } from "../../../domain/topics.ts";
import { defineSaga, type Progress, type Report, step } from "./define.ts";

/**
 * The order saga, declared once (the story around it: ../order-state/SAGA.md). Checkout publishes
 * `order-placed`; each step below runs in its own consumer on its trigger and does one thing, in one
 * transaction that also reports its outcome to the join (`reportStep`, join.ts). The join records
 * each step's first outcome in the order's progress record (`order_progress.steps`, under the order's
 * row lock) and, in the transaction of the last report, decides the order: the orders row and
 * `order-finalized`. Each step's consumer then runs its completion (confirmed) or its compensation
 * (cancelled) on `order-finalized`. No report travels through Kafka: the join is a few statements in
 * the reporting transaction, not a consumer hop.
 *
 * From this declaration follow: the progress record's keys and the decision (`decide`: confirmed when
 * every outcome is ok, else cancelled for the first failed step in this order; past the deadline,
 * with what is known), which late report makes the join announce the outcome again (`contradicts`),
 * and SAGA.md's table of steps (order-saga.test.ts fails while it differs). The same test checks that
 * each step's consumer subscribes to its trigger and, where it has something to complete or undo,
 * to `order-finalized`; the saga's integration tests check that it reports.
 *
 * Adding a step, worked example: a fraud check that may refuse an order.
 * 1. One entry here, after `payment` (failures decide in step order, so a stock or card failure is
 *    the reason given before fraud):
 *      fraud: step({
 *        consumer: "fraud",
 *        trigger: TOPICS.orderPlaced,
 *        effect: "risk score of the order (fraud provider)",
 *        outcomes: { passed: "ok", refused: "fraud_suspected" },
 *        compensation: null, // a score holds nothing: nothing to undo
 *        completion: null,
 *      }),
 *    with `fraud_suspected` added to CANCEL_REASONS (and to the contract's reasons in docs/API.md).
 *    The progress record is JSON keyed by step name, so it needs no column; orders already in flight
 *    when it is deployed wait for the new step's report like any other.
 * 2. One consumer, `consumers/src/fraud/`: subscribes to `order-placed`, calls the provider in its
 *    `prepare` (outside the transaction, idempotent on the order id), and in its handler stores the
 *    score and calls `reportStep(ctx, { orderId, step: "fraud", outcome })`; registered in
 *    registry.ts and given a process in deploy/compose.yaml.
 * 3. One migration: its own table (`fraud_checks`, keyed by order id), from `npm run db:generate`.
 * SAGA.md's table is then regenerated from the test's message. A step that holds something (a
 * promotion's redemption, a tax commit) also names its compensation and completion, and its consumer
 * subscribes to `order-finalized` to run them.
 */
export const ORDER_SAGA = defineSaga({
  starts: TOPICS.orderPlaced,
  steps: {
    recorded: step({
      consumer: "orders",
      trigger: TOPICS.orderPlaced,
      effect: "the order and its lines in Postgres (pending)",
      outcomes: { recorded: "ok" },
      // The record is the order's history: a cancelled order keeps it, and the join moves its status.
      compensation: null,
      completion: null,
    }),
    inventory: step({
      consumer: "inventory",
      trigger: TOPICS.orderPlaced,
      effect: "stock held for every line (all or nothing)",
      outcomes: { reserved: "ok", rejected: "out_of_stock" },
      compensation: "`changeHolds` `release`: held units back to available",
      completion: "`changeHolds` `commit`: held units sold",
    }),
    payment: step({
      consumer: "payment",
      trigger: TOPICS.orderPlaced,
      effect: "card authorization of the subtotal (idempotent on the order id)",
      outcomes: { authorized: "ok", declined: "payment_declined" },
      compensation: "`requestVoid` + `recordSettlements`: authorization voided (refunded once captured)",
      completion: "`requestCapture` + `recordSettlements`: captured",
    }),
  },
  // The stock step answers within moments; what an order waits for past its deadline is the card.
  deadlineReason: "payment_timeout",
  completes: TOPICS.orderFinalized,
  followers: [
    { consumer: "email", on: TOPICS.orderFinalized, does: "exactly one outcome email per order" },
    {
      consumer: "fulfillment",
      on: TOPICS.orderFinalized,
      does: "confirmed and captured: requested at the warehouse; cancelled: withdrawn there",
    },
  ],
});

export type OrderSagaSteps = typeof ORDER_SAGA.steps;
export type StepName = keyof OrderSagaSteps;
/** What the join knows of an order's steps (`order_progress.steps`). */
export type OrderProgress = Progress<OrderSagaSteps>;
export type StepOutcome = Report<OrderSagaSteps>;
