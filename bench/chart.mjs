#!/usr/bin/env node
// Writes bench/results/latest.svg, the README's chart, from the newest full run of each suite in
// bench/results/*.json (npm run bench writes it too).
//   node bench/chart.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { latestResults, renderChart } from './lib/chart.mjs';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
const results = latestResults(dir);
writeFileSync(join(dir, 'latest.svg'), renderChart(results));
console.log(`bench: wrote ${join(dir, 'latest.svg')} (${results.map((r) => r.name).join(', ') || 'no suite with a chart yet'})`);
