import { describe, expect, it } from "vitest";
import { formatBps, formatBytes, formatPrice, formatTimestamp, formatToken, plural, shortAddress, shortHash } from "../src/lib/format.ts";

describe("format", () => {
  it("formats token amounts with grouping and trimmed decimals", () => {
    expect(formatToken(1_234_500_000_000_000_000_000n)).toBe("1,234.5 TRIB");
    expect(formatToken(0n)).toBe("0 TRIB");
    expect(formatToken(1n)).toBe("0 TRIB");
    expect(formatToken(123_456_789n, { decimals: 6, symbol: "" })).toBe("123.4567");
    expect(formatToken(-(10n ** 18n))).toBe("-1 TRIB");
  });

  it("shortens addresses and hashes", () => {
    expect(shortAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")).toBe("0x7099…79C8");
    expect(shortHash("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")).toBe("bafkreigh2…4s52zy");
    expect(shortHash("short")).toBe("short");
  });

  it("formats sizes, times and basis points", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(1n << 20n)).toBe("1.0 MiB");
    expect(formatBytes(200 * 1024 * 1024)).toBe("200 MiB");
    expect(formatTimestamp(0)).toBe("never");
    expect(formatTimestamp(1_764_607_200)).toBe("2025-12-01 16:40 UTC");
    expect(formatBps(4000)).toBe("40%");
    expect(formatBps(250)).toBe("2.5%");
    expect(plural(1, "version")).toBe("1 version");
    expect(plural(0n, "version")).toBe("0 versions");
  });
});

describe("formatPrice", () => {
  it("writes a price too small for TRIB in token units", () => {
    expect(formatPrice(1_000_000n)).toBe("1,000,000 units (< 0.0001 TRIB)");
    expect(formatPrice(0n)).toBe("0 TRIB");
    expect(formatPrice(10n ** 16n)).toBe("0.01 TRIB");
  });
});
