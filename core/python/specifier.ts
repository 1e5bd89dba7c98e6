/**
 * Version specifiers as pip writes them (PEP 440, the subset engines use for Python
 * versions): comma-separated clauses of `>=`, `>`, `<=`, `<`, `==` (with `.*`), `!=`, `~=`.
 */

export type Version = number[];

export function parseVersion(text: string): Version {
  const match = /^\s*(\d+(?:\.\d+)*)/.exec(text);
  if (!match) throw new Error(`not a version: '${text}'`);
  return match[1]!.split(".").map(Number);
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

function clauseHolds(version: Version, clause: string): boolean {
  const match = /^(~=|==|!=|<=|>=|<|>)\s*([0-9][0-9.]*)(\.\*)?$/.exec(clause);
  if (!match) throw new Error(`unsupported version clause '${clause}'`);
  const [, op, raw, wildcard] = match;
  const target = parseVersion(raw!);
  const prefixEqual = () => target.every((n, i) => (version[i] ?? 0) === n);
  switch (op) {
    case "==":
      return wildcard ? prefixEqual() : compareVersions(version, target) === 0;
    case "!=":
      return wildcard ? !prefixEqual() : compareVersions(version, target) !== 0;
    case ">=":
      return compareVersions(version, target) >= 0;
    case ">":
      return compareVersions(version, target) > 0;
    case "<=":
      return compareVersions(version, target) <= 0;
    case "<":
      return compareVersions(version, target) < 0;
    default: {
      // ~=3.10 means >=3.10,==3.*
      const prefix = target.slice(0, Math.max(1, target.length - 1));
      return compareVersions(version, target) >= 0 && prefix.every((n, i) => (version[i] ?? 0) === n);
    }
  }
}

/** True when `version` (e.g. "3.11.7") satisfies `spec` (e.g. ">=3.10,<3.14"; empty: any). */
export function satisfies(version: string, spec: string): boolean {
  const v = parseVersion(version);
  return spec
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean)
    .every((clause) => clauseHolds(v, clause));
}

/** Throws a readable error when `spec` cannot be evaluated. */
export function checkSpecifier(spec: string): void {
  satisfies("3.0.0", spec);
}
