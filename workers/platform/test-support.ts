import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect, vi } from "vitest";

interface FetchApp<E> {
  fetch(request: Request, env: E, ctx: ExecutionContext): Response | Promise<Response>;
}

/**
 * A `call(path, init, overrides)` for a worker's app in the Workers runtime: the test stack's
 * bindings (optionally overridden), and it waits for the work left running after the answer
 * (`waitUntil`).
 */
export const workerCaller =
  <E>(app: FetchApp<E>, origin: string) =>
  async (path: string, init: RequestInit = {}, overrides: EnvOverrides = {}): Promise<Response> => {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`${origin}${path}`, init), { ...env, ...overrides } as E, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };

/**
 * Round trips `work` makes to the service at `url` over HTTP (the Upstash REST endpoint of a Redis,
 * the Neon endpoint of a PostgreSQL): the requests that were answered, counted at this isolate's
 * `fetch` (a pipeline, a script or a batch is one). An attempt that got no answer (the client's
 * deadline passed on a loaded machine, and it tried again) is not a round trip of the design; its
 * retry is counted. `about`: only requests whose body it matches (a query's text, say).
 */
export const roundTrips = async (
  url: string,
  work: () => Promise<unknown>,
  about?: RegExp,
): Promise<number> => {
  const real = globalThis.fetch;
  let trips = 0;
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const target = input instanceof Request ? input.url : String(input);
    const answered = real(input, init);
    if (!target.startsWith(url)) return answered;
    if (about && !(typeof init?.body === "string" && about.test(init.body))) return answered;
    return answered.then((res) => {
      trips++;
      return res;
    });
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return trips;
};

export const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Asserts a contract error answer. */
export const expectError = async (res: Response, status: number, code: string): Promise<ErrorBody> => {
  const body = await json<ErrorBody>(res);
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe("string");
  return body;
};

interface RoutedApp {
  routes: readonly { method: string; path: string }[];
}

/**
 * The operations an app answers, as `METHOD /path/{param}`: every route it registered, and the exact
 * paths its middleware covers (middleware on a prefix, `/x/*`, answers nothing by itself).
 */
export const answeredOperations = (app: RoutedApp): { routes: string[]; middlewarePaths: string[] } => {
  const openApiPath = (path: string) => path.replaceAll(/:(\w+)/g, "{$1}");
  const exact = app.routes.filter((r) => !r.path.endsWith("*"));
  const routes = exact.filter((r) => r.method !== "ALL");
  const middleware = exact.filter((r) => r.method === "ALL");
  return {
    routes: [...new Set(routes.map((r) => `${r.method} ${openApiPath(r.path)}`))].sort(),
    middlewarePaths: [...new Set(middleware.map((r) => openApiPath(r.path)))].sort(),
  };
};

/** The operations an OpenAPI document describes, as `METHOD /path/{param}`. */
export const documentedOperations = (document: { paths?: Record<string, object> }): string[] =>
  Object.entries(document.paths ?? {})
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();

/** Overrides of a test request's bindings: any binding of the worker, or any setting it reads. */
export type EnvOverrides = Record<string, unknown>;
