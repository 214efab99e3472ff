import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'

export interface OpenApiDocsOptions {
  title: string
  description: string
  version: string
}

/**
 * The OpenAPI 3.1 document of every route registered after it, at /openapi.json, with the docs
 * UI at /docs. Routes that need a token declare `security: [{ bearerAuth: [] }]`.
 */
export const openApiDocs = fp<OpenApiDocsOptions>(
  async (app, options) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: options.title, description: options.description, version: options.version },
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
      },
    })
    // staticCSP: the docs pages carry their own CSP in place of the API's `default-src 'none'`.
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  },
  { name: 'openapi-docs', fastify: '5.x' },
)
