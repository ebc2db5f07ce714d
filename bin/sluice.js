#!/usr/bin/env node
// The installed entry point for both `sluice` and `pachctl`: runs the compiled CLI.
import '../dist/src/cli/main.js';
