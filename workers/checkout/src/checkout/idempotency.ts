/**
 * Idempotency keys of `POST /v1/checkout`: a record per key (a hash of it) remembers a fingerprint of
 * the body and, once Kafka acknowledged the order, the answer every replay gets (see scripts.ts).
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

const hex = (bytes: ArrayBuffer): string =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

export const sha256 = async (text: string): Promise<string> =>
  hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

export const idempotencyRecordKey = async (idempotencyKey: string): Promise<string> =>
  `idem:checkout:${await sha256(idempotencyKey)}`;

/** Key order does not change the fingerprint of a JSON body. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
