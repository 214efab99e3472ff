/**
 * Picks the locale: the requested one when supported, otherwise the best supported match from
 * Accept-Language (exact tag, then its primary language), otherwise the fallback.
 * Returns `undefined` when `requested` is given but not supported (the caller reports it).
 */
export function resolveLocale(
  requested: string | undefined,
  acceptLanguage: string | undefined,
  supported: readonly string[],
  fallback: string,
): string | undefined {
  const has = (tag: string) => supported.includes(tag)
  if (requested !== undefined) {
    const tag = requested.toLowerCase()
    return has(tag) ? tag : undefined
  }
  for (const tag of parseAcceptLanguage(acceptLanguage)) {
    if (has(tag)) return tag
    const primary = tag.split('-')[0]!
    if (has(primary)) return primary
  }
  return fallback
}

/** Language tags of an Accept-Language header, best first (q=0 dropped, at most 20 read). */
export function parseAcceptLanguage(header: string | undefined): string[] {
  if (!header) return []
  return header
    .slice(0, 512)
    .split(',')
    .slice(0, 20)
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';')
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean)
      return { tag: tag.trim().toLowerCase(), q: q === undefined ? 1 : Number(q), index }
    })
    .filter((e) => /^[a-z]{1,8}(-[a-z0-9]{1,8})*$/.test(e.tag) && e.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((e) => e.tag)
}
