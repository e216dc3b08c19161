/**
 * The `hitstream` program's entry point: the bundle's input, and what `npm start` runs on source.
 * Installed copies start through `dist/bin/hitstream.js`, which checks the Node version first.
 *
 * @since 0.1.0
 */
import { main } from "./Main.ts"

main()
