/**
 * The `hitstream` program's entry point: the bundle's input, and what `npm start` runs on source.
 * Installed copies start through `src/bin/hitstream.js`, which checks the Node version first.
 *
 * @since 0.1.0
 */
// V8's heap sizing first (see NodeHeap.compactHeap): the program's modules are loaded after it,
// because parsing and linking them is most of a start's allocations and would already have grown
// the young generation; in the bundle the program is a chunk loaded here.
import { compactHeap } from "@hitstream/client/NodeHeap"

compactHeap()
// No top-level await: the bundle is CommonJS (see scripts/bundle.mjs).
void import("./Main.ts").then(({ main }) => main())
