import assert from "node:assert/strict";
import {
  marginOf,
  MAX_INIT_CODE_BYTES,
  MAX_RUNTIME_BYTES,
  readContractSizes,
  REQUIRED_MARGIN_BYTES,
} from "../../../bench/gas/contract-sizes.ts";
import { productionBuild } from "../../../scripts/deploy/production-build.ts";

// The production build's sizes (never the coverage build's instrumented ones), read once before the tests are
// declared so each contract gets its own test and a failure names the contract.
const sizes = await readContractSizes(await productionBuild());
const n = (value: number) => value.toLocaleString("en-US");

describe(`Contract sizes: every contract keeps a ${n(REQUIRED_MARGIN_BYTES)}-byte margin under EIP-170 (${n(MAX_RUNTIME_BYTES)} bytes)`, () => {
  it("finds the protocol's contracts in the production artifacts", () => {
    const names = sizes.map((size) => size.contract.slice(size.contract.lastIndexOf(":") + 1));
    for (const expected of ["Settlement", "ModelRegistry", "DatanetRegistry", "NodeRegistry", "TributaryToken"]) {
      assert.ok(names.includes(expected), `${expected} has no deployable artifact (found: ${names.join(", ")})`);
    }
  });

  for (const size of sizes) {
    it(`${size.contract}: ${n(size.runtimeBytes)} runtime bytes`, () => {
      assert.ok(
        marginOf(size) >= REQUIRED_MARGIN_BYTES,
        `${size.contract} has ${n(size.runtimeBytes)} bytes of runtime code: ${n(marginOf(size))} bytes under EIP-170's ` +
          `${n(MAX_RUNTIME_BYTES)}, short of the required ${n(REQUIRED_MARGIN_BYTES)}-byte margin. Move code into a ` +
          "separate contract or library (see docs/benchmarks.md, Contract sizes).",
      );
      assert.ok(
        size.initCodeBytes <= MAX_INIT_CODE_BYTES,
        `${size.contract} has ${n(size.initCodeBytes)} bytes of init code, over EIP-3860's ${n(MAX_INIT_CODE_BYTES)}`,
      );
    });
  }
});
