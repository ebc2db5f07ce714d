export type { MetadataStore, MetadataStoreOptions, Database, Dialect } from './metadata-store.js';
export { openSqliteMetadataStore } from './sqlite-metadata-store.js';
export { openPostgresMetadataStore } from './postgres-metadata-store.js';
export { migrate } from './schema.js';
