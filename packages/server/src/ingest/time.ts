const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 timestamp → microseconds since the epoch (UTC); NaN when it does not parse. */
export function timeToMicros(time: string): number {
  const m = RFC3339.exec(time);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const micros = frac ? Number(frac.padEnd(6, '0').slice(0, 6)) : 0;
  const offsetMin = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  return (ms - offsetMin * 60_000) * 1000 + micros;
}
