/**
 * @hitstream/dashboard: hitstream's live dashboard: slots, spacing, hits/s, lag and top pages in the browser, as an Effect layer
 *
 * @since 0.1.0
 */
export {}
