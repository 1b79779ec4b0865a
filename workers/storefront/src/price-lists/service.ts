import { AppError } from "../../../../domain/errors.ts";
import { type CatalogDeps, refreshPrices } from "../../../edge/catalog/index.ts";
import type { PriceList, PriceListInput } from "./schemas.ts";
import { endPriceList, findUnpriceable, readPriceList, savePriceList } from "./store.ts";

/** Issues named at most per refusal: enough to fix a file, bounded whatever the body. */
const MAX_ISSUES = 100;

const notFound = (id: string) => new AppError("price_list_not_found", `price list ${id} does not exist`);

/** Postgres failures as the 503 a client may retry; the contract's own errors pass through. */
const writing = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError("dependency_unavailable", `the price list could not be ${what}`, {
      cause: error,
      retryAfter: 5,
    });
  }
};

/**
 * Refuses prices that could never apply: for variants that do not exist, or that sell in another
 * currency than the list's (400, each named by its place in `prices`).
 */
const checkVariants = async (deps: CatalogDeps, input: PriceListInput): Promise<void> => {
  const ids = input.prices.map((p) => p.variantId);
  const { unknown, otherCurrency } = await writing("checked", () =>
    findUnpriceable(deps.db(), input.currency, ids),
  );
  if (unknown.length === 0 && otherCurrency.length === 0) return;
  const problems = new Map([
    ...unknown.map((id) => [id, "no such variant"] as const),
    ...otherCurrency.map((id) => [id, `the variant does not sell in ${input.currency}`] as const),
  ]);
  const details = ids
    .flatMap((id, i) => {
      const message = problems.get(id);
      return message ? [{ path: ["prices", i, "variantId"], message }] : [];
    })
    .slice(0, MAX_ISSUES);
  throw new AppError("invalid_request", "some prices are for variants this list cannot price", { details });
};

/**
 * Creates or replaces the list and its prices, then brings every cache up to date (see
 * `refreshPrices`): from the answer on, every catalog answer, cart and checkout prices its variants
 * from the new schedule, and switches at its start and end to the second.
 */
export const putPriceList = async (
  deps: CatalogDeps,
  id: string,
  input: PriceListInput,
): Promise<PriceList> => {
  await checkVariants(deps, input);
  const saved = await writing("saved", () => savePriceList(deps.db(), id, input));
  await refreshPrices(deps, saved.touched);
  return saved.list;
};

export const getPriceList = async (deps: CatalogDeps, id: string): Promise<PriceList> => {
  const list = await writing("read", () => readPriceList(deps.db(), id));
  if (!list) throw notFound(id);
  return list;
};

/** Ends the list now; it stays readable with `endsAt` set. Ending an ended list changes nothing. */
export const deletePriceList = async (deps: CatalogDeps, id: string): Promise<PriceList> => {
  const ended = await writing("ended", () => endPriceList(deps.db(), id));
  if (!ended) throw notFound(id);
  await refreshPrices(deps, ended.touched);
  return ended.list;
};
