import fp from 'fastify-plugin'
import type { HttpConfig } from '../../config/common-env.js'
import { clientIp, proxyTrust } from '../client-ip.js'

/** `request.clientIp`: the caller's address, through the proxies TRUST_PROXY names; computed on first read. */
export const requestClientIp = fp<{ trustProxy: HttpConfig['trustProxy'] }>(
  async (app, options) => {
    const trusted = proxyTrust(options.trustProxy)
    app.decorateRequest('clientIp', {
      getter() {
        return clientIp(this, trusted)
      },
    })
  },
  { name: 'request-client-ip', fastify: '5.x' },
)
