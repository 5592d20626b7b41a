/**
 * Domain-name utilities for zone data. Every name leaving this module is in
 * canonical form: lower-case, absolute, without the trailing dot, the root
 * being '' (the form dns-packet uses). Escaped labels (RFC 1035 section 5.1
 * `\X` / `\DDD`) are deliberately not supported and are rejected.
 */

/** Longest label, in octets (RFC 1035 section 2.3.4). */
const MAX_LABEL = 63;
/** Longest name in wire format, in octets, including the root label (RFC 1035 section 2.3.4). */
const MAX_NAME_WIRE = 255;
/** Letters, digits, hyphen and underscore (underscore for SRV/DKIM-style owners, RFC 2782 / RFC 8552). */
const LABEL_CHARS = /^[A-Za-z0-9_-]+$/;

/**
 * Resolve a presentation-format name against `origin` (canonical) and return
 * it in canonical form. `@` is the origin, a trailing dot makes the name
 * absolute ('.' alone is the root), anything else is relative to `origin`
 * (RFC 1035 section 5.1). The result is not validated: see {@link validateName}.
 * @throws Error for an empty name or one containing a backslash escape.
 */
export function toCanonical(name: string, origin: string): string {
  if (name === '') throw new Error('empty name');
  if (name.includes('\\')) {
    throw new Error(`escaped characters in names are not supported: '${name}'`);
  }
  if (name === '@') return origin;
  if (name === '.') return '';
  if (name.endsWith('.')) return name.slice(0, -1).toLowerCase();
  return (origin === '' ? name : `${name}.${origin}`).toLowerCase();
}

/**
 * Check a canonical name: labels of 1..63 octets made of letters, digits,
 * hyphen and underscore, '*' only as the whole leftmost label (RFC 4592), and
 * a wire length of at most 255 octets.
 * @returns an error message, or null when the name is valid.
 */
export function validateName(name: string): string | null {
  if (name === '') return null;
  const labels = name.split('.');
  let wireLength = 1; // the terminating root label
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    const octets = Buffer.byteLength(label, 'utf8');
    if (octets === 0) return `empty label in name '${name}'`;
    if (octets > MAX_LABEL) return `label '${label}' is ${octets} octets long, max ${MAX_LABEL}`;
    if (label === '*') {
      if (i !== 0) return `'*' is only allowed as the leftmost label, in '${name}'`;
    } else if (!LABEL_CHARS.test(label)) {
      const bad = [...label].find((c) => !LABEL_CHARS.test(c)) ?? label;
      return label.includes('*')
        ? `'*' must be a whole label, in '${name}'`
        : `invalid character '${bad}' in label '${label}'`;
    }
    wireLength += octets + 1;
  }
  if (wireLength > MAX_NAME_WIRE) return `name is ${wireLength} octets long in wire format, max ${MAX_NAME_WIRE}`;
  return null;
}

/**
 * {@link toCanonical} followed by {@link validateName}.
 * @throws Error with the reason when the name cannot be resolved or is invalid.
 */
export function resolveName(name: string, origin: string): string {
  const canonical = toCanonical(name, origin);
  const problem = validateName(canonical);
  if (problem !== null) throw new Error(problem);
  return canonical;
}

/** True when canonical `name` is `ancestor` or below it; everything is below the root ''. */
export function isSubdomain(name: string, ancestor: string): boolean {
  if (ancestor === '') return true;
  return name === ancestor || name.endsWith(`.${ancestor}`);
}

/**
 * Labels of canonical `name` below `ancestor`, leftmost first
 * (`relativeLabels('a.b.example', 'example')` is `['a', 'b']`).
 * @throws Error when `name` is not a subdomain of `ancestor`.
 */
export function relativeLabels(name: string, ancestor: string): string[] {
  if (!isSubdomain(name, ancestor)) throw new Error(`'${name}' is not a subdomain of '${ancestor}'`);
  if (name === ancestor) return [];
  const prefix = ancestor === '' ? name : name.slice(0, name.length - ancestor.length - 1);
  return prefix.split('.');
}

/**
 * The parent of canonical `name` ('' for a single-label name).
 * @throws Error for the root, which has no parent.
 */
export function parentName(name: string): string {
  if (name === '') throw new Error('the root name has no parent');
  const dot = name.indexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1);
}

/**
 * Uncompressed wire format of canonical `name`: length-prefixed labels and a
 * terminating zero octet (RFC 1035 section 3.1).
 * @throws Error for an empty or over-long label.
 */
export function nameToWire(name: string): Buffer {
  const parts: Buffer[] = [];
  if (name !== '') {
    for (const label of name.split('.')) {
      const bytes = Buffer.from(label, 'utf8');
      if (bytes.length === 0 || bytes.length > MAX_LABEL) {
        throw new Error(`cannot encode label '${label}' of '${name}': length ${bytes.length}`);
      }
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}
