export { contributionDigest, contributionIdOf, type ContributionKey } from "./contribution-id.ts";
export { DEFAULT_MAX_CONTRIBUTION_BYTES, parseContributionMediaType, validateContributionContent } from "./contribution-content.ts";
export { CONTRIBUTION_MEDIA_TYPES, CONTRIBUTION_METADATA_FORMAT, validateContributionMetadata, type ContributionMediaType, type ContributionMetadata } from "./contribution-metadata.ts";
export * from "./errors.ts";
export { prepareContribution, type ContributionDescription, type PreparedContribution } from "./prepare-contribution.ts";
export { contentSourceFromManifest, rebuildTrainingSet, type RebuildOptions, type TrainingContribution, type TrainingSet } from "./training-set.ts";
export {
  buildVersionManifest,
  parseVersionManifest,
  publishVersionManifest,
  rootOf,
  VERSION_MANIFEST_FORMAT,
  type AcceptedContribution,
  type BuildVersionManifestInput,
  type VersionManifest,
  type VersionManifestContribution,
} from "./version-manifest.ts";
