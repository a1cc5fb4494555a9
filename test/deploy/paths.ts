// Reading nested manifest values by a dotted path ('spec.template.spec.containers.0.args'),
// so the expected settings can be written as a table.

export type Obj = Record<string, unknown>;

/** The value at a dotted path (numeric parts index arrays), or undefined where it stops. */
export function at(root: unknown, dotted: string): unknown {
  let cur: unknown = root;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? (cur as unknown[])[Number(part)] : (cur as Obj)[part];
  }
  return cur;
}
