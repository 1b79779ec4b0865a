import { AppError } from "../../../../domain/errors.ts";

/**
 * Signed, expiring media URLs: HMAC-SHA256 (Web Crypto) over the method, the key and the expiry, so a
 * signature grants exactly one operation on one object until one instant. Verification uses
 * `crypto.subtle.verify`, which compares in constant time.
 */

export type SignedMethod = "GET" | "PUT";

export interface SignedGrant {
  method: SignedMethod;
  key: string;
  /** Unix seconds after which the URL no longer works. */
  expires: number;
}

const encoder = new TextEncoder();

const hmacKey = (secret: string, usage: "sign" | "verify"): Promise<CryptoKey> => {
  if (!secret) throw new Error("MEDIA_SIGNING_SECRET is not set");
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    usage,
  ]);
};

// Versioned and newline-separated: keys never contain a newline, so no two grants share a message.
const message = (grant: SignedGrant) =>
  encoder.encode(`media-v1\n${grant.method}\n${grant.key}\n${grant.expires}`);

const toBase64Url = (bytes: ArrayBuffer): string =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const fromBase64Url = (value: string): Uint8Array<ArrayBuffer> | null => {
  if (!/^[A-Za-z0-9_-]{43}$/.test(value)) return null;
  const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
};

export const signGrant = async (secret: string, grant: SignedGrant): Promise<string> =>
  toBase64Url(await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), message(grant)));

/** A URL path with its grant's `expires` and `sig` query parameters. */
export const signedPath = async (secret: string, path: string, grant: SignedGrant): Promise<string> =>
  `${path}?expires=${grant.expires}&sig=${await signGrant(secret, grant)}`;

const invalid = (message: string) => new AppError("invalid_signature", message);

/** Throws invalid_signature unless `sig` signs this method, key and expiry, and the expiry is ahead of `now`. */
export const verifyGrant = async (
  secret: string,
  request: { method: SignedMethod; key: string; expires?: string; sig?: string },
  nowSeconds: number,
): Promise<void> => {
  const expires = Number(request.expires);
  if (!request.expires || !/^\d{1,12}$/.test(request.expires) || !Number.isSafeInteger(expires)) {
    throw invalid("signed URL without a valid expires parameter");
  }
  const sig = fromBase64Url(request.sig ?? "");
  if (!sig) throw invalid("signed URL without a valid sig parameter");
  const grant: SignedGrant = { method: request.method, key: request.key, expires };
  const valid = await crypto.subtle.verify("HMAC", await hmacKey(secret, "verify"), sig, message(grant));
  if (!valid) throw invalid("the signature does not match this URL and method");
  // Checked after the signature: only a URL this worker issued is told that it has expired.
  if (expires <= nowSeconds) throw invalid("the signed URL has expired");
};
