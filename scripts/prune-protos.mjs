// Build step (after tsc): writes the protos of each service a gcp observation lists, cut from the
// SDK packages' proto JSON, to dist/providers/gcp/protos/<service>.json with the package version
// they were cut from (providers/gcp/rest-lists.ts uses one only while that version is installed).
// Usage: node scripts/prune-protos.mjs
const { writePrunedProtos } = await import('../dist/providers/gcp/rest-lists.js');
const written = await writePrunedProtos();
console.log(`cut the protos of ${written.length} services for the gcp listings`);
