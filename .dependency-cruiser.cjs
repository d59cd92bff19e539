// Import rules for src/ (npm run lint:deps, part of npm test): no circles, and no import from a lower layer
// to a higher one. docs/architecture.md draws the same layers.
/** Bottom to top; a folder (or top-level file) may import only from layers below its own. */
const LAYERS = [
  ['errors\\.ts', 'log\\.ts'],
  ['util', 'net', 'fs', 'timing'],
  ['options'],
  ['nodes'],
  ['hostkeys', 'tls'],
  ['keys'],
  ['ssh'],
  ['tunnel', 'simulator'],
  ['dialer'],
  ['kube', 'frontends'],
  ['agent'],
  ['config'],
  ['runtime'],
  ['check', 'daemon'],
  ['cli'],
  ['index\\.ts'],
];

const part = (name) => `^src/${name}(/|$)`;
const layerRules = LAYERS.flatMap((layer, level) => {
  const above = LAYERS.slice(level + 1).flat();
  const rules = layer.map((name) => ({
    name: `layer-${name.replace('\\.ts', '')}`,
    comment: `${name.replace('\\.ts', '')} must not import from a higher layer`,
    severity: 'error',
    from: { path: part(name) },
    to: { path: above.length ? `^src/(${above.join('|')})(/|$)` : '^$' },
  }));
  // Neighbours in one layer stay independent, so the order above is the whole story.
  for (const name of layer) {
    const siblings = layer.filter((other) => other !== name);
    if (siblings.length === 0) continue;
    rules.push({
      name: `layer-${name.replace('\\.ts', '')}-siblings`,
      comment: `${name.replace('\\.ts', '')} must not import from a folder of its own layer`,
      severity: 'error',
      from: { path: part(name) },
      to: { path: `^src/(${siblings.join('|')})(/|$)` },
    });
  }
  return rules;
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'import circles', from: { path: '^src/' }, to: { circular: true } },
    {
      name: 'unplaced-folder',
      severity: 'error',
      comment: 'every folder of src/ has a layer in .dependency-cruiser.cjs',
      from: { path: '^src/', pathNot: `^src/(${LAYERS.flat().join('|')})(/|$)` },
      to: {},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'], conditionNames: ['source', 'import', 'node', 'default'] },
  },
};
