import { AppError } from "../../../../domain/errors.ts";

/** Upload bodies: the size limit enforced while streaming, and the first bytes read for sniffing. */

const tooLarge = (limit: number) =>
  new AppError("payload_too_large", `media body over ${limit} bytes (${limit / 1024 / 1024} MiB)`);

/** The declared Content-Length, refused up front when over `limit`; null for a chunked body. */
export const declaredLength = (headers: Headers, limit: number): number | null => {
  const raw = headers.get("Content-Length");
  if (raw === null) return null;
  if (!/^\d{1,16}$/.test(raw.trim())) throw new AppError("invalid_request", "Content-Length is not a number");
  const length = Number(raw);
  if (length > limit) throw tooLarge(limit);
  return length;
};

/** Passes bytes through and fails with payload_too_large as soon as more than `limit` went by. */
export const limitStream = (limit: number): TransformStream<Uint8Array, Uint8Array> => {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > limit) throw tooLarge(limit);
      controller.enqueue(chunk);
    },
  });
};

const concat = (chunks: readonly Uint8Array[], size: number): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
};

/**
 * Reads at least the first `size` bytes of a stream (fewer if it is shorter) and gives them back
 * with a stream of the whole body, so the type can be checked before anything is stored.
 */
export const peek = async (
  body: ReadableStream<Uint8Array>,
  size: number,
): Promise<{ head: Uint8Array; body: ReadableStream<Uint8Array> }> => {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  let done = false;
  while (read < size) {
    const next = await reader.read();
    if (next.done) {
      done = true;
      break;
    }
    chunks.push(next.value);
    read += next.value.byteLength;
  }
  const whole = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      if (done) controller.close();
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { head: concat(chunks, read).subarray(0, size), body: whole };
};

/** The whole body in memory; only after `limitStream`, so at most the limit. */
export const readAll = async (body: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> => {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  return concat(chunks, size);
};
