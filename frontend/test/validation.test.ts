import { describe, expect, it } from "vitest";
import { isCid, parseTokenAmount, validateCreateDatanet, validateRegisterNode } from "../src/lib/validation.ts";

const CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

describe("parseTokenAmount", () => {
  it("parses decimal amounts into base units", () => {
    expect(parseTokenAmount("12.5")).toBe(12_500_000_000_000_000_000n);
    expect(parseTokenAmount(" 0 ")).toBe(0n);
  });
  it("explains what is wrong", () => {
    expect(parseTokenAmount("")).toBe("Enter an amount.");
    expect(parseTokenAmount("1,5")).toMatch(/digits/);
    expect(parseTokenAmount("-1")).toMatch(/digits/);
    expect(parseTokenAmount("0.0000000000000000001")).toMatch(/18 decimals/);
    expect(parseTokenAmount("0", { allowZero: false })).toMatch(/above zero/);
    expect(parseTokenAmount("2", { max: 10n ** 18n })).toMatch(/too large/);
  });
});

describe("validateCreateDatanet", () => {
  const form = { metadataCid: CID, licence: "CC-BY-4.0", stake: "1.5", maxBytes: "1024", forfeitRejectedStake: true };
  it("turns a valid form into createDatanet's arguments", () => {
    expect(validateCreateDatanet(form)).toEqual({
      args: { metadataCid: CID, licence: "CC-BY-4.0", policy: { stake: 1_500_000_000_000_000_000n, maxBytes: 1024, forfeitRejectedStake: true } },
    });
  });
  it("names every bad field", () => {
    const result = validateCreateDatanet({ ...form, metadataCid: "not a cid", licence: " ", stake: "x", maxBytes: "0" });
    expect("errors" in result && Object.keys(result.errors).sort()).toEqual(["licence", "maxBytes", "metadataCid", "stake"]);
    const huge = validateCreateDatanet({ ...form, stake: "1000000000000" });
    expect("errors" in huge && huge.errors.stake).toMatch(/too large/);
  });
  it("recognises CIDs", () => {
    expect(isCid(CID)).toBe(true);
    expect(isCid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")).toBe(true);
    expect(isCid("bafy-nope")).toBe(false);
  });
});

describe("validateRegisterNode", () => {
  const min = 100n * 10n ** 18n;
  const form = { peerId: "12D3KooWabc", endpoint: "http://127.0.0.1:8700", capabilities: "3", stake: "100" };
  it("accepts a stake at the minimum", () => {
    expect(validateRegisterNode(form, min)).toEqual({ args: { peerId: "12D3KooWabc", endpoint: "http://127.0.0.1:8700", capabilities: 3n, stake: min } });
  });
  it("refuses a stake below the minimum, a bad endpoint and a bad bitmask", () => {
    const result = validateRegisterNode({ ...form, stake: "99.9", endpoint: "ftp://x", capabilities: "0x3", peerId: "" }, min);
    expect("errors" in result && Object.keys(result.errors).sort()).toEqual(["capabilities", "endpoint", "peerId", "stake"]);
  });
});
