/**
 * The `hitstream` program's entry point: the bundle's input, and what `npm start` runs on source.
 * Installed copies start through `src/bin/hitstream.js`, which checks the Node version first.
 *
 * @since 0.1.0
 */
// No top-level await: the bundle is CommonJS (see scripts/bundle.mjs).
void import("./Main.ts").then(({ main }) => main())
