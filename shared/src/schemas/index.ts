export * from './analytics.js'
export * from './auth.js'
export * from './envelope.js'
export * from './formats.js'
