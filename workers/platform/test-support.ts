import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";

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
  async (path: string, init: RequestInit = {}, overrides: Partial<E> = {}): Promise<Response> => {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`${origin}${path}`, init), { ...env, ...overrides } as E, ctx);
    await waitOnExecutionContext(ctx);
    return res;
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
