import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { StopMatcher } from "../../../../nodes/src/engine/inference/stop-matcher.ts";

function run(stops: string[], pieces: string[]): { emitted: string; stopped: boolean } {
  const matcher = new StopMatcher(stops);
  let emitted = "";
  for (const piece of pieces) {
    const { text, stopped } = matcher.push(piece);
    emitted += text;
    if (stopped) return { emitted, stopped };
  }
  return { emitted: emitted + matcher.flush(), stopped: false };
}

describe("StopMatcher", () => {
  it("finds a stop string split over pieces and emits only the text before it", () => {
    assert.deepEqual(run(["END"], ["hello E", "N", "D and more"]), { emitted: "hello ", stopped: true });
  });

  it("holds back a possible stop prefix, then releases it when it turns out not to be one", () => {
    const matcher = new StopMatcher(["\n\nUser:"]);
    assert.deepEqual(matcher.push("answer\n"), { text: "answer", stopped: false });
    assert.deepEqual(matcher.push("\nUs"), { text: "", stopped: false });
    assert.deepEqual(matcher.push("e it"), { text: "\n\nUse it", stopped: false });
  });

  it("stops at the earliest of several stop strings", () => {
    assert.deepEqual(run(["bb", "a"], ["xxbba"]), { emitted: "xx", stopped: true });
  });

  it("releases held text at the end of a stream without a stop", () => {
    assert.deepEqual(run(["STOP"], ["almost ST"]), { emitted: "almost ST", stopped: false });
  });

  it("ignores empty stop strings", () => {
    assert.deepEqual(run([""], ["abc"]), { emitted: "abc", stopped: false });
  });
});
