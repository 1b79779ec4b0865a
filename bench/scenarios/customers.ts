import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type autocannon from "autocannon";
import { Redis } from "ioredis";
import pg from "pg";
import { seedProductId } from "../../db/seed-data.ts";
import type { BenchEnv } from "../env.ts";
import { type HttpLoad, httpLoad, type LoadResult } from "../load.ts";
import {
  inBatches,
  LOAD_COLUMNS,
  loadCells,
  range,
  ratio,
  redisCommandCount,
  restCallCount,
  type Scenario,
  type ScenarioResult,
} from "./types.ts";

const json = { "content-type": "application/json" };
/** Products the cart mix adds, one line each: few enough that no line reaches 99 or the cart 100 lines. */
const mixProducts = (count: number): string[] => range(count).map((i) => seedProductId(300 + i));
/**
 * How far the customer's cost per request may sit above the guest's and still count as "no more". At one
 * connection both runs make the same calls, so only background work (a catalog entry refreshed mid-run)
 * can differ. With more connections, concurrent requests share catalog lookups and @upstash/redis
 * pipelines their commands together, so the counts move a little from run to run; one more Redis call
 * per customer request would add a whole 1.0.
 */
const countTolerance = (connections: number): number => (connections === 1 ? 0.05 : 0.25);

interface Account {
  email: string;
  password: string;
  token: string;
}

/** A load with what it cost Redis: commands (INFO, counting those inside scripts) and REST round trips. */
interface Measured {
  load: LoadResult;
  commandsPerRequest: number;
  restCallsPerRequest: number;
}

/** Counters of Redis commands and of requests served by the local REST endpoint. */
const costCounters = (env: BenchEnv) => {
  const redis = new Redis(env.redisUrl);
  /** Our own INFO calls, which Redis counts too. */
  let infoCalls = 0;
  const commands = async (): Promise<number> => {
    const count = await redisCommandCount(redis);
    infoCalls++;
    return count;
  };
  /**
   * Waits until Redis sees nothing but our INFO calls for 100 ms (at most 3 s), so the work the
   * workers run after their answers (waitUntil) is counted with the requests that caused it.
   */
  const quiet = async (): Promise<void> => {
    let last = await commands();
    for (let i = 0; i < 30; i++) {
      await delay(100);
      const now = await commands();
      if (now - last <= 1) return;
      last = now;
    }
  };
  const restCalls = () => restCallCount(env);
  return {
    /** Runs the load and divides what Redis saw meanwhile by the requests made (our probes left out). */
    async measure(options: HttpLoad): Promise<Measured> {
      await quiet();
      const rest0 = await restCalls();
      const info0 = infoCalls;
      const commands0 = await commands();
      const load = await httpLoad(options);
      await quiet();
      const info1 = infoCalls;
      const commands1 = await commands();
      const rest1 = await restCalls();
      const perRequest = (n: number) => n / Math.max(1, load.requests);
      return {
        load,
        // Each INFO is counted once it has run: those from the first up to (not including) the last.
        commandsPerRequest: perRequest(commands1 - commands0 - (info1 - info0)),
        // The probe's own PINGs lie outside the commands' window; the last one counts itself here.
        restCallsPerRequest: perRequest(rest1 - rest0 - 1),
      };
    },
    close: () => redis.disconnect(),
  };
};

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify(body) });

/** GET the cart, add one of a product; again for every product of the mix (one cycle). */
const cartMix = (products: string[], cartId: string, headers: Record<string, string>): autocannon.Request[] =>
  products.flatMap((productId) => [
    { method: "GET", path: `/v1/carts/${cartId}`, headers },
    {
      method: "POST",
      path: `/v1/carts/${cartId}/items`,
      headers: { ...json, ...headers },
      body: JSON.stringify({ productId, qty: 1 }),
    },
  ]);

const fixed = (n: number, digits = 1) => n.toFixed(digits);
const clean = (l: LoadResult) => l.errors === 0 && l.non2xx === 0;

/**
 * Customer accounts: what a sign-in costs (`POST /v1/sessions`, one PBKDF2-SHA-256 key derivation at
 * 100,000 iterations, right or wrong password), and whether the cart routes cost more Redis round
 * trips with a customer's token than for a guest: the same read/add mix on a guest cart and on a
 * customer's cart (its id from `GET /v1/customers/me/cart`, every request sent with the bearer token).
 */
export const customers: Scenario = async ({ env, quick, log }) => {
  const connections = [1, 16];
  const accountCount = Math.max(...connections);
  const signInS = quick ? 1 : 8;
  const products = mixProducts(quick ? 5 : 20);
  const cycle = 2 * products.length;
  /** Requests per connection in the cart mix: whole cycles, so every run makes the same reads and adds. */
  const mixPerConnection = (c: number) => cycle * (quick ? (c === 1 ? 2 : 1) : c === 1 ? 20 : 3);
  const counters = costCounters(env);

  log(`signing up ${accountCount} customers`);
  const tag = Date.now().toString(36);
  const accounts = await inBatches(range(accountCount), 4, async (i): Promise<Account> => {
    const email = `bench-${tag}-${i}@example.com`;
    const password = `bench-${randomBytes(12).toString("base64url")}`;
    const res = await post(`${env.url}/v1/customers`, { email, password });
    if (res.status !== 201) throw new Error(`sign-up ${email}: ${res.status} ${await res.text()}`);
    const { token } = (await res.json()) as { token: string };
    return { email, password, token };
  });
  // The parameters the accounts' hashes were made with (`pbkdf2-sha256$<iterations>$<salt>$<hash>`).
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  const stored = await db.query<{ hash: string }>(
    "select password_hash as hash from customers where email = $1",
    [accounts[0]?.email],
  );
  await db.end();
  const [algorithm, iterations] = (stored.rows[0]?.hash ?? "").split("$");
  const kdf = `${algorithm}, ${Number(iterations).toLocaleString("en")} iterations`;
  const signInRequest = (account: Account, password: string): autocannon.Request => ({
    method: "POST",
    path: "/v1/sessions",
    headers: json,
    body: JSON.stringify({ email: account.email, password }),
  });

  // Sign-ins with the right password, each connection on an account of its own.
  const signIns: Array<{ connections: number } & Measured> = [];
  for (const c of connections) {
    log(`sign-ins at ${c} connections`);
    let next = 0;
    const measured = await counters.measure({
      url: env.url,
      connections: c,
      durationS: signInS,
      setupClient: (client) => {
        const account = accounts[next++ % accounts.length] as Account;
        client.setRequests([signInRequest(account, account.password)]);
      },
    });
    signIns.push({ connections: c, ...measured });
  }
  log("wrong-password sign-ins at 1 connection");
  const wrong = await counters.measure({
    url: env.url,
    connections: 1,
    durationS: signInS,
    requests: accounts.map((account) => signInRequest(account, `${account.password}-wrong`)),
  });

  log("carts: a guest cart and a customer's cart for every connection");
  const guestCart = async (): Promise<string> => {
    const res = await fetch(`${env.url}/v1/carts`, { method: "POST" });
    if (res.status !== 201) throw new Error(`guest cart: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { cartId: string }).cartId;
  };
  const guestCarts = await inBatches(accounts, 8, guestCart);
  const customerCarts = await inBatches(accounts, 8, async (account) => {
    const res = await fetch(`${env.url}/v1/customers/me/cart`, {
      headers: { authorization: `Bearer ${account.token}` },
    });
    if (res.status !== 200) throw new Error(`customer cart: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { cartId: string }).cartId;
  });
  // Unmeasured: caches every product of the mix, so neither measured run pays for the first reads.
  const warmUp = await httpLoad({
    url: env.url,
    connections: 1,
    amount: cycle,
    requests: cartMix(products, await guestCart(), {}),
  });
  if (!clean(warmUp)) throw new Error(`cart warm-up failed: ${JSON.stringify(warmUp.statusCounts)}`);

  const mixes: Array<{ connections: number; guest: Measured; customer: Measured }> = [];
  for (const c of connections) {
    const amount = c * mixPerConnection(c);
    const run = (carts: string[], headersOf: (i: number) => Record<string, string>) => {
      let next = 0;
      return counters.measure({
        url: env.url,
        connections: c,
        amount,
        setupClient: (client) => {
          const i = next++;
          client.setRequests(cartMix(products, carts[i] ?? "", headersOf(i)));
        },
      });
    };
    log(`cart mix at ${c} connections: guests`);
    const guest = await run(guestCarts, () => ({}));
    log(`cart mix at ${c} connections: customers`);
    const customer = await run(customerCarts, (i) => ({ authorization: `Bearer ${accounts[i]?.token}` }));
    mixes.push({ connections: c, guest, customer });
  }
  counters.close();

  const one = signIns[0];
  const most = signIns[signIns.length - 1];
  const headlines =
    one && most
      ? [
          `Sign-in (one key derivation, ${kdf}): p50 ${one.load.p50Ms} ms at 1 connection, ${most.load.rps} req/s and p99 ${most.load.p99Ms} ms at ${most.connections}; a wrong password p50 ${wrong.load.p50Ms} ms (${ratio(wrong.load.p50Ms, one.load.p50Ms)} the right one).`,
          ...mixes.map(
            (m) =>
              `Cart mix at ${m.connections} connection(s): customer ${fixed(m.customer.commandsPerRequest)} Redis commands and ${fixed(m.customer.restCallsPerRequest, 2)} REST calls a request, guest ${fixed(m.guest.commandsPerRequest)} and ${fixed(m.guest.restCallsPerRequest, 2)}; p50 ${m.customer.load.p50Ms} vs ${m.guest.load.p50Ms} ms.`,
          ),
        ]
      : [];
  const costCells = (m: Measured) => [fixed(m.commandsPerRequest), fixed(m.restCallsPerRequest, 2)];
  const result: ScenarioResult = {
    id: "customers",
    title: "Customer accounts: sign-in cost, carts with a customer token",
    conditions: {
      accounts: accountCount,
      "sign-in runs (s)": signInS,
      "sign-in connections": connections.join(", "),
      "wrong-password sign-ins": `1 connection, cycling over the ${accountCount} accounts`,
      "cart mix": `per connection: GET cart → POST item (qty 1), over ${products.length} products, on a cart of its own`,
      "cart mix requests per connection": connections.map(mixPerConnection).join(", "),
      "key derivation": `${kdf} (WebCrypto in workerd), one per sign-in`,
    },
    headlines,
    tables: [
      {
        title: "Sign-in (POST /v1/sessions)",
        columns: [
          "password",
          "connections",
          ...LOAD_COLUMNS,
          "Redis commands per request",
          "REST calls per request",
        ],
        rows: [
          ...signIns.map((s) => ["right", s.connections, ...loadCells(s.load), ...costCells(s)]),
          ["wrong", 1, ...loadCells(wrong.load), ...costCells(wrong)],
        ],
        note: "Each sign-in takes a unit of the per-account and per-IP limits before the password is checked (a right one gives them back after the answer); the bench lifts both limits out of reach.",
      },
      {
        title: "Cart mix: guest cart and customer's cart (with the bearer token)",
        columns: [
          "cart",
          "connections",
          ...LOAD_COLUMNS,
          "Redis commands per request",
          "REST calls per request",
        ],
        rows: mixes.flatMap((m) => [
          ["guest", m.connections, ...loadCells(m.guest.load), ...costCells(m.guest)],
          ["customer", m.connections, ...loadCells(m.customer.load), ...costCells(m.customer)],
        ]),
        note: "Both runs make exactly the same requests (whole cycles per connection); Redis commands count those inside scripts (INFO total_commands_processed), REST calls are the HTTP requests the local Upstash REST endpoint served.",
      },
      {
        title: "Ratios (same run)",
        columns: ["what", "p50", "p99", "req/s"],
        rows: [
          [
            "wrong ÷ right password, 1 connection",
            one ? ratio(wrong.load.p50Ms, one.load.p50Ms) : "n/a",
            one ? ratio(wrong.load.p99Ms, one.load.p99Ms) : "n/a",
            one ? ratio(wrong.load.rps, one.load.rps) : "n/a",
          ],
          [
            `sign-in ${most?.connections} ÷ 1 connection`,
            one && most ? ratio(most.load.p50Ms, one.load.p50Ms) : "n/a",
            one && most ? ratio(most.load.p99Ms, one.load.p99Ms) : "n/a",
            one && most ? ratio(most.load.rps, one.load.rps) : "n/a",
          ],
          ...mixes.map((m) => [
            `cart mix customer ÷ guest, ${m.connections} connection(s)`,
            ratio(m.customer.load.p50Ms, m.guest.load.p50Ms),
            ratio(m.customer.load.p99Ms, m.guest.load.p99Ms),
            ratio(m.customer.load.rps, m.guest.load.rps),
          ]),
        ],
      },
    ],
    checks: [
      {
        name: "every sign-in with the right password answered 200",
        ok: signIns.every((s) => clean(s.load) && s.load.requests > 0),
        detail: signIns.map((s) => `${s.connections}: ${JSON.stringify(s.load.statusCounts)}`).join("; "),
      },
      {
        name: "every wrong-password sign-in answered 401 (none rate limited)",
        ok:
          wrong.load.errors === 0 &&
          wrong.load.requests > 0 &&
          Object.keys(wrong.load.statusCounts).every((status) => status === "401"),
        detail: JSON.stringify(wrong.load.statusCounts),
      },
      {
        name: "no failed cart requests, guest or customer",
        ok: mixes.every((m) => clean(m.guest.load) && clean(m.customer.load)),
        detail: mixes
          .map(
            (m) =>
              `${m.connections}: guest ${JSON.stringify(m.guest.load.statusCounts)}, customer ${JSON.stringify(m.customer.load.statusCounts)}`,
          )
          .join("; "),
      },
      {
        name: "a customer's cart requests cost no more Redis commands or REST calls than a guest's (within 0.05 a request at 1 connection, 0.25 with more)",
        ok: mixes.every(
          (m) =>
            m.customer.commandsPerRequest <= m.guest.commandsPerRequest + countTolerance(m.connections) &&
            m.customer.restCallsPerRequest <= m.guest.restCallsPerRequest + countTolerance(m.connections),
        ),
        detail: mixes
          .map(
            (m) =>
              `${m.connections}: commands ${fixed(m.customer.commandsPerRequest, 3)} vs ${fixed(m.guest.commandsPerRequest, 3)}, REST ${fixed(m.customer.restCallsPerRequest, 3)} vs ${fixed(m.guest.restCallsPerRequest, 3)}`,
          )
          .join("; "),
      },
    ],
    data: { signIns, wrong, mixes },
  };
  return result;
};
