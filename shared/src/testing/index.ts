export * from './database.js'
export * from './tcp-proxy.js'
export * from './table-lock.js'
