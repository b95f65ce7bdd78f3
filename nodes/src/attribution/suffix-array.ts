/**
 * Suffix array construction by induced sorting (SA-IS, Nong, Zhang & Chan 2009): linear time,
 * about 5n words of extra memory at the top level and geometrically less in the recursion.
 *
 * The text is an integer array with values in [0, upper]. There is no explicit sentinel: the end
 * of the text is treated as a virtual character smaller than every other, so the last character is
 * always L-type.
 */

/** Returns SA such that text[SA[0]..] < text[SA[1]..] < ... (lexicographic order of suffixes). */
export function buildSuffixArray(text: Uint32Array | Int32Array, upper: number): Int32Array {
  const n = text.length;
  if (n === 0) return new Int32Array(0);
  if (n === 1) return Int32Array.of(0);
  if (n === 2) return text[0] < text[1] ? Int32Array.of(0, 1) : Int32Array.of(1, 0);
  return induceSort(text, upper);
}

function induceSort(s: Uint32Array | Int32Array, upper: number): Int32Array {
  const n = s.length;
  const sa = new Int32Array(n);

  // isS[i] = 1 when suffix i is S-type (smaller than suffix i + 1).
  const isS = new Uint8Array(n);
  for (let i = n - 2; i >= 0; i--) {
    isS[i] = s[i] === s[i + 1] ? isS[i + 1] : s[i] < s[i + 1] ? 1 : 0;
  }

  // Bucket boundaries. Inside the bucket of character c the L-type suffixes come first, then the
  // S-type ones: startL[c] is where c's bucket starts, startS[c] where its S-type part starts.
  const startL = new Int32Array(upper + 2);
  const startS = new Int32Array(upper + 2);
  for (let i = 0; i < n; i++) {
    if (isS[i] === 0) startS[s[i]]++;
    else startL[s[i] + 1]++;
  }
  for (let c = 0; c <= upper; c++) {
    startS[c] += startL[c];
    if (c < upper) startL[c + 1] += startS[c];
  }

  const isLms = (i: number): boolean => i > 0 && isS[i] === 1 && isS[i - 1] === 0;

  // lmsRank[i] = index of position i among the LMS positions in text order, or -1.
  const lmsRank = new Int32Array(n).fill(-1);
  let lmsCount = 0;
  for (let i = 1; i < n; i++) if (isLms(i)) lmsRank[i] = lmsCount++;
  const lms = new Int32Array(lmsCount);
  for (let i = 1, j = 0; i < n; i++) if (isLms(i)) lms[j++] = i;

  const bucket = new Int32Array(upper + 2);
  const induce = (seeds: Int32Array): void => {
    sa.fill(-1);
    // Place the seeds (LMS suffixes, in the order given) at the start of their S-type parts.
    bucket.set(startS);
    for (let j = 0; j < seeds.length; j++) {
      const d = seeds[j];
      sa[bucket[s[d]]++] = d;
    }
    // Left to right: every L-type suffix follows from the suffix one to its right.
    bucket.set(startL);
    sa[bucket[s[n - 1]]++] = n - 1;
    for (let i = 0; i < n; i++) {
      const v = sa[i] - 1;
      if (v >= 0 && isS[v] === 0) sa[bucket[s[v]]++] = v;
    }
    // Right to left: every S-type suffix, filled from the end of each bucket.
    bucket.set(startL);
    for (let i = n - 1; i >= 0; i--) {
      const v = sa[i] - 1;
      if (v >= 0 && isS[v] === 1) sa[--bucket[s[v] + 1]] = v;
    }
  };

  induce(lms);
  if (lmsCount === 0) return sa;

  // The LMS substrings now appear in sorted order; name them so equal substrings share a name.
  const sortedLms = new Int32Array(lmsCount);
  for (let i = 0, j = 0; i < n; i++) if (lmsRank[sa[i]] !== -1) sortedLms[j++] = sa[i];

  const reduced = new Int32Array(lmsCount);
  let name = 0;
  reduced[lmsRank[sortedLms[0]]] = 0;
  for (let i = 1; i < lmsCount; i++) {
    let l = sortedLms[i - 1];
    let r = sortedLms[i];
    const endL = lmsRank[l] + 1 < lmsCount ? lms[lmsRank[l] + 1] : n;
    const endR = lmsRank[r] + 1 < lmsCount ? lms[lmsRank[r] + 1] : n;
    let same = endL - l === endR - r;
    if (same) {
      while (l < endL && s[l] === s[r]) {
        l++;
        r++;
      }
      if (l === n || s[l] !== s[r]) same = false;
    }
    if (!same) name++;
    reduced[lmsRank[sortedLms[i]]] = name;
  }

  // Names are unique only if every LMS substring differs; otherwise sort the reduced text recursively.
  let reducedSa: Int32Array;
  if (name + 1 === lmsCount) {
    reducedSa = new Int32Array(lmsCount);
    for (let i = 0; i < lmsCount; i++) reducedSa[reduced[i]] = i;
  } else {
    reducedSa = buildSuffixArray(reduced, name);
  }
  for (let i = 0; i < lmsCount; i++) sortedLms[i] = lms[reducedSa[i]];
  induce(sortedLms);
  return sa;
}
