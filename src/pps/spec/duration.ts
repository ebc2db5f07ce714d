/**
 * Go duration strings, as Pachyderm reads them for `datum_timeout`, `job_timeout` and cron's
 * `@every <duration>`: a sequence of decimal numbers with units (`ns`, `us`/`µs`, `ms`, `s`,
 * `m`, `h`), optionally signed, e.g. `300ms`, `1.5h`, `2h45m`, `-1m`. `"0"` alone is zero.
 * (Protobuf's own JSON form, `"60s"` or `"1.5s"`, is a subset.)
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART_RE = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;

/** The duration in milliseconds, or an error message in Go's words when `text` is not one. */
export function parseDuration(text: string): { ms: number } | { error: string } {
  const bad = { error: `time: invalid duration ${JSON.stringify(text)}` };
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return { ms: 0 };
  if (s === '') return bad;
  let total = 0;
  while (s !== '') {
    const m = PART_RE.exec(s);
    if (m === null) return bad;
    const whole = m[1] ?? '';
    const frac = m[2];
    const unit = m[3] ?? '';
    if (whole === '' && (frac === undefined || frac === '')) return bad;
    const factor = UNIT_MS[unit];
    if (factor === undefined) return { error: `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}` };
    total += Number(`${whole === '' ? '0' : whole}.${frac ?? '0'}`) * factor;
    s = s.slice(m[0].length);
  }
  return { ms: sign * total };
}
