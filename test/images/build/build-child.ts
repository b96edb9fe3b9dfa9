/**
 * Child process for the builder tests: runs one build and never reports (the test kills it).
 * Usage: node build-child.js <contextDir> <outputDir>
 */
import { BuildahBuilder } from '../../../src/images/build/buildah-builder.js';

const [contextDir, outputDir] = process.argv.slice(2);
await new BuildahBuilder().build({ contextDir: contextDir as string, outputDir: outputDir as string, base: { name: 'debian-12-python' } });
