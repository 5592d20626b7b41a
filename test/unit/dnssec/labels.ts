/** Test helper: the wire form of a name given label by label, with any octets (names the zone helpers cannot spell). */
export const labels = (...ls: (string | number[])[]): Buffer =>
  Buffer.concat([
    ...ls
      .map((l) => (typeof l === 'string' ? Buffer.from(l, 'latin1') : Buffer.from(l)))
      .flatMap((b) => [Buffer.from([b.length]), b]),
    Buffer.from([0]),
  ]);
