/** A fingerprint of a whole tree (see readOnlyGuard.ts for what it covers). */
export { treeFingerprint } from "./readOnlyGuard";
