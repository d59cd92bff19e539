// Service CIDR discovery: the ranges of ServiceCIDR objects, followed live; "not available" (404, 403)
// reported as undefined so the configured ranges stand alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListWatch, WatchHandlers } from '../../src/kube/list-watch.js';
import { ServiceCidrDiscovery, serviceCidrsOf } from '../../src/kube/service-cidrs.js';
import { k8sServiceCidr } from '../fixtures/kube-objects.js';

test('serviceCidrsOf: every spec.cidrs entry, canonical, sorted, once', () => {
  assert.deepEqual(
    serviceCidrsOf([
      k8sServiceCidr('kubernetes', ['10.96.0.0/12', 'FD00:10:96::/108']),
      k8sServiceCidr('extra', ['10.96.0.0/12', '198.19.240.0/20', 'not-a-cidr']),
      { metadata: { name: 'empty' } },
    ]),
    ['10.96.0.0/12', '198.19.240.0/20', 'fd00:10:96::/108'],
  );
});

test('discovery follows ServiceCIDR objects as they are added', async () => {
  let watch: WatchHandlers | undefined;
  const lw: ListWatch = {
    what: 'servicecidrs',
    list: async () => ({ items: [k8sServiceCidr('kubernetes', ['10.96.0.0/12'])], resourceVersion: '7' }),
    watch: async (_rv, _t, handlers) => {
      watch = handlers;
      return { abort: () => undefined };
    },
  };
  const seen: Array<string[] | undefined> = [];
  const discovery = new ServiceCidrDiscovery({ listWatch: lw, onServiceCIDRs: (c) => seen.push(c) }).start();
  while (!watch) await new Promise((r) => setTimeout(r, 5));
  watch.event('ADDED', k8sServiceCidr('extra', ['198.19.240.0/20']));
  assert.deepEqual(seen, [['10.96.0.0/12'], ['10.96.0.0/12', '198.19.240.0/20']]);
  assert.deepEqual(discovery.current(), ['10.96.0.0/12', '198.19.240.0/20']);
  await discovery.stop();
});

test('an API server without ServiceCIDRs (404) or without permission (403): undefined, and no retrying', async () => {
  for (const code of [404, 403]) {
    let lists = 0;
    const lw: ListWatch = {
      what: 'servicecidrs',
      list: async () => {
        lists += 1;
        throw Object.assign(new Error(`HTTP ${code}`), { code });
      },
      watch: async () => ({ abort: () => undefined }),
    };
    const seen = await new Promise<string[] | undefined>((resolve) => {
      new ServiceCidrDiscovery({ listWatch: lw, onServiceCIDRs: resolve }).start();
    });
    assert.equal(seen, undefined);
    assert.equal(lists, 1);
  }
});
