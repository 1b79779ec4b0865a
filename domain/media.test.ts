import { describe, expect, it } from "vitest";
import { contentAddressedKey, imageTypeOfExtension, MediaKeySchema, mediaName, mediaUrl } from "./media.ts";

describe("media keys", () => {
  it("are content-addressed: same bytes same key, other bytes another", async () => {
    const bytes = new TextEncoder().encode("pixels");
    const key = await contentAddressedKey("desk.png", "image/png", bytes);
    expect(key).toMatch(/^[0-9a-f]{16}-desk\.png$/);
    expect(await contentAddressedKey("desk.png", "image/png", bytes)).toBe(key);
    expect(await contentAddressedKey("desk.png", "image/png", new TextEncoder().encode("other"))).not.toBe(
      key,
    );
    expect(await contentAddressedKey("desk.jpg", "image/webp", bytes)).toMatch(/-desk\.webp$/);
  });

  it("keep a readable name that always fits the key pattern", async () => {
    expect(mediaName("0123456789abcdef-desk.png")).toBe("desk");
    expect(mediaName(".png")).toBe("image");
    expect(mediaName("..")).toBe("image");
    const long = await contentAddressedKey("x".repeat(200), "image/avif", new Uint8Array(1));
    expect(MediaKeySchema.safeParse(long).success).toBe(true);
  });

  it("map extensions and build URLs under the CDN base", () => {
    expect(imageTypeOfExtension("JPEG")).toBe("image/jpeg");
    expect(imageTypeOfExtension("svg")).toBeUndefined();
    expect(mediaUrl("https://cdn.example.com/media/", "k.png")).toBe("https://cdn.example.com/media/k.png");
  });
});
