import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attribute, canonicalJson, InvalidRecordError, outputHash, PPM, recordHash, serializeRecord, validateRecord, type AttributionRecord } from "../../../nodes/src/attribution/index.ts";
import { copiedOutput, datanetFixture, type DatanetFixture } from "./fixtures.ts";

function gradients(fixture: DatanetFixture) {
  return {
    sketch: fixture.sketch,
    output: fixture.sketch.checkpoints.map((c, i) => ({
      learningRate: c.learningRate,
      gradient: Float32Array.from({ length: fixture.sketch.dims }, (_, j) => Math.sin(7 * i + j)),
    })),
    prompt: [5, 6, 7],
    backend: "reference" as const,
  };
}

function makeRecord(fixture: DatanetFixture, requestId = "req-1"): AttributionRecord {
  return attribute({
    requestId,
    model: { id: 3n, cid: "bafymodel" },
    datanet: { id: 1n, version: 1 },
    outputTokens: copiedOutput(fixture, 1, 50, 30),
    index: fixture.index,
    gradients: gradients(fixture),
    parameters: { minSpanLength: 8, mixPpm: 600_000 },
  });
}

/** A copy of `record` with one field replaced, by path. */
function withField(record: AttributionRecord, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(record) as unknown as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  if (value === undefined) delete at[path.at(-1)!];
  else at[path.at(-1)!] = value;
  return copy;
}

describe("attribution records", () => {
  it("attributes a copied passage to its contribution and sums weights to one million", () => {
    const record = makeRecord(datanetFixture());
    validateRecord(record);
    assert.equal(record.evidence.spans.length, 1);
    assert.deepEqual(record.evidence.spans[0].contributions, [{ contributionId: "11", count: 1 }]);
    assert.equal(record.weights.reduce((s, w) => s + w.ppm, 0), PPM);
    const spanShare = record.weights.find((w) => w.contributionId === "11")!.ppm;
    assert.ok(spanShare >= 600_000, `contribution 11 holds the span: ${spanShare} ppm`);
    assert.equal(record.output.hash, outputHash(copiedOutput(datanetFixture(), 1, 50, 30)));
  });

  it("is byte-identical for the same inputs", () => {
    const a = serializeRecord(makeRecord(datanetFixture()));
    const b = serializeRecord(makeRecord(datanetFixture()));
    assert.equal(a, b);
    assert.equal(recordHash(makeRecord(datanetFixture())), recordHash(JSON.parse(a)));
  });

  it("serializes canonically: sorted keys, no whitespace, no NaN or bigint", () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, { d: "x", c: 2 }] }), '{"a":[true,null,{"c":2,"d":"x"}],"b":1}');
    assert.throws(() => canonicalJson({ a: NaN }), /\$\.a is NaN/);
    assert.throws(() => canonicalJson({ a: 1n }), /decimal strings for bigints/);
    assert.throws(() => canonicalJson({ a: undefined }), /\$\.a is undefined/);
  });

  it("falls back to span attribution alone without a gradient sketch", () => {
    const fixture = datanetFixture();
    const record = attribute({ requestId: "r", model: { id: 1n, cid: "m" }, datanet: { id: 1n, version: 1 }, outputTokens: copiedOutput(fixture, 0, 0, 20), index: fixture.index });
    assert.equal(record.parameters.effectiveMixPpm, PPM);
    assert.deepEqual(record.weights, [{ contributionId: "10", ppm: PPM }]);
    assert.equal(record.evidence.gradient, null);
  });

  it("rejects malformed records with a message naming the field", () => {
    const record = makeRecord(datanetFixture());
    const cases: [unknown, RegExp][] = [
      [withField(record, ["schema"], "tributary.attribution/1"), /schema must be equal to constant/],
      [withField(record, ["evidence", "gradient", "projection", "dims"], 8), /evidence\.gradient\.projection\.dims is 8 but parameters\.gradientDims is 16/],
      [withField(record, ["evidence", "gradient", "backend"], "wasm-simd-fma"), /evidence\.gradient must be null/],
      [withField(record, ["requestId"], undefined), /requestId is missing/],
      [withField(record, ["datanet", "root"], "0x12"), /datanet\.root must match pattern/],
      [withField(record, ["weights", 0, "ppm"], 1.5), /weights\[0\]\.ppm must be integer/],
      [withField(record, ["weights", 0, "ppm"], record.weights[0].ppm + 1), /weights sum to 1000001 ppm/],
      [withField(record, ["evidence", "spans", 0, "length"], 3), /evidence\.spans\[0\]\.tokens holds 30 tokens but length is 3/],
      [withField(record, ["evidence", "spans", 0, "outputStart"], 40), /evidence\.spans\[0\] ends past the output/],
      [withField(record, ["model", "owner"], "x"), /model\.owner is not a field/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => validateRecord(value), (e: unknown) => {
        assert.ok(e instanceof InvalidRecordError, String(e));
        assert.match(e.message, message);
        assert.ok(typeof e.details.field === "string");
        return true;
      });
    }
  });
});
