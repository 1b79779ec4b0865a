import { z } from "zod";

/**
 * Text a client sends that reaches Postgres, an email or a log. Refused (400 `invalid_request`) when
 * it holds a control character (C0, DEL, C1; multi-line text may hold tab, line feed and carriage
 * return) or a lone UTF-16 surrogate: Postgres's `jsonb` and `text` refuse NUL and cannot encode a
 * lone surrogate, so such a string would pass the edge and fail in the pipeline, after stock was held
 * and a card authorized. Accepted text is NFC-normalised (one spelling per character: "é" is stored
 * the same whichever way it was typed) and trimmed, then its length is checked.
 */
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_WHITESPACE = /(?![\t\n\r])\p{Cc}/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `value` has no lone surrogate and no control character (but `\t\n\r` when multi-line). */
export const isCleanText = (value: string, multiline = false): boolean =>
  !LONE_SURROGATE.test(value) && !(multiline ? CONTROL_BUT_WHITESPACE : CONTROL).test(value);

/** Clean, NFC-normalised and (unless `trim: false`) trimmed text of `min`..`max` characters (see above). */
export const cleanText = (max: number, opts: { min?: number; multiline?: boolean; trim?: boolean } = {}) =>
  z
    .string()
    .refine((value) => !LONE_SURROGATE.test(value), "must not hold a lone surrogate (malformed UTF-16)")
    .refine(
      (value) => !(opts.multiline ? CONTROL_BUT_WHITESPACE : CONTROL).test(value),
      opts.multiline
        ? "must not hold control characters other than tab and line breaks"
        : "must not hold control characters",
    )
    .transform((value) => (opts.trim === false ? value.normalize("NFC") : value.normalize("NFC").trim()))
    .pipe(
      z
        .string()
        .min(opts.min ?? 0)
        .max(max),
    );

/** An email address: clean text, trimmed, at most 254 characters. */
export const EmailAddressSchema = cleanText(254, { min: 3 }).pipe(z.email());
