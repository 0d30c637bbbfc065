declare const POCKER_BUILD_ID: string | undefined;

/**
 * The time of the bundle's build, which scripts/build-bundle.mjs writes into the bundle; undefined
 * when pocker runs from its sources (tests).
 */
export const BUNDLE_BUILD_ID: string | undefined = typeof POCKER_BUILD_ID === 'string' ? POCKER_BUILD_ID : undefined;
