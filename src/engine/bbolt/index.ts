/** A read-only bbolt (go.etcd.io/bbolt, format 2) reader; see boltDB.ts. */
export { BoltDB, BoltTx, type BoltOpenOptions } from "./boltDB";
export { Bucket, type BoltEntry } from "./bucket";
export { fnv1a64 } from "./meta";
