import { describe, expect, it } from "vitest";
import { answerFor, etagMatches, parseRange, sliceStream } from "./serve.ts";

describe("parseRange", () => {
  it.each([
    ["bytes=0-9", 100, { start: 0, end: 9 }],
    ["bytes=90-", 100, { start: 90, end: 99 }],
    ["bytes=-10", 100, { start: 90, end: 99 }],
    ["bytes=-500", 100, { start: 0, end: 99 }],
    ["bytes=50-5000", 100, { start: 50, end: 99 }],
    ["BYTES=1-2", 100, { start: 1, end: 2 }],
  ])("%s of %i bytes is %j", (header, size, range) => {
    expect(parseRange(header, size)).toEqual(range);
  });

  it.each([
    ["bytes=100-", 100],
    ["bytes=100-200", 100],
    ["bytes=-0", 100],
    ["bytes=0-", 0],
  ])("%s of %i bytes is unsatisfiable", (header, size) => {
    expect(parseRange(header, size)).toBe("unsatisfiable");
  });

  it.each([
    null,
    "",
    "bytes=",
    "bytes=-",
    "bytes=5-1",
    "bytes=200-100",
    "items=0-1",
    "bytes=0-1,5-6",
    "bytes=a-b",
  ])("ignores %j (the whole object is sent)", (header) => {
    expect(parseRange(header, 100)).toBeNull();
  });
});

describe("etagMatches", () => {
  it("compares weakly, over lists and *", () => {
    expect(etagMatches('"abc"', '"abc"')).toBe(true);
    expect(etagMatches('W/"abc"', '"abc"')).toBe(true);
    expect(etagMatches('"x", "abc"', '"abc"')).toBe(true);
    expect(etagMatches("*", '"abc"')).toBe(true);
    expect(etagMatches('"abcd"', '"abc"')).toBe(false);
  });
});

const streamOf = (chunks: number[][]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(Uint8Array.from(chunk));
      controller.close();
    },
  });

const collect = async (stream: ReadableStream<Uint8Array>) => {
  const out: number[] = [];
  for await (const chunk of stream) out.push(...chunk);
  return out;
};

describe("sliceStream", () => {
  it("cuts a range across chunk boundaries", async () => {
    const body = streamOf([
      [0, 1, 2],
      [3, 4, 5, 6],
      [7, 8, 9],
    ]);
    expect(await collect(body.pipeThrough(sliceStream({ start: 2, end: 7 })))).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it("stops reading the source after the range", async () => {
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(Uint8Array.from([pulls]));
      },
    });
    expect(await collect(endless.pipeThrough(sliceStream({ start: 0, end: 2 })))).toEqual([1, 2, 3]);
    expect(pulls).toBeLessThan(10);
  });
});

describe("answerFor", () => {
  const object = () => ({
    headers: new Headers({ "Content-Length": "10", ETag: '"e1"', "Content-Type": "image/png" }),
    body: streamOf([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]),
  });

  it("ignores Range when If-Range names another version", () => {
    const answer = answerFor(new Headers({ Range: "bytes=0-1", "If-Range": '"old"' }), object());
    expect(answer.status).toBe(200);
  });

  it("answers 304 before looking at Range", () => {
    const answer = answerFor(new Headers({ Range: "bytes=0-1", "If-None-Match": '"e1"' }), object());
    expect(answer.status).toBe(304);
    expect(answer.headers.get("Content-Length")).toBeNull();
  });
});
