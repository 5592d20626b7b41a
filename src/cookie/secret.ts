/**
 * Server cookie secrets (RFC 9018 section 5): 16 bytes, the SipHash-2-4 key,
 * shared by every server of an anycast set so each validates the others'
 * cookies. Given as 32 hex digits in config or the environment; without one
 * a random secret is drawn once per process tree (the primary hands it to its
 * workers, or their cookies would not validate each other's).
 */
import { randomBytes } from 'node:crypto';

export const SECRET_LENGTH = 16;

/** 16 bytes from 32 hex digits; throws an Error whose message says what is wrong (never echoing the value). */
export function cookieSecretFromHex(text: string): Uint8Array {
  const t = text.trim();
  if (!/^[0-9a-fA-F]*$/.test(t)) throw new Error('a cookie secret is hexadecimal (0-9, a-f)');
  if (t.length !== SECRET_LENGTH * 2)
    throw new Error(`a cookie secret is ${SECRET_LENGTH * 2} hex digits (${SECRET_LENGTH} bytes), not ${t.length}`);
  return Uint8Array.from(Buffer.from(t, 'hex'));
}

/** A fresh random secret (when none is configured). */
export function randomCookieSecret(): Uint8Array {
  return Uint8Array.from(randomBytes(SECRET_LENGTH));
}
