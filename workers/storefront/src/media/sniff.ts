import type { ImageType } from "../../../../domain/media.ts";

/** Bytes of a file's start that `sniffImageType` needs to recognise every allowed type. */
export const SNIFF_BYTES = 64;

const ascii = (bytes: Uint8Array, offset: number, text: string): boolean => {
  if (bytes.length < offset + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  return true;
};

const startsWith = (bytes: Uint8Array, magic: readonly number[]): boolean =>
  bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;
const JPEG = [0xff, 0xd8, 0xff] as const;
const AVIF_BRANDS = ["avif", "avis"] as const;

/**
 * AVIF is an ISO-BMFF file whose leading `ftyp` box names `avif` (image) or `avis` (sequence) as its
 * major brand or among its compatible brands (HEIC and MP4 name others).
 */
const isAvif = (bytes: Uint8Array): boolean => {
  if (!ascii(bytes, 4, "ftyp") || bytes.length < 12) return false;
  const boxSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (boxSize < 16 || boxSize % 4 !== 0) return false;
  const isBrand = (offset: number) => AVIF_BRANDS.some((brand) => ascii(bytes, offset, brand));
  if (isBrand(8)) return true;
  // Compatible brands follow the major brand (8..12) and minor version (12..16), 4 bytes each.
  for (let offset = 16; offset + 4 <= Math.min(boxSize, bytes.length); offset += 4) {
    if (isBrand(offset)) return true;
  }
  return false;
};

/**
 * The allowed image type a file is, from its first bytes (magic numbers), or null. Never trusts a
 * declared Content-Type or a file name.
 */
export const sniffImageType = (head: Uint8Array): ImageType | null => {
  if (startsWith(head, PNG)) return "image/png";
  if (startsWith(head, JPEG)) return "image/jpeg";
  if (ascii(head, 0, "GIF87a") || ascii(head, 0, "GIF89a")) return "image/gif";
  if (ascii(head, 0, "RIFF") && ascii(head, 8, "WEBP")) return "image/webp";
  if (isAvif(head)) return "image/avif";
  return null;
};
