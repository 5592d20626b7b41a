/**
 * Open-addressing hash map from int32 keys to int32 values in typed arrays:
 * the compiler looks up millions of database record ids, and a Map boxes
 * every entry. Keys must not be EMPTY (-2147483648).
 */
const EMPTY = -2147483648;

export class IntMap {
  private keys: Int32Array;
  private values: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacityPow2 = 1 << 16) {
    this.keys = new Int32Array(capacityPow2).fill(EMPTY);
    this.values = new Int32Array(capacityPow2);
    this.mask = capacityPow2 - 1;
  }

  private slot(key: number): number {
    return (Math.imul(key, 0x9e3779b1) >>> 0) & this.mask;
  }

  /** The value for `key`, or `missing`. */
  get(key: number, missing = -1): number {
    const keys = this.keys;
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key) return this.values[i];
      if (k === EMPTY) return missing;
    }
  }

  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key || k === EMPTY) {
        if (k === EMPTY) this.size++;
        keys[i] = key;
        this.values[i] = value;
        return;
      }
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Int32Array(oldKeys.length * 2).fill(EMPTY);
    this.values = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.set(oldKeys[i], oldValues[i]);
  }
}
