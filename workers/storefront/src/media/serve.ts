import { AppError } from "../../../../domain/errors.ts";
import { log } from "../../../platform/log.ts";

/**
 * How a stored object answers a GET: 304 when `If-None-Match` matches, 206 for one satisfiable
 * byte range, 416 for an unsatisfiable one, else the whole object. The body is always a stream
 * passed through (a range is cut out while streaming), never read into memory.
 */

export type MediaAnswer =
  | { status: 200 | 206; headers: Headers; body: ReadableStream<Uint8Array> }
  | { status: 304; headers: Headers; body: null };

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * A single `bytes=` range against an object of `size` bytes: the range, "unsatisfiable", or null
 * when the whole object is to be sent (no header, another unit, several ranges or a malformed one,
 * which RFC 9110 lets a server ignore).
 */
export const parseRange = (header: string | null, size: number): ByteRange | "unsatisfiable" | null => {
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header?.trim() ?? "");
  if (!match) return null;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return null;
  if (start >= size) return "unsatisfiable";
  return { start, end: last === "" ? size - 1 : Math.min(Number(last), size - 1) };
};

const opaque = (tag: string) => tag.trim().replace(/^W\//, "");

/** `If-None-Match` against an entity tag, by weak comparison (RFC 9110 13.1.2). */
export const etagMatches = (ifNoneMatch: string, etag: string): boolean =>
  ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").some((tag) => opaque(tag) === opaque(etag));

/** Cuts bytes start..end (inclusive) out of a stream, and stops reading it after the end. */
export const sliceStream = ({ start, end }: ByteRange): TransformStream<Uint8Array, Uint8Array> => {
  let position = 0;
  return new TransformStream({
    transform(chunk, controller) {
      const from = Math.max(start - position, 0);
      const to = Math.min(end + 1 - position, chunk.byteLength);
      if (to > from) controller.enqueue(chunk.subarray(from, to));
      position += chunk.byteLength;
      if (position > end) controller.terminate();
    },
  });
};

/** Lets go of a body that will not be sent (its source, or the other branch of a tee, goes on). */
export const discard = (body: ReadableStream<Uint8Array> | null): void => {
  body?.cancel().catch((error: unknown) => log("debug", "cancelling a media body failed", { error }));
};

/**
 * Answers a GET for a whole stored object, given its headers (`Content-Length` and `ETag` among
 * them) and body, under the request's conditional and range headers.
 */
export const answerFor = (
  request: Headers,
  object: { headers: Headers; body: ReadableStream<Uint8Array> },
): MediaAnswer => {
  const headers = new Headers(object.headers);
  const etag = headers.get("ETag") ?? "";
  const ifNoneMatch = request.get("If-None-Match");
  if (ifNoneMatch !== null && etag && etagMatches(ifNoneMatch, etag)) {
    discard(object.body);
    headers.delete("Content-Length");
    headers.delete("Content-Type");
    return { status: 304, headers, body: null };
  }
  const size = Number(headers.get("Content-Length"));
  const ifRange = request.get("If-Range");
  const rangeApplies = ifRange === null || ifRange === etag || ifRange === headers.get("Last-Modified");
  const range = rangeApplies ? parseRange(request.get("Range"), size) : null;
  if (range === null) return { status: 200, headers, body: object.body };
  if (range === "unsatisfiable") {
    discard(object.body);
    throw new AppError("range_not_satisfiable", `the object has ${size} bytes`, {
      details: { size },
      headers: { "Content-Range": `bytes */${size}`, "Accept-Ranges": "bytes" },
    });
  }
  const length = range.end - range.start + 1;
  headers.set("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
  headers.set("Content-Length", String(length));
  // A stream of known length, so the runtime sends Content-Length rather than a chunked body.
  const body = object.body.pipeThrough(sliceStream(range)).pipeThrough(new FixedLengthStream(length));
  return { status: 206, headers, body };
};
