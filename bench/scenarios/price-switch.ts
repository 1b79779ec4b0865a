import type autocannon from "autocannon";
import { seedCatalog } from "../../db/seed.ts";
import { SEED_CATEGORIES, seedProduct, seedProductId } from "../../db/seed-data.ts";
import { httpLoad } from "../load.ts";
import { pgStats } from "./pg-stats.ts";
import { LOAD_COLUMNS, loadCells, type Scenario } from "./types.ts";

interface Priced {
  id: string;
  priceCents: number;
}

/** What one connection's request in flight was: its path and when it was sent. */
interface InFlight {
  sentAt: number;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);

/**
 * Scenario 9: a Black Friday price list switching under load. A list of sale prices for
 * `listSize` products is written ahead of its start; random product pages and category pages are
 * read throughout, across its start and its end. Every answer is checked against the price of the
 * moment it was answered: how many showed the other price after each switch, and how late the last
 * one was (the switch lag); and the queries that reached PostgreSQL, apart for the write's own
 * refills and for the switches.
 */
export const priceSwitch: Scenario = async ({ env, api, quick, log }) => {
  const listSize = quick ? 1_000 : 10_000;
  const leadMs = quick ? 4_000 : 10_000;
  const windowMs = quick ? 4_000 : 10_000;
  const connections = quick ? 16 : 64;
  const stats = pgStats(env.databaseUrl);
  await seedCatalog(env.databaseUrl, { count: listSize });

  const regular = (index: number) => seedProduct(index).priceCents;
  const sale = (index: number) => Math.floor(regular(index) * 0.8);
  const indexOf = (id: string): number => Number(id.slice("prod_".length)) - 1;
  const listId = `bench-bf-${Date.now().toString(36)}`;

  const written = performance.now();
  const starts = Date.now() + leadMs;
  const ends = starts + windowMs;
  log(
    `price list of ${listSize.toLocaleString("en")} prices, starting in ${leadMs / 1000} s for ${windowMs / 1000} s`,
  );
  await api.putPriceList(
    listId,
    starts,
    ends,
    Array.from({ length: listSize }, (_, i) => ({ variantId: seedProductId(i), priceCents: sale(i) })),
  );
  const writeMs = Math.round(performance.now() - written);
  await stats.reset();
  // Every page the reads below ask for is read once under the new prices version first, so a page
  // first asked for after a switch (a quick run reads few) is not counted as the switch's cost.
  await Promise.all(
    SEED_CATEGORIES.map(async ({ slug }) => {
      const res = await fetch(`${env.url}/v1/products?category=${slug}&limit=20`);
      await res.arrayBuffer();
    }),
  );

  /** The price an answer at `at` must show for the product at `index`. */
  const priceAt = (index: number, at: number) =>
    index < listSize && at >= starts && at < ends ? sale(index) : regular(index);
  const switches = [
    { name: "start", at: starts, wrong: [] as number[], answers: 0 },
    { name: "end", at: ends, wrong: [] as number[], answers: 0 },
  ];
  let checked = 0;
  let unreadable = 0;
  const check = (items: Priced[], sentAt: number, answeredAt: number) => {
    for (const item of items) {
      const index = indexOf(item.id);
      if (!Number.isInteger(index) || index < 0) continue;
      checked++;
      // An answer sent before a switch and answered after it may show either price.
      if (switches.some((s) => sentAt < s.at && s.at <= answeredAt)) continue;
      const after = switches.findLast((s) => s.at <= sentAt);
      if (!after) continue;
      after.answers++;
      if (item.priceCents !== priceAt(index, answeredAt)) after.wrong.push(answeredAt - after.at);
    }
  };

  const untilEnd = async (phaseEnd: number) => {
    const paths = (): string =>
      Math.random() < 0.8
        ? `/v1/products/${seedProductId(Math.floor(Math.random() * listSize))}`
        : `/v1/products?category=${pick(SEED_CATEGORIES).slug}&limit=20`;
    const requests: autocannon.Request[] = [
      {
        method: "GET",
        setupRequest: (request, context) => {
          (context as InFlight).sentAt = Date.now();
          return { ...request, path: paths() };
        },
        onResponse: (status, body, context) => {
          if (status !== 200) return;
          try {
            const answer = JSON.parse(body) as Priced | { items: Priced[] };
            check("items" in answer ? answer.items : [answer], (context as InFlight).sentAt, Date.now());
          } catch {
            unreadable++;
          }
        },
      },
    ];
    return httpLoad({
      url: env.url,
      connections,
      durationS: Math.max(1, (phaseEnd - Date.now()) / 1000),
      requests,
    });
  };

  log("reads until a second before the start (the write's refills happen here)");
  const before = await untilEnd(starts - 1_000);
  const refills = await stats.count();
  await stats.reset();
  log("reads across the start and the end");
  const across = await untilEnd(ends + 2_000);
  const atSwitches = await stats.count();
  await stats.close();

  const lateAfter = (s: (typeof switches)[number]) => s.wrong.filter((lag) => lag > 1_000).length;
  const lag = (s: (typeof switches)[number]) => {
    const sorted = [...s.wrong].sort((a, b) => a - b);
    return { p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? 0 };
  };
  const [start, end] = switches;
  if (!start || !end) throw new Error("two switches expected");
  return {
    id: "price-switch",
    title: "A price list switching under load",
    conditions: {
      prices: listSize.toLocaleString("en"),
      "written ahead of its start (s)": leadMs / 1000,
      "in effect for (s)": windowMs / 1000,
      connections,
      reads: "80% random product pages among the listed products, 20% category pages",
    },
    headlines: [
      `A list of ${listSize.toLocaleString("en")} sale prices written in ${writeMs} ms, ${leadMs / 1000} s ahead: of ${start.answers + end.answers} prices answered after a switch, ${start.wrong.length} showed the old one after the start and ${end.wrong.length} after the end (last ${lag(start).max} / ${lag(end).max} ms after it); ${atSwitches.catalog} catalog queries reached Postgres across both switches (the write's refills before: ${refills.catalog}).`,
    ],
    tables: [
      {
        title: "Reads",
        columns: ["phase", ...LOAD_COLUMNS, "catalog queries", "all queries"],
        rows: [
          ["after the write, to 1 s before the start", ...loadCells(before), refills.catalog, refills.all],
          ["across the start and the end", ...loadCells(across), atSwitches.catalog, atSwitches.all],
        ],
        note: "Queries are counted by pg_stat_statements; 'all' includes the consumers' own work in the same interval. The write raises the prices version, so cached pages refill from Postgres after it, before the switch.",
      },
      {
        title: "Switch lag",
        columns: [
          "switch",
          "prices answered after it",
          "showing the other price",
          "of them later than 1 s",
          "lag p99 (ms)",
          "lag max (ms)",
        ],
        rows: switches.map((s) => [s.name, s.answers, s.wrong.length, lateAfter(s), lag(s).p99, lag(s).max]),
        note: "An answer counts for the last switch before it was sent (one sent before a switch and answered after it may show either price, and is not counted); its lag is when it was answered, after the switch. Product and page answers are both checked, every product of a page.",
      },
    ],
    checks: [
      {
        name: "no answer later than 1 s after a switch shows the other price",
        ok: lateAfter(start) === 0 && lateAfter(end) === 0,
        detail: `start: ${lateAfter(start)}, end: ${lateAfter(end)}`,
      },
      {
        name: "the switches read no catalog row from Postgres",
        ok: atSwitches.catalog === 0,
        detail: `${atSwitches.catalog} catalog queries`,
      },
      {
        name: "every answer was read",
        ok: unreadable === 0 && checked > 0,
        detail: `${checked} prices checked`,
      },
    ],
    data: { listSize, writeMs, starts, ends, before, across, refills, atSwitches, switches, checked },
  };
};
