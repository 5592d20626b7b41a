/**
 * A bounded, counted least-recently-used cache for signatures made on
 * demand: the compact-denial NSEC+RRSIG of names that do not exist, and the
 * per-query-name signatures of wildcard answers. A random-subdomain flood
 * would otherwise grow it without bound; here the oldest entry goes when
 * it is full, and every lookup, insert and eviction is counted so the
 * metrics can show the hit ratio and the signing it saves.
 */

export interface CacheCounters {
  hits: number;
  misses: number;
  inserts: number;
  evictions: number;
}

export class BoundedCache<V> {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly entries = new Map<string, V>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, inserts: 0, evictions: 0 };

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`cache capacity must be a whole number >= 1, not ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry for `key`, counted as a hit or a miss. */
  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** Store `value`, evicting the least recently used entry when full. */
  set(key: string, value: V): void {
    if (this.entries.has(key)) this.entries.delete(key);
    else if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.counters.evictions++;
    }
    this.entries.set(key, value);
    this.counters.inserts++;
  }

  /** Drop every entry (a key change or a zone reload); counters are kept. */
  clear(): void {
    this.entries.clear();
  }
}
