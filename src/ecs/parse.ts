/**
 * Strict EDNS Client Subnet option validation (RFC 7871 section 6 and 7.2.1)
 * straight from the packet bytes. Pure: no allocation on the hot path.
 *
 * Option layout: FAMILY (2) | SOURCE PREFIX-LENGTH (1) | SCOPE PREFIX-LENGTH (1) | ADDRESS (ceil(source/8))
 */

/** Why an ECS option was rejected; every value other than OK means FORMERR. */
export const EcsStatus = {
  OK: 0,
  TOO_SHORT: 1,
  BAD_FAMILY: 2,
  SOURCE_TOO_LONG: 3,
  BAD_ADDRESS_LENGTH: 4,
  BITS_PAST_PREFIX: 5,
  NONZERO_SCOPE: 6,
} as const;
export type EcsStatusCode = (typeof EcsStatus)[keyof typeof EcsStatus];

export const ECS_STATUS_TEXT: Record<number, string> = {
  0: 'ok',
  1: 'option shorter than 4 bytes',
  2: 'FAMILY is neither 1 (IPv4) nor 2 (IPv6)',
  3: 'SOURCE PREFIX-LENGTH longer than the address family',
  4: 'ADDRESS length is not ceil(SOURCE PREFIX-LENGTH / 8)',
  5: 'ADDRESS has bits set past SOURCE PREFIX-LENGTH',
  6: 'SCOPE PREFIX-LENGTH is not 0 in a query',
};

/**
 * Validate the ECS option whose data starts at `off` and is `len` bytes long.
 * RFC 7871 7.2.1: a wrongly formatted option MUST get FORMERR.
 */
export function validateEcs(buf: Uint8Array, off: number, len: number): EcsStatusCode {
  if (len < 4) return EcsStatus.TOO_SHORT;
  const family = (buf[off] << 8) | buf[off + 1];
  const source = buf[off + 2];
  const scope = buf[off + 3];
  let maxBits: number;
  if (family === 1) maxBits = 32;
  else if (family === 2) maxBits = 128;
  else return EcsStatus.BAD_FAMILY;
  if (source > maxBits) return EcsStatus.SOURCE_TOO_LONG;
  const addrLen = len - 4;
  if (addrLen !== (source + 7) >> 3) return EcsStatus.BAD_ADDRESS_LENGTH;
  const rem = source & 7;
  if (rem !== 0 && (buf[off + 4 + addrLen - 1] & (0xff >> rem)) !== 0) return EcsStatus.BITS_PAST_PREFIX;
  if (scope !== 0) return EcsStatus.NONZERO_SCOPE;
  return EcsStatus.OK;
}

/** A decoded ECS option, for tests, explain and logs (not used per query). */
export interface ClientSubnet {
  family: 1 | 2;
  sourcePrefix: number;
  scopePrefix: number;
  /** Full-length address bytes (4 or 16), zero past the prefix. */
  address: Uint8Array;
}

/** Decode and validate an ECS option's data; returns the status on failure. */
export function parseEcs(data: Uint8Array): ClientSubnet | EcsStatusCode {
  const status = validateEcs(data, 0, data.length);
  if (status !== EcsStatus.OK) return status;
  const family = data[1] as 1 | 2;
  const address = new Uint8Array(family === 1 ? 4 : 16);
  address.set(data.subarray(4));
  return { family, sourcePrefix: data[2], scopePrefix: data[3], address };
}

/** Encode an ECS option's data (no option header) for a query or a response. */
export function encodeEcs(subnet: ClientSubnet): Uint8Array {
  const addrLen = (subnet.sourcePrefix + 7) >> 3;
  const out = new Uint8Array(4 + addrLen);
  out[0] = 0;
  out[1] = subnet.family;
  out[2] = subnet.sourcePrefix;
  out[3] = subnet.scopePrefix;
  out.set(subnet.address.subarray(0, addrLen), 4);
  const rem = subnet.sourcePrefix & 7;
  if (rem !== 0) out[4 + addrLen - 1] &= 0xff << (8 - rem);
  return out;
}
