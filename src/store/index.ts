export type { Migrations, RunResult, SqlParams, Store } from './store.ts';
export { openStore, resolveStorePath, StoreError, type StoreOptions } from './sqlite-store.ts';
