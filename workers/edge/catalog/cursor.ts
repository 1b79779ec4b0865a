import { z } from "zod";
import { AppError } from "../../../domain/errors.ts";

/** Where a page of products ends: the last product's id, and its search rank when the list is a search. */
export interface Cursor {
  id: string;
  rank?: number;
}

const CursorSchema = z.strictObject({ id: z.string().min(1).max(64), rank: z.number().finite().optional() });

/** 128 bits of HMAC-SHA256: forging one takes 2^128 tries. */
const TAG_BYTES = 16;

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const fromBase64url = (text: string): Uint8Array =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** HMAC keys imported once per secret and isolate. */
const keys = new Map<string, Promise<CryptoKey>>();
const keyOf = (secret: string): Promise<CryptoKey> => {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    keys.set(secret, key);
  }
  return key;
};

const tagOf = async (secret: string, scope: string, payload: string): Promise<Uint8Array> => {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await keyOf(secret),
    new TextEncoder().encode(`${scope}\n${payload}`),
  );
  return new Uint8Array(mac, 0, TAG_BYTES);
};

/** Same length and bytes, looking at every byte whatever the first difference. */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
};

const requireSecret = (secret: string | undefined): string => {
  if (!secret) throw new Error("CURSOR_SIGNING_SECRET is not set");
  return secret;
};

/**
 * Catalog cursors are signed: only a cursor this API issued, for this very list (`scope`: its
 * category and search), is accepted. An arbitrary one would otherwise be a fresh cache key and a
 * Postgres query for whoever makes them up.
 */
export const signCursor = async (
  secret: string | undefined,
  scope: string,
  cursor: Cursor,
): Promise<string> => {
  const payload = base64url(new TextEncoder().encode(JSON.stringify(cursor)));
  return `${payload}.${base64url(await tagOf(requireSecret(secret), scope, payload))}`;
};

/** The cursor `value` carries; 400 `invalid_request` for one this API did not issue for `scope`. */
export const openCursor = async (
  secret: string | undefined,
  scope: string,
  value: string,
): Promise<Cursor> => {
  const key = requireSecret(secret);
  const invalid = (cause?: unknown) =>
    new AppError("invalid_request", "cursor is not one this API issued for this list", {
      cause,
      details: [{ path: ["cursor"], message: "use the nextCursor of the previous page" }],
    });
  const [payload, tag, extra] = value.split(".");
  if (!payload || !tag || extra !== undefined || !/^[A-Za-z0-9_-]+$/.test(payload + tag)) throw invalid();
  let parsed: unknown;
  try {
    if (!sameBytes(fromBase64url(tag), await tagOf(key, scope, payload))) throw invalid();
    parsed = JSON.parse(new TextDecoder().decode(fromBase64url(payload)));
  } catch (error) {
    throw error instanceof AppError ? error : invalid(error);
  }
  const cursor = CursorSchema.safeParse(parsed);
  if (!cursor.success) throw invalid(cursor.error);
  return cursor.data;
};
