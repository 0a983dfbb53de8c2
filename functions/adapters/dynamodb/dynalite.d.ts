// dynalite ships no type declarations; this is the part of its API we use.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    path?: string;
  }

  /** An http.Server whose close() also closes the in-memory database. */
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}
