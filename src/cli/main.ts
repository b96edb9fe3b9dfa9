#!/usr/bin/env node
// Placeholder entry point until the CLI lands; replaced by the real command tree.
console.log('cubby: CLI not wired yet');
