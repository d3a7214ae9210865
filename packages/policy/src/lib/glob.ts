/** Action-name patterns: `*` stands for any run of characters (dots included), all else is literal. */

const cache = new Map<string, RegExp>();
const MAX_CACHED = 1000;

export function globMatches(pattern: string, name: string): boolean {
  let re = cache.get(pattern);
  if (re === undefined) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 's');
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(pattern, re);
  }
  return re.test(name);
}
