/** ["podCIDRs", 0] -> "podCIDRs[0]"; keys that are not plain words are quoted: labels["kubernetes.io/os"]. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((s, i) => {
      if (typeof s === 'number') return `[${s}]`;
      const key = String(s);
      if (!/^[A-Za-z_][\w-]*$/.test(key)) return `[${JSON.stringify(key)}]`;
      return `${i === 0 ? '' : '.'}${key}`;
    })
    .join('');
}
