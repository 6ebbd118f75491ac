/** As a web server does before routing: literal '.' and '..' segments are resolved, encoded ones (%2E%2E) are not. */
export function resolveDotSegments(rawPath: string): string {
  const out: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '.') continue;
    if (segment === '..') {
      if (out.length > 1) out.pop();
      continue;
    }
    out.push(segment);
  }
  return out.join('/');
}
