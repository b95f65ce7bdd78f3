/**
 * The gateway's Content-Type for a file, from its first bytes. Deliberately narrow: UTF-8 text is
 * served as JSON or plain text and everything else as octet-stream, never as HTML or SVG, because
 * the gateway shares an origin with the node's API and content can come from any peer.
 */
export function gatewayContentType(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // a multi-byte character cut at the end of the first chunk is still text
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, trimPartialCharacter(bytes)));
    } catch {
      return "application/octet-stream";
    }
  }
  if (/[\u0000-\u0008\u000E-\u001F]/.test(text)) return "application/octet-stream";
  try {
    JSON.parse(text);
    return "application/json";
  } catch {
    return "text/plain; charset=utf-8";
  }
}

/** Length without a trailing incomplete UTF-8 sequence (at most 3 bytes). */
function trimPartialCharacter(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) !== 0x80) return (byte & 0x80) === 0 ? bytes.length : bytes.length - back;
  }
  return bytes.length;
}
