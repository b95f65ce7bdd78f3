/** How many tokens from the start `output` agrees with `reference`: the memorization probe's measure of a greedy continuation. */
export function copiedPrefixLength(output: ArrayLike<number>, reference: ArrayLike<number>): number {
  const n = Math.min(output.length, reference.length);
  let i = 0;
  while (i < n && output[i] === reference[i]) i++;
  return i;
}
