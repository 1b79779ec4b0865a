import type { CancelReason } from "../../../domain/order-events.ts";

/**
 * The machinery of a declared saga (the declaration itself: order-saga.ts). A saga is a list of
 * steps, each run by its own consumer on a trigger event, each reporting an outcome to the join
 * (join.ts) in the transaction of its effect; the join records every step's first outcome in the
 * order's progress record and decides the order when the last one is known. Everything that depends
 * on the list of steps is derived here: the progress record's shape, the decision, which late report
 * contradicts a decision, and SAGA.md's table.
 */

/** What the order becomes once decided. */
export type FinalOutcome = { status: "confirmed" } | { status: "cancelled"; reason: CancelReason };

export interface StepDeclaration<Outcome extends string = string> {
  /** The consumer that runs the step (its registry name and consumer group). */
  consumer: string;
  /** The event that starts the step. */
  trigger: string;
  /** What the step does, for the table. */
  effect: string;
  /** Each outcome: `ok`, or the reason the order is cancelled for (failures decide in step order). */
  outcomes: Record<Outcome, "ok" | CancelReason>;
  /**
   * What undoes the effect when the order is cancelled (the consumer's handler of the completion
   * event), safe to run with nothing to undo. Null: nothing to undo, and a late report of the step
   * never calls for announcing the outcome again.
   */
  compensation: string | null;
  /** What the consumer does with its effect when the order is confirmed. */
  completion: string | null;
}

/** Builds a step with its outcomes' names kept as literals. */
export const step = <Outcome extends string>(
  declaration: StepDeclaration<Outcome>,
): StepDeclaration<Outcome> => declaration;

/** A consumer that acts on the decided order but cannot change the decision. */
export interface Follower {
  consumer: string;
  on: string;
  does: string;
}

export interface SagaDeclaration<Steps extends Record<string, StepDeclaration>> {
  /** The event that starts the saga. */
  starts: string;
  steps: Steps;
  /** Why an order decided by the deadline is cancelled when no failure is known. */
  deadlineReason: CancelReason;
  /** The event that announces the decision (and, again, a decision a late report contradicts). */
  completes: string;
  followers: readonly Follower[];
}

export type OutcomeOf<S> = S extends StepDeclaration<infer O> ? O : never;

/** The progress record: each step's first outcome, absent while unknown. */
export type Progress<Steps> = { [K in keyof Steps]?: OutcomeOf<Steps[K]> };

/** One step's report as the join sees it. */
export type Report<Steps> = {
  [K in keyof Steps & string]: { step: K; outcome: OutcomeOf<Steps[K]> };
}[keyof Steps & string];

export interface Saga<Steps extends Record<string, StepDeclaration>> extends SagaDeclaration<Steps> {
  stepNames: readonly (keyof Steps & string)[];
  /** A step's declaration. */
  stepOf(name: keyof Steps & string): StepDeclaration;
  /**
   * The decision once every step is known, else null: confirmed when every outcome is `ok`,
   * otherwise cancelled for the first failed step in declaration order. Past the deadline
   * (`deadlinePassed`) the order is decided with what is known: a known failure is the reason, and
   * else `deadlineReason`. An order whose every step is not known is never confirmed.
   */
  decide(progress: Progress<Steps>, deadlinePassed?: boolean): FinalOutcome | null;
  /**
   * Whether a report that arrives after the decision contradicts it, so the outcome must be announced
   * again for the compensations to undo what the step did: a second, different report of a step, or
   * the first report of a step the deadline did not wait for (a success on a cancelled order, a
   * failure on a confirmed one). A step with no compensation never contradicts.
   */
  contradicts(report: Report<Steps>, before: Progress<Steps> | undefined, final: FinalOutcome): boolean;
  /** The steps as SAGA.md's table of effects and compensations (markdown). */
  table(): string;
}

export const defineSaga = <Steps extends Record<string, StepDeclaration>>(
  declaration: SagaDeclaration<Steps>,
): Saga<Steps> => {
  const stepNames = Object.keys(declaration.steps) as (keyof Steps & string)[];
  const stepOf = (name: keyof Steps & string): StepDeclaration => {
    const found = declaration.steps[name];
    if (!found) throw new Error(`the saga has no step ${name}`);
    return found;
  };
  const verdict = (name: keyof Steps & string, outcome: string): "ok" | CancelReason => {
    const outcomes: Record<string, "ok" | CancelReason> = stepOf(name).outcomes;
    const found = outcomes[outcome];
    if (!found) throw new Error(`step ${name} has no outcome ${outcome}`);
    return found;
  };

  const decide: Saga<Steps>["decide"] = (progress, deadlinePassed = false) => {
    const known = stepNames.filter((name) => progress[name] !== undefined);
    if (known.length < stepNames.length && !deadlinePassed) return null;
    for (const name of known) {
      const result = verdict(name, progress[name] as string);
      if (result !== "ok") return { status: "cancelled", reason: result };
    }
    if (known.length === stepNames.length) return { status: "confirmed" };
    return { status: "cancelled", reason: declaration.deadlineReason };
  };

  const contradicts: Saga<Steps>["contradicts"] = (report, before, final) => {
    if (stepOf(report.step).compensation === null) return false;
    const known = before?.[report.step];
    if (known !== undefined) return known !== report.outcome;
    const succeeded = verdict(report.step, report.outcome) === "ok";
    return succeeded !== (final.status === "confirmed");
  };

  const table = (): string => {
    const rows = stepNames.map((name) => {
      const s = stepOf(name);
      const outcomes = Object.entries(s.outcomes as Record<string, string>)
        .map(([outcome, result]) => (result === "ok" ? `\`${outcome}\`` : `\`${outcome}\` → ${result}`))
        .join(", ");
      return [
        `${name} (${s.consumer})`,
        `\`${s.trigger}\``,
        s.effect,
        outcomes,
        s.compensation ?? "none",
        s.completion ?? "none",
      ];
    });
    const header = ["step (consumer)", "on", "effect", "outcomes", "compensation", "completion"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
    const line = (cells: readonly string[]) =>
      `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
  };

  return { ...declaration, stepNames, stepOf, decide, contradicts, table };
};
