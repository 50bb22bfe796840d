import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One function's share of a CPU profile. */
export interface ProfileFrame {
  /** `function (file:line)`, with paths relative to the repository. */
  frame: string;
  selfMs: number;
  /** Percent of all sampled time, idle included. */
  selfPercent: number;
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The main thread's profile in a `--cpu-prof-dir` (the largest file; tsx's loader thread writes a small one too). */
export function mainThreadProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const path = url.startsWith('file://') ? relative(repoRoot, fileURLToPath(url)) : url;
  return `${name} (${path}:${lineNumber + 1})`;
}

/**
 * The functions with the most self time in V8 `.cpuprofile` files (as `node --cpu-prof` writes
 * them), summed over the files. Time is from the samples, so start-up counts too.
 */
export function topFrames(paths: readonly string[], limit = 15): { totalMs: number; idleMs: number; frames: ProfileFrame[] } {
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const path of paths) {
    const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      totalUs += delta;
      const node = byId.get(id);
      if (!node) return;
      const name = frameName(node);
      if (name === '(idle)') idleUs += delta;
      selfUs.set(name, (selfUs.get(name) ?? 0) + delta);
    });
  }
  const frames = [...selfUs.entries()]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, us]) => ({ frame, selfMs: Math.round(us / 100) / 10, selfPercent: Math.round((us / totalUs) * 1000) / 10 }));
  return { totalMs: Math.round(totalUs / 1000), idleMs: Math.round(idleUs / 1000), frames };
}
