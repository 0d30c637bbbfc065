const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/**
 * FNV-1a (64 bits) of text's UTF-8 bytes, as 16 hex digits: a short, stable name for a file
 * derived from a path, where a collision only makes two owners share a file that says whose each
 * part is. Not for anything a hostile writer could choose to collide (use sha256 there); cheaper
 * than loading node:crypto for one hash in a one-shot command.
 */
export function shortHash(text: string): string {
  let h = FNV64_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(byte)) * FNV64_PRIME) & MASK64;
  return h.toString(16).padStart(16, '0');
}
