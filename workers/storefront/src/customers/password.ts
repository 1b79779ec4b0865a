/**
 * Password hashes with WebCrypto PBKDF2-SHA-256, the strongest key-derivation function the Workers
 * runtime has built in. Cloudflare refuses more than 100,000 iterations (workerd issue #1346), so that
 * is the count. Each hash names its algorithm, iterations and salt (`pbkdf2-sha256$100000$<salt>$<hash>`,
 * base64url), so the parameters can be raised later and old hashes still verify.
 */
export const PBKDF2_ITERATIONS = 100_000;
const ALGORITHM = "pbkdf2-sha256";
const SALT_BYTES = 16;
const HASH_BITS = 256;

const encoder = new TextEncoder();

const toBase64Url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const fromBase64Url = (text: string): Uint8Array => {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
};

/** Passwords are compared as Unicode NFKC (NIST 800-63B), so equivalent spellings match. */
const derive = async (password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> => {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(password.normalize("NFKC")),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BITS,
  );
  return new Uint8Array(bits);
};

/** Compares without an early exit, so the time taken says nothing about where the bytes differ. */
const constantTimeEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i % b.length] ?? 0);
  return diff === 0;
};

export const hashPassword = async (password: string, iterations = PBKDF2_ITERATIONS): Promise<string> => {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `${ALGORITHM}$${iterations}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
};

/** Whether `password` matches `stored`; a stored value in an unknown format never matches. */
export const verifyPassword = async (password: string, stored: string): Promise<boolean> => {
  const [algorithm, rounds, salt, hash] = stored.split("$");
  const iterations = Number(rounds);
  if (algorithm !== ALGORITHM || !Number.isInteger(iterations) || iterations < 1 || !salt || !hash)
    return false;
  const derived = await derive(password, fromBase64Url(salt), iterations);
  return constantTimeEqual(derived, fromBase64Url(hash));
};

/** Whether a stored hash was made with weaker parameters than today's (rehash it at the next sign-in). */
export const needsRehash = (stored: string): boolean => {
  const [algorithm, rounds] = stored.split("$");
  return algorithm !== ALGORITHM || Number(rounds) < PBKDF2_ITERATIONS;
};

/**
 * Verified against when the email has no account, so an unknown email costs the same key derivation
 * as a wrong password and the answer time does not tell which it was. No password matches it.
 */
export const DUMMY_PASSWORD_HASH = `${ALGORITHM}$${PBKDF2_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
