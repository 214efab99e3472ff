/** Where the analytics ingest API is mounted. */
export const ANALYTICS_PREFIX = '/api/v1/analytics'
