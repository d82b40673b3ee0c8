// Releases and deploys as one module, for loading on first use (see ../index.ts).
export { ArtifactStore } from './artifact-store';
export { ReleaseBook } from './release-book';
export { DeployDriver } from './deploy-driver';
export { createDeployService } from './deploy-service';
