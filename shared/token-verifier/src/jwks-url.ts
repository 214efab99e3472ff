/** IPv4 127.0.0.0/8 as the WHATWG URL parser normalises it (`127.1`, `0x7f.1` become dotted). */
const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/** Whether a URL's host is this machine: 127.0.0.0/8, ::1 or `localhost`. */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.toLowerCase()
  return LOOPBACK_V4.test(host) || host === '[::1]' || host === 'localhost' || host === 'localhost.'
}

/**
 * Why a JWKS URL must not be used, or undefined when it may. Whoever can tamper with a plain-HTTP
 * fetch can serve their own key and forge every token, so only `https:` is accepted, plus `http:`
 * to a loopback host (nothing on the wire to tamper with); `allowInsecureHttp` also accepts
 * `http:` to any host, for development.
 */
export function jwksUrlProblem(
  raw: string,
  options: { allowInsecureHttp?: boolean } = {},
): string | undefined {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'is not a valid URL'
  }
  if (url.protocol === 'https:') return undefined
  if (url.protocol !== 'http:') return `must be an https: URL, not ${url.protocol}`
  if (isLoopbackUrl(url) || options.allowInsecureHttp) return undefined
  return 'must be an https: URL (http: is accepted only for a loopback host, or outside production)'
}
