/**
 * The version `hitstream --version` prints. A test keeps it equal to package.json's, which
 * `changeset version` bumps.
 *
 * @since 0.1.0
 */
export const version = "0.1.0"
