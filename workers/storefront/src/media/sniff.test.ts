import { describe, expect, it } from "vitest";
import { sniffImageType } from "./sniff.ts";
import { AVIF_HEAD, GIF_1X1, JPEG_HEAD, uniquePng, WEBP_1X1 } from "./test-images.ts";

const text = (value: string) => new TextEncoder().encode(value);

const ftyp = (major: string, ...compatible: string[]) => {
  const size = 16 + 4 * compatible.length;
  return Uint8Array.from([0, 0, 0, size, ...text(`ftyp${major}`), 0, 0, 0, 0, ...text(compatible.join(""))]);
};

describe("sniffImageType", () => {
  it.each([
    ["png", uniquePng(), "image/png"],
    ["jpeg", JPEG_HEAD, "image/jpeg"],
    ["gif89a", GIF_1X1, "image/gif"],
    ["gif87a", text("GIF87a\x01\x00\x01\x00"), "image/gif"],
    ["webp", WEBP_1X1, "image/webp"],
    ["avif", AVIF_HEAD, "image/avif"],
    ["avif sequence", ftyp("avis", "msf1", "iso8"), "image/avif"],
    ["avif as a compatible brand", ftyp("mif1", "miaf", "avif"), "image/avif"],
  ])("recognises %s from its first bytes", (_name, bytes, type) => {
    expect(sniffImageType(bytes)).toBe(type);
  });

  it.each([
    ["text", text("hello, this is not an image")],
    ["an empty file", new Uint8Array()],
    ["a truncated PNG signature", uniquePng().subarray(0, 7)],
    ["a RIFF file that is not WebP", text("RIFF\x00\x00\x00\x00WAVEfmt ")],
    ["HEIC", ftyp("heic", "mif1", "heic")],
    ["MP4", ftyp("isom", "iso2", "avc1", "mp41")],
    [
      "an ftyp box with a bogus size",
      Uint8Array.from([0, 0, 0, 3, ...text("ftypmif1"), 0, 0, 0, 0, ...text("avif")]),
    ],
    ["SVG", text('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ["a PDF", text("%PDF-1.7\n")],
  ])("rejects %s", (_name, bytes) => {
    expect(sniffImageType(bytes)).toBeNull();
  });
});
