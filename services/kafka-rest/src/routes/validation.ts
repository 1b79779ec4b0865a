import type { Context } from "hono";
import { z } from "zod";
import { RestError } from "../errors.ts";
import { MAX_MESSAGES_PER_REQUEST } from "../schemas.ts";

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success)
    throw new RestError(400, "invalid_request", `invalid ${what}: ${describe(result.error)}`);
  return result.data;
}

/** A body that is one item or a non-empty array of items; always returns the array. */
export function parseOneOrMany<S extends z.ZodType>(item: S, input: unknown, what: string): z.infer<S>[] {
  if (!Array.isArray(input)) return [parseWith(item, input, what)];
  return parseWith(z.array(item).min(1).max(MAX_MESSAGES_PER_REQUEST), input, what);
}

/** The request body as JSON, or a 400 naming the problem. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw new RestError(400, "invalid_request", "request body is empty; expected JSON");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RestError(400, "invalid_request", "request body is not valid JSON", { cause: err });
  }
}
