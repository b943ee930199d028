// Public API of the image builder; the CLI (`gdo image build`) and the benchmark runner import from here.
export { buildImage, DEFAULT_EPOCH, DEFAULT_HEADROOM, type BuildImageOptions, type BuildImageResult } from './build.ts';
export { ImageError, isImageError, type ImageErrorCode } from './errors.ts';
export { consoleProgress, type BuildPhase, type ProgressEvent, type ProgressFn } from './progress.ts';
export { NODE_RUNTIME_VERSION, NODE_RUNTIME_PACKAGE, ensureNodeRuntime } from './runtime.ts';
export { ensureCrossBuiltAddons, NATIVE_ADDONS, CROSS_TOOLS } from './addons.ts';
export { defaultCacheDir } from './cache.ts';
export { inspectBase, type BaseLayout } from './layout.ts';
export { DEFAULT_AGENT_CONFIG, BOOTSTRAP_ON_BOOTFS } from './payload.ts';
export { benchImage, type BenchResult } from './bench.ts';
