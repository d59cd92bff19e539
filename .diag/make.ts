import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, destroyTopology } from '../test/system/topology.js';
const id = 'dg' + process.pid.toString(36).slice(0, 5);
const t = await createTopology({ nodes: 2, id });
const file = join(t.dir, 'topology.json');
writeFileSync(file, JSON.stringify(t));
try {
  spawnSync('ip', ['netns', 'exec', t.cpNamespace, process.execPath, '--conditions=source', '--import', 'tsx', process.argv[2]!], { stdio: 'inherit', env: { ...process.env, SSH_EGRESS_TOPOLOGY: file } });
} finally {
  await destroyTopology({ id });
}
