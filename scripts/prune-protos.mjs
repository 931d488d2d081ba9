// Build step (after tsc): writes the protos of each list response a gcp observation decodes, cut from the
// SDK packages' proto JSON, to dist/providers/gcp/protos/<response>.json with the package version
// they were cut from (providers/gcp/rest-lists.ts uses one only while that version is installed).
// Usage: node scripts/prune-protos.mjs
const { writePrunedProtos } = await import('../dist/providers/gcp/rest-lists.js');
const written = await writePrunedProtos();
console.log(`cut the protos of ${written.length} list responses for the gcp listings`);
